"""Imports of historic leavers through offboarding's rules, over in-memory repositories: how a
batch is sorted, a replayed batch, a second file naming the same people, an HRIS re-send of an
imported departure, and the API's refusals. The same on the real stack:
tests/integration/imports/."""

from datetime import date

from services.offboarding.imports.batches import import_batch, read_row
from shared.events.hris import EmployeeDeparted
from shared.events.offboarding import ExitFormIssuedV2, LeaversImported, OffboardingCompleted
from tests.unit.offboarding.fakes import ERASURE_KEYS, Offboarding, departure
from tests.unit.offboarding.test_api import TOKENS, client

ADMIN = {"Authorization": f"Bearer {TOKENS.issue('hr-operator', ['alumni:admin'])}"}


def record(employee_id: str, **fields) -> dict:
    return {"employee_id": employee_id, "first_name": "Léa", "last_name": "Petit", "work_email": f"{employee_id.lower()}@acme.example",
            "personal_email": f"{employee_id.lower()}@home.example", "hire_date": "2012-01-01", "departure_date": "2018-06-30",
            "departure_reason": "resignation"} | fields


async def run(offboarding: Offboarding, import_id: str, number: int, records: list[dict], first_line: int = 2) -> dict:
    rows = [read_row(first_line + i, r) for i, r in enumerate(records)]
    return await offboarding.transactions.run(lambda uow: import_batch(uow, offboarding.deps, import_id, number, rows))


async def test_a_batch_is_sorted_by_offboardings_rules_and_only_the_eligible_travel() -> None:
    offboarding = Offboarding()
    await offboarding.handle(departure(employee_id="E-LIVE", hire_date="2020-01-01", departure_date="2026-11-20"))
    await offboarding.store.erased_people.remember([ERASURE_KEYS.of_employee("E-GONE")], offboarding.clock())
    records = [
        record("E-1"),
        record("E-2", departure_reason="termination_for_cause"),
        record("E-3", litigation_pending=True),
        record("E-4", work_email="not an address", hire_date="2012-13-01"),
        record("E-GONE"),
        record("E-1"),  # the same departure twice in the file
        record("E-LIVE", hire_date="2020-01-01", departure_date="2026-11-20"),  # a live case has it
        record("E-5", departure_date="2027-03-31"),  # not gone yet
        record("E-1", hire_date="2019-01-01", departure_date="2021-01-31"),  # a later stint of E-1
    ]
    answer = await run(offboarding, "import-0001", 0, records)

    assert answer["replayed"] is False and answer["rows"] == 9
    assert answer["counts"] == {"imported": 2, "excluded": 2, "erased": 1, "known": 2, "not_departed": 1, "invalid": 1}
    assert answer["exclusions"] == {"departure reason termination_for_cause is excluded": 1, "litigation with the company is pending": 1}
    by_line = {line["line"]: line for line in answer["lines"]}
    assert sorted(by_line) == [3, 4, 5, 6, 7, 8, 9]
    assert by_line[5]["outcome"] == "invalid" and {e["field"] for e in by_line[5]["errors"]} == {"work_email", "hire_date"}
    assert "not an address" not in str(answer) and "Petit" not in str(answer)
    assert (by_line[6]["outcome"], by_line[7]["outcome"], by_line[8]["outcome"]) == ("erased", "known", "known")
    [chunk] = offboarding.published(LeaversImported)
    assert (chunk.import_id, chunk.batch, chunk.part) == ("import-0001", 0, 0)
    assert [(l.employee_id, l.hire_date) for l in chunk.leavers] == [("E-1", date(2012, 1, 1)), ("E-1", date(2019, 1, 1))]
    assert chunk.leavers[0].leaver.personal_email == "e-1@home.example"
    # No exit case, no exit form, no completion for an imported leaver; the erased one's refusal is counted.
    assert set(offboarding.store.cases) == {"E-LIVE/2020-01-01"}
    assert len(offboarding.published(ExitFormIssuedV2)) == 1 and len(offboarding.published(OffboardingCompleted)) == 1
    assert offboarding.store.erased_people.people[ERASURE_KEYS.of_employee("E-GONE")]["refusals"] == 1


async def test_a_replayed_batch_changes_nothing_and_gets_the_same_answer() -> None:
    offboarding = Offboarding()
    first = await run(offboarding, "import-0001", 0, [record("E-1"), record("E-2", departure_reason="termination_for_cause")])
    remembered = dict(offboarding.store.erased_people.people)
    again = await run(offboarding, "import-0001", 0, [record("E-1"), record("E-9")])  # the client cannot change a batch done

    assert again == first | {"replayed": True}
    assert len(offboarding.published(LeaversImported)) == 1 and offboarding.store.erased_people.people == remembered


async def test_another_file_naming_the_same_people_imports_no_one_twice() -> None:
    offboarding = Offboarding()
    await run(offboarding, "import-0001", 0, [record("E-1"), record("E-2", departure_reason="termination_for_cause")])
    second = await run(offboarding, "import-0002", 0, [record("E-1"), record("E-2", departure_reason="termination_for_cause"), record("E-3")])

    assert second["counts"]["known"] == 2 and second["counts"]["imported"] == 1
    assert [[l.employee_id for l in c.leavers] for c in offboarding.published(LeaversImported)] == [["E-1"], ["E-3"]]


async def test_an_hris_resend_of_an_imported_departure_opens_no_case_and_sends_nothing() -> None:
    offboarding = Offboarding()
    await run(offboarding, "import-0001", 0, [record("E-1"), record("E-2", departure_reason="termination_for_cause")])
    for employee_id in ("E-1", "E-2"):
        fields = record(employee_id) | ({"departure_reason": "termination_for_cause"} if employee_id == "E-2" else {})
        await offboarding.handle(EmployeeDeparted.model_validate(fields))

    assert offboarding.store.cases == {}
    assert not offboarding.published(ExitFormIssuedV2) and not offboarding.published(OffboardingCompleted)
    # A boomerang's later stint is a new departure: its exit process runs.
    await offboarding.handle(EmployeeDeparted.model_validate(record("E-1", hire_date="2024-01-01", departure_date="2026-11-20")))
    assert len(offboarding.published(ExitFormIssuedV2)) == 1


async def test_leavers_at_the_contracts_longest_are_split_into_events_that_fit() -> None:
    offboarding = Offboarding()
    longest = "x" * 500
    records = [record(f"E-{n}", first_name=longest, last_name=longest, department=longest, job_title=longest, city=longest)
               for n in range(400)]
    await run(offboarding, "import-0001", 0, records)

    chunks = offboarding.published(LeaversImported)
    assert len(chunks) > 1 and [c.part for c in chunks] == list(range(len(chunks)))
    assert all(len(c.model_dump_json()) < 900_000 for c in chunks) and sum(len(c.leavers) for c in chunks) == 400


async def test_the_api_takes_batches_of_hr_and_tells_the_progress() -> None:
    offboarding = Offboarding()
    async with client(offboarding) as http:
        first = await http.post("/imports/import-0001/batches/0", headers=ADMIN,
                                json={"rows": [{"line": 2, "record": record("E-1")}, {"line": 3, "record": {"employee_id": "E-2"}}]})
        second = await http.post("/imports/import-0001/batches/1", headers=ADMIN, json={"rows": [{"line": 4, "record": record("E-3")}]})
        replay = await http.post("/imports/import-0001/batches/1", headers=ADMIN, json={"rows": [{"line": 4, "record": record("E-3")}]})
        status = await http.get("/imports/import-0001", headers=ADMIN)
        one = await http.get("/imports/import-0001/batches/0", headers=ADMIN)
        missing = await http.get("/imports/import-0001/batches/7", headers=ADMIN)

    assert first.status_code == 200 and first.json()["counts"]["invalid"] == 1
    assert second.status_code == 200 and replay.json()["replayed"] is True and replay.json()["counts"] == second.json()["counts"]
    assert status.json()["batches_done"] == [0, 1] and status.json()["rows"] == 3
    assert status.json()["counts"] == {"imported": 2, "excluded": 0, "erased": 0, "known": 0, "not_departed": 0, "invalid": 1}
    assert one.json()["lines"] == first.json()["lines"] and missing.status_code == 404
    assert len(offboarding.published(LeaversImported)) == 2


async def test_the_api_refuses_what_is_not_a_batch_of_hr() -> None:
    offboarding = Offboarding()
    reader = {"Authorization": f"Bearer {TOKENS.issue('someone', ['alumni:write'])}"}
    forged = {"Authorization": f"Bearer {TOKENS.issue('x', ['alumni:admin'])}x"}
    body = {"rows": [{"line": 2, "record": record("E-1")}]}
    async with client(offboarding) as http:
        answers = {
            "no token": await http.post("/imports/import-0001/batches/0", json=body),
            "forged": await http.post("/imports/import-0001/batches/0", json=body, headers=forged),
            "no scope": await http.post("/imports/import-0001/batches/0", json=body, headers=reader),
            "bad id": await http.post("/imports/a%2Fb/batches/0", json=body, headers=ADMIN),
            "short id": await http.post("/imports/abc/batches/0", json=body, headers=ADMIN),
            "bad number": await http.post("/imports/import-0001/batches/-1", json=body, headers=ADMIN),
            "too many rows": await http.post("/imports/import-0001/batches/0", headers=ADMIN,
                                             json={"rows": [{"line": n + 2, "record": record(f"E-{n}")} for n in range(1001)]}),
            "no rows": await http.post("/imports/import-0001/batches/0", json={"rows": []}, headers=ADMIN),
            "line twice": await http.post("/imports/import-0001/batches/0", headers=ADMIN,
                                          json={"rows": [{"line": 2, "record": record("E-1")}, {"line": 2, "record": record("E-2")}]}),
            "not json": await http.post("/imports/import-0001/batches/0", content=b"{rows", headers=ADMIN),
            "too deep": await http.post("/imports/import-0001/batches/0", content=b"[" * 100_000, headers=ADMIN),
            "not rows": await http.post("/imports/import-0001/batches/0", json={"rows": [{"line": 2, "record": "x"}]}, headers=ADMIN),
        }

    assert {k: r.status_code for k, r in answers.items()} == {
        "no token": 401, "forged": 401, "no scope": 403, "bad id": 404, "short id": 422, "bad number": 422, "too many rows": 422,
        "no rows": 422, "line twice": 422, "not json": 422, "too deep": 422, "not rows": 422,
    }
    assert not offboarding.published(LeaversImported) and offboarding.store.import_batches == {}


async def test_a_future_dated_row_is_left_to_the_hris() -> None:
    offboarding = Offboarding()
    answer = await run(offboarding, "import-0001", 0, [record("E-1", departure_date="2026-12-31")])
    assert answer["counts"]["not_departed"] == 1 and not offboarding.published(LeaversImported)
    assert offboarding.store.erased_people.people == {}  # the HRIS's departure will open its case



async def test_a_full_batch_travels_as_events_short_enough_to_handle_in_one_transaction_each() -> None:
    offboarding = Offboarding()
    answer = await run(offboarding, "import-0001", 0, [record(f"E-{n:04d}") for n in range(1000)])

    chunks = offboarding.published(LeaversImported)
    assert answer["events"] == 4 and [(c.part, len(c.leavers)) for c in chunks] == [(0, 250), (1, 250), (2, 250), (3, 250)]
    assert [l.employee_id for c in chunks for l in c.leavers] == [f"E-{n:04d}" for n in range(1000)]
