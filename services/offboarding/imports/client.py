"""Sending an import to offboarding: the batches it has not done yet, one at a time, with a
progress line; what fails for a while (the service restarting, a database busy) is tried again;
then a report of every row not imported, by line number, and the import's counts.

Resuming is asking: offboarding says which batches of this import (its id comes from the
file's content) are done, and only the others are sent. A batch sent twice changes nothing
anyway: offboarding answers it as it did the first time.
"""

import asyncio
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any, TextIO

import httpx

from services.offboarding.imports.reading import ROWS_PER_BATCH, Record, batches, count, file_format, import_id, records

RETRIED = {429, 500, 502, 503, 504}


class ImportRefused(Exception):
    """Offboarding refused the import (the token, its scope, a batch): the message says why."""


class Meter:
    """The progress line: rows read of the file's, the rate of this run, the batch."""

    def __init__(self, total: int, out: TextIO) -> None:
        self.total, self.out = total, out
        self.started = time.monotonic()
        self.shown = 0.0
        self.interactive = out.isatty()

    def show(self, rows: int, sent: int, batch: int, resumed: int, *, last: bool = False) -> None:
        now = time.monotonic()
        if not last and now - self.shown < (0.2 if self.interactive else 5.0):
            return
        self.shown = now
        rate = sent / max(now - self.started, 1e-6)
        share = f" ({100 * rows / self.total:.0f}%)" if self.total else ""
        text = f"rows {rows:,}/{self.total:,}{share}, {rate:,.0f} rows/s, batch {batch}" + (f" ({resumed} done before)" if resumed else "")
        print(f"\r{text}" if self.interactive else text, end="\n" if last or not self.interactive else "", file=self.out, flush=True)


async def _call(http: httpx.AsyncClient, method: str, path: str, attempts: int, **kwargs: Any) -> dict[str, Any]:
    delay = 0.5
    for attempt in range(1, attempts + 1):
        try:
            response = await http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            if attempt == attempts:
                raise ImportRefused(f"offboarding did not answer ({type(exc).__name__}): run the same command again to resume") from None
        else:
            if response.status_code < 300:
                return response.json()
            if response.status_code not in RETRIED or attempt == attempts:
                raise ImportRefused(f"offboarding answered {response.status_code} to {method} {path}: {_detail(response)}")
            delay = max(delay, float(response.headers.get("retry-after", 0) or 0))
        await asyncio.sleep(delay)
        delay = min(2 * delay, 10.0)
    raise AssertionError("unreachable")


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except ValueError:
        return response.text[:200]
    return detail if isinstance(detail, str) else json.dumps(detail)[:500]


def write_report(report: Path, invalid: list[Record], lines: list[dict[str, Any]]) -> None:
    entries = [{"line": r.line, "outcome": "invalid", "errors": list(r.errors)} for r in invalid] + lines
    with report.open("w") as f:
        for entry in sorted(entries, key=lambda e: e["line"]):
            f.write(json.dumps(entry, ensure_ascii=False) + "\n")


async def run_import(
    path: Path, *, url: str, token: str, kind: str | None = None, report: Path | None = None, out: TextIO = sys.stderr,
    batch_rows: int = ROWS_PER_BATCH, attempts: int = 10, transport: httpx.AsyncBaseTransport | None = None,
    stop: threading.Event | None = None,
) -> dict[str, Any]:
    """Send the file's batches not done yet; the import's summary (counts as offboarding has them,
    rows found bad here added to `invalid`). `batch_rows`: rows per batch (part of the import's
    identity: the same file in other batches is another import, whose leavers are all known)."""
    if not 1 <= batch_rows <= ROWS_PER_BATCH:
        raise ValueError(f"a batch holds 1 to {ROWS_PER_BATCH} rows")
    kind = file_format(path, kind)
    next(records(path, kind), None)  # a header that cannot be read refuses the file before anything is asked
    the_id, total = import_id(path, batch_rows), count(path, kind)
    report = report or path.with_name(path.name + ".import-report.jsonl")
    meter, invalid, lines = Meter(total, out), [], []
    sent = resumed = read = batch_count = 0
    async with httpx.AsyncClient(base_url=url.rstrip("/"), headers={"Authorization": f"Bearer {token}"}, timeout=120,
                                 transport=transport) as http:
        done = set((await _call(http, "GET", f"/imports/{the_id}", attempts))["batches_done"])
        try:
            for batch in batches(records(path, kind), invalid, batch_rows):
                if stop is not None and stop.is_set():
                    raise KeyboardInterrupt
                if batch.number in done:  # its answer again, for the report
                    answer = await _call(http, "GET", f"/imports/{the_id}/batches/{batch.number}", attempts)
                    resumed += 1
                else:
                    answer = await _call(http, "POST", f"/imports/{the_id}/batches/{batch.number}", attempts, content=batch.body(),
                                         headers={"Content-Type": "application/json"})
                    sent += len(batch.rows)
                lines += answer["lines"]
                read += answer["rows"]
                batch_count = batch.number + 1
                meter.show(read + len(invalid), sent, batch.number, resumed)
        finally:  # interrupted too: the report of what was done (the next run writes it whole)
            write_report(report, invalid, lines)
            meter.show(read + len(invalid), sent, max(batch_count - 1, 0), resumed, last=True)
        status = await _call(http, "GET", f"/imports/{the_id}", attempts)
    counts = dict(status["counts"])
    counts["invalid"] = counts.get("invalid", 0) + len(invalid)
    seconds = time.monotonic() - meter.started
    return {
        "import_id": the_id, "records": read + len(invalid), "batches": batch_count, "batches_done_before": resumed,
        "counts": counts, "exclusions": status["exclusions"], "events": status["events"], "seconds": round(seconds, 1),
        "rows_per_second": round(sent / seconds, 1) if seconds else None, "report": str(report),
    }
