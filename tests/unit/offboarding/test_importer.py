"""The operator's import command: reading CSV and JSON lines with their line numbers, bad rows
reported and never sent, batches and import ids that are the same for the same file, and a run
resumed where the last one stopped, against offboarding's API over in-memory repositories. The
same against the real services: tests/integration/imports/."""

import io
import json
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from services.offboarding.api import http_router
from services.offboarding.imports import reading
from services.offboarding.imports.client import ImportRefused, run_import
from services.offboarding.imports.reading import FileRefused, batches, file_format, import_id, records
from shared.events.offboarding import LeaversImported
from tests.unit.offboarding.fakes import Offboarding
from tests.unit.offboarding.test_api import TOKENS
from tests.unit.offboarding.test_imports import record

TOKEN = TOKENS.issue("hr-operator", ["alumni:admin"])
HEADER = "employee_id,first_name,last_name,work_email,personal_email,hire_date,departure_date,departure_reason,litigation_pending,locale\n"


def csv_file(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "leavers.csv"
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    return path


def test_csv_rows_are_read_with_their_line_numbers_and_checked_against_the_contract(tmp_path: Path) -> None:
    path = csv_file(tmp_path, [
        "E-1,Léa,Petit,e1@acme.example,lea@home.example,2012-01-01,2018-06-30,resignation,false,fr\n",
        "E-2,Jo,Ng,not-an-email,,2012-01-01,2018-06-30,resignation,,en\n",
        '"E-3","Anne ""Nan""","Lee",e3@acme.example,,2012-01-01,"2018-06-30",layoff,true,en\n',
        "E-4,Too,Many,e4@acme.example,,2012-01-01,2018-06-30,layoff,false,en,extra\n",
    ])
    read = list(records(path, "csv"))

    assert [r.line for r in read] == [2, 3, 4, 5]
    assert read[0].payload["first_name"] == "Léa" and read[0].payload["litigation_pending"] is False
    assert read[1].payload is None and [e["field"] for e in read[1].errors] == ["work_email"]
    assert read[2].payload["first_name"] == 'Anne "Nan"' and read[2].payload["litigation_pending"] is True
    assert read[3].payload is None and "more values" in read[3].errors[0]["message"]


def test_a_header_without_the_required_columns_refuses_the_file(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("employee_id,first_name\nE-1,Léa\n")
    with pytest.raises(FileRefused, match="departure_date"):
        list(records(path, "csv"))
    with pytest.raises(FileRefused):
        file_format(tmp_path / "leavers.txt")


def test_json_lines_bad_lines_are_reported_and_an_oversized_one_is_never_held(tmp_path: Path) -> None:
    path = tmp_path / "leavers.jsonl"
    lines = [json.dumps(record("E-1")), "", "{not json", json.dumps([1, 2]), json.dumps(record("E-2", hire_date="2019-02-30")),
             json.dumps(record("E-3", city="x" * (reading.MAX_LINE_BYTES + 10))), "[" * 100_000, json.dumps(record("E-4"))]
    path.write_text("\n".join(lines) + "\n")
    read = list(records(path, "jsonl"))

    assert [(r.line, r.payload is not None) for r in read] == [(1, True), (3, False), (4, False), (5, False), (6, False), (7, False), (8, True)]
    assert read[3].errors[0]["field"] == "hire_date" and "over" in read[4].errors[0]["message"]
    assert "x" * 20 not in str(read)


def test_the_same_file_is_the_same_import_in_the_same_batches(tmp_path: Path) -> None:
    path = tmp_path / "leavers.jsonl"
    path.write_text("".join(json.dumps(record(f"E-{n}")) + "\n" for n in range(8)) + "oops\n")
    invalid: list = []
    first = [(b.number, [r["line"] for r in b.rows]) for b in batches(records(path, "jsonl"), invalid, 3)]
    again = [(b.number, [r["line"] for r in b.rows]) for b in batches(records(path, "jsonl"), [], 3)]

    assert first == again == [(0, [1, 2, 3]), (1, [4, 5, 6]), (2, [7, 8])] and [r.line for r in invalid] == [9]
    same = import_id(path)
    assert import_id(path, 3) != same  # other batches: another import
    path.write_text(path.read_text() + json.dumps(record("E-9")) + "\n")
    assert import_id(path) != same and len(same) <= 64


def service(offboarding: Offboarding) -> httpx.ASGITransport:
    from types import SimpleNamespace

    app = FastAPI()
    app.include_router(http_router(offboarding.deps))
    app.state.runtime = SimpleNamespace(transactions=offboarding.transactions, clock=offboarding.clock)
    app.state.token_verifier = TOKENS
    return httpx.ASGITransport(app=app)


class Interrupted(httpx.AsyncBaseTransport):
    """Offboarding, until a number of batches were posted: then the command is stopped (Ctrl-C)."""

    def __init__(self, inner: httpx.ASGITransport, posts: int) -> None:
        self.inner, self.posts = inner, posts

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            if self.posts == 0:
                raise KeyboardInterrupt
            self.posts -= 1
        return await self.inner.handle_async_request(request)


async def test_an_interrupted_import_resumes_and_imports_each_leaver_once(tmp_path: Path) -> None:
    path = tmp_path / "leavers.jsonl"
    rows = [record(f"E-{n}") for n in range(10)] + [record("E-X", departure_reason="termination_for_cause"), {"employee_id": "E-BAD"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    offboarding = Offboarding()
    out = io.StringIO()

    with pytest.raises(KeyboardInterrupt):
        await run_import(path, url="http://offboarding", token=TOKEN, out=out, batch_rows=4, transport=Interrupted(service(offboarding), posts=2))
    assert len(offboarding.published(LeaversImported)) == 2
    summary = await run_import(path, url="http://offboarding", token=TOKEN, out=out, batch_rows=4, transport=service(offboarding))

    assert summary["batches"] == 3 and summary["batches_done_before"] == 2
    assert summary["counts"] == {"imported": 10, "excluded": 1, "erased": 0, "known": 0, "not_departed": 0, "invalid": 1}
    imported = [leaver.employee_id for chunk in offboarding.published(LeaversImported) for leaver in chunk.leavers]
    assert sorted(imported) == sorted(f"E-{n}" for n in range(10))
    report = [json.loads(line) for line in Path(summary["report"]).read_text().splitlines()]
    assert [(e["line"], e["outcome"]) for e in report] == [(11, "excluded"), (12, "invalid")]
    assert "rows 12/12" in out.getvalue()


async def test_a_token_offboarding_refuses_stops_the_import_with_a_sentence(tmp_path: Path) -> None:
    path = tmp_path / "leavers.jsonl"
    path.write_text(json.dumps(record("E-1")) + "\n")
    with pytest.raises(ImportRefused, match="401"):
        await run_import(path, url="http://offboarding", token="forged", transport=service(Offboarding()), out=io.StringIO())
