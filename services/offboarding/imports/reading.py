"""Reading an operator's file of historic leavers: CSV with a header row naming the contract's
fields, or JSON lines (one `employee.departed.v1` object a line). Each record is checked against
the contract here, with its line number, so a bad row is reported and never sent; the good ones
go in batches that are the same for the same file, whose import id is derived from the file's
content: a run after a crash or Ctrl-C resumes the same import.
"""

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydantic

from shared.events.hris import EmployeeDeparted
from shared.events.offboarding import MAX_IMPORT_CHUNK

MAX_LINE_BYTES = 65_536  # a record longer than this is refused, not read
BATCH_BYTES = 900_000  # a batch's body stays under offboarding's default bound (1 MiB)
ROWS_PER_BATCH = MAX_IMPORT_CHUNK
FIELDS = set(EmployeeDeparted.model_fields)
REQUIRED = {name for name, f in EmployeeDeparted.model_fields.items() if f.is_required()}


class FileRefused(Exception):
    """The file cannot be read as an import (its format, its header)."""


@dataclass(frozen=True)
class Record:
    line: int
    payload: dict[str, Any] | None  # as the contract reads it; None when it breaks it
    errors: tuple[dict[str, str], ...] = ()


@dataclass
class Batch:
    number: int
    rows: list[dict[str, Any]] = field(default_factory=list)  # {"line", "record"}
    size: int = 0

    def body(self) -> bytes:
        return json.dumps({"rows": self.rows}, separators=(",", ":")).encode()


def file_format(path: Path, given: str | None = None) -> str:
    kind = given or {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}.get(path.suffix.lower())
    if kind not in ("csv", "jsonl"):
        raise FileRefused(f"{path.name}: say --format csv or --format jsonl (the name does not tell)")
    return kind


def import_id(path: Path, rows_per_batch: int = ROWS_PER_BATCH) -> str:
    """The same file, batched the same way, is the same import."""
    digest = hashlib.sha256(f"alumni-import/1/{rows_per_batch}/{BATCH_BYTES}/{MAX_LINE_BYTES}\n".encode())
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return f"imp-{digest.hexdigest()[:40]}"


def _checked(line: int, values: dict[str, Any]) -> Record:
    try:
        departure = EmployeeDeparted.model_validate(values)
    except pydantic.ValidationError as exc:
        errors = tuple(
            {"field": ".".join(str(p) for p in e["loc"]) or "(record)", "message": e["msg"]}
            for e in exc.errors(include_input=False, include_url=False, include_context=False)
        )
        return Record(line, None, errors)
    return Record(line, departure.model_dump(mode="json", exclude_none=True))


def _refused(line: int, message: str) -> Record:
    return Record(line, None, ({"field": "(record)", "message": message},))


def _csv_records(f: io.TextIOBase) -> Iterator[Record]:
    reader = csv.DictReader(f, restkey="\0extra")
    header = set(reader.fieldnames or [])
    if missing := REQUIRED - header:
        raise FileRefused(f"the header lacks the contract's required columns: {', '.join(sorted(missing))}")
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield _refused(line, f"not a CSV record: {exc}")
            continue
        if "\0extra" in row:
            yield _refused(line, "more values than the header has columns")
        elif sum(len(v or "") for v in row.values()) > MAX_LINE_BYTES:
            yield _refused(line, f"the record is over {MAX_LINE_BYTES} bytes")
        else:
            yield _checked(line, {k: v.strip() for k, v in row.items() if k in FIELDS and v is not None and v.strip()})


def _json_lines(f: io.BufferedIOBase) -> Iterator[Record]:
    line = 0
    while raw := f.readline(MAX_LINE_BYTES + 1):
        line += 1
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while (rest := f.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
                pass  # the rest of an oversized line is skipped, never held
            yield _refused(line, f"the line is over {MAX_LINE_BYTES} bytes")
            continue
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except (ValueError, RecursionError):
            yield _refused(line, "not a JSON object")
            continue
        yield _checked(line, value) if isinstance(value, dict) else _refused(line, "not a JSON object")


def records(path: Path, kind: str) -> Iterator[Record]:
    """The file's records in order, each checked; streamed, never held whole."""
    if kind == "csv":
        csv.field_size_limit(MAX_LINE_BYTES)
        with path.open(newline="", encoding="utf-8-sig", errors="replace") as f:
            yield from _csv_records(f)
    else:
        with path.open("rb") as f:
            yield from _json_lines(f)


def batches(checked: Iterator[Record], invalid: list[Record], rows_per_batch: int = ROWS_PER_BATCH) -> Iterator[Batch]:
    """The good records in batches of at most `rows_per_batch` rows and BATCH_BYTES; the bad
    ones are appended to `invalid` as they are met."""
    batch = Batch(0)
    for record in checked:
        if record.payload is None:
            invalid.append(record)
            continue
        row = {"line": record.line, "record": record.payload}
        size = len(json.dumps(row, separators=(",", ":"))) + 1
        if batch.rows and (len(batch.rows) == rows_per_batch or batch.size + size > BATCH_BYTES):
            yield batch
            batch = Batch(batch.number + 1)
        batch.rows.append(row)
        batch.size += size
    if batch.rows:
        yield batch


def count(path: Path, kind: str) -> int:
    """About how many records the file holds, for the progress line (nothing is checked)."""
    if kind == "csv":
        csv.field_size_limit(MAX_LINE_BYTES)
        with path.open(newline="", encoding="utf-8-sig", errors="replace") as f:
            try:
                return max(0, sum(1 for row in csv.reader(f) if row) - 1)
            except csv.Error:
                return 0  # unknown: the records themselves say what is wrong
    with path.open("rb") as f:
        return sum(1 for raw in iter(lambda: f.readline(MAX_LINE_BYTES + 1), b"") if raw.strip())
