"""An import of historic leavers through the five services on the real broker and database: a
file with bad rows, excluded leavers, an erased person, duplicates, a boomerang and people not
gone yet becomes the right alumni in identity and in every projection, and no one is emailed;
a second file naming the same people imports only the new ones; an HRIS re-send of an imported
departure opens no exit process."""

import asyncio
import json
from datetime import date
from pathlib import Path

import httpx

from shared.erasure import ErasureKeys
from shared.settings import DEVELOPMENT_ERASURE_HASH_KEY
from tests.integration.imports.conftest import Imports, leaver, unique, write_csv

KEYS = ErasureKeys(DEVELOPMENT_ERASURE_HASH_KEY)  # the test stack runs in development mode


async def live_alumnus(imports: Imports, employee_id: str) -> dict:
    """A leaver of the live pipeline, registered by identity (welcomed, as they should be)."""
    await imports.depart(leaver(employee_id, hire_date="2015-01-05", departure_date="2024-06-28"))
    [alumnus] = (await imports.wait_for_alumni([employee_id])).values()
    return alumnus


async def erase(imports: Imports, employee_id: str) -> None:
    alumnus = await live_alumnus(imports, employee_id)
    async with httpx.AsyncClient(timeout=30) as http:
        erased = await http.delete(f"{imports.url('identity')}/alumni/{alumnus['_id']}", headers=imports.auth("alumni:admin"))
    assert erased.status_code == 200, erased.text
    client, db = await imports.db("offboarding")
    try:  # offboarding hears of it (alumni.alumnus.erased) and remembers the employee
        for _ in range(120):
            if await db.erased_people.find_one({"_id": KEYS.of_employee(employee_id)}):
                return
            await asyncio.sleep(0.5)
        raise AssertionError("offboarding never heard of the erasure")
    finally:
        await client.close()


async def test_a_file_of_historic_leavers_becomes_alumni_everywhere_and_no_one_is_told(imports: Imports, tmp_path: Path) -> None:
    run = unique("H")
    live, gone = f"{run}-LIVE", f"{run}-GONE"
    before_live = await live_alumnus(imports, live)
    await erase(imports, gone)
    eligible = [leaver(f"{run}-{n:03d}") for n in range(240)]
    pairs = [leaver(f"{run}-B{n}", hire_date=hire, departure_date=left)
             for n in range(5) for hire, left in (("2003-01-06", "2008-12-31"), ("2012-02-01", "2020-07-31"))]
    rows = (
        eligible
        + [leaver(f"{run}-C{n}", departure_reason="termination_for_cause") for n in range(10)]
        + [leaver(f"{run}-L{n}", litigation_pending="true") for n in range(10)]
        + [leaver(f"{run}-X{n}", work_email="not an address") for n in range(4)]
        + [leaver(f"{run}-X{n + 4}", departure_date="2019-02-30") for n in range(2)]
        + [leaver(f"{run}-X{n + 6}", last_name="") for n in range(2)]
        + eligible[:10]  # the same departures again, further down the file
        + [leaver(gone, hire_date="2015-01-05", departure_date="2024-06-28")]  # erased: never brought back
        + [leaver(f"{run}-F{n}", departure_date="2199-01-01") for n in range(5)]  # not gone yet
        + [leaver(live, hire_date="2005-03-01", departure_date="2010-09-30")]  # an earlier stint of a live alumnus
        + pairs
    )
    path = write_csv(tmp_path / "leavers.csv", rows)
    live_address = before_live["profile"]["personal_email"]
    mail_before = len(imports.mailbox.to(live_address))  # its welcome, exit form and confirmation, from the live pipeline

    summary = await imports.run(path)

    assert summary["records"] == len(rows) == 295
    assert summary["counts"] == {"imported": 251, "excluded": 20, "erased": 1, "known": 10, "not_departed": 5, "invalid": 8}
    assert summary["exclusions"] == {"departure reason termination_for_cause is excluded": 10, "litigation with the company is pending": 10}
    report = [json.loads(line) for line in Path(summary["report"]).read_text().splitlines()]
    invalid = {e["line"]: e for e in report if e["outcome"] == "invalid"}
    assert sorted(invalid) == list(range(262, 270))  # header, 240 eligible, 20 excluded: the bad rows are lines 262 to 269
    assert {e["field"] for line in invalid.values() for e in line["errors"]} == {"work_email", "departure_date", "last_name"}
    assert "not an address" not in Path(summary["report"]).read_text()
    assert [e["line"] for e in report if e["outcome"] == "erased"] == [280]

    new_ids = [r["employee_id"] for r in eligible] + [f"{run}-B{n}" for n in range(5)]
    await imports.wait_for_alumni(new_ids + [live])
    for _ in range(240):  # the batch's last leavers travel in a second event
        alumni = await imports.alumni_of(new_ids + [live])
        if sum(len(a["stints"]) for a in {a["_id"]: a for a in alumni.values()}.values()) == 251 + 1:
            break
        await asyncio.sleep(0.5)
    assert len({a["_id"] for a in alumni.values()}) == 246  # 245 new alumni and the live one
    assert all(len(alumni[f"{run}-B{n}"]["stints"]) == 2 for n in range(5))
    assert sorted(s["hire_date"] for s in alumni[live]["stints"]) == ["2005-03-01", "2015-01-05"]
    assert alumni[live]["_id"] == before_live["_id"] and alumni[live]["profile"]["personal_email"] == before_live["profile"]["personal_email"]
    imported = alumni[f"{run}-000"]
    assert imported["consents"] == {} and not imported["personal_email_verified"] and imported["profile"]["country"] == "FR"
    nobody = [f"{run}-C0", f"{run}-L0", f"{run}-X0", gone, f"{run}-F0"]
    assert await imports.alumni_of(nobody) == {}

    ids = {a["_id"] for a in alumni.values()}
    await imports.wait_projected(ids)
    client, db = await imports.db("engagement")
    try:
        live_known = await db.known_alumni.find_one({"_id": before_live["_id"]})
    finally:
        await client.close()
    assert 2010 in live_known["departure_years"] and live_known["boomerang"]
    client, db = await imports.db("offboarding")
    try:  # offboarding keeps no one's data from the import: no exit case (the live alumnus's only), keyed hashes of the stints
        assert await db.exit_cases.distinct("employee_id", {"employee_id": {"$regex": f"^{run}-"}}) == [live]
    finally:
        await client.close()

    await asyncio.sleep(3)  # anything planned would be on its way by now
    addresses = [r["personal_email"] for r in rows if r["employee_id"] not in (live, gone)]
    assert imports.mail_to(addresses) == []
    assert len(imports.mailbox.to(live_address)) == mail_before  # the live alumnus's older stint: no message


async def test_another_file_naming_the_same_people_imports_only_the_new_ones(imports: Imports, tmp_path: Path) -> None:
    run = unique("S")
    first = [leaver(f"{run}-{n:02d}") for n in range(20)] + [leaver(f"{run}-C{n}", departure_reason="termination_for_cause") for n in range(3)]
    summary = await imports.run(write_csv(tmp_path / "first.csv", first))
    assert summary["counts"]["imported"] == 20
    second = first + [leaver(f"{run}-N{n}") for n in range(5)]

    again = await imports.run(write_csv(tmp_path / "second.csv", second))

    assert again["import_id"] != summary["import_id"]
    assert again["counts"] == {"imported": 5, "excluded": 0, "erased": 0, "known": 23, "not_departed": 0, "invalid": 0}
    alumni = await imports.wait_for_alumni([r["employee_id"] for r in second if "-C" not in r["employee_id"]])
    assert len({a["_id"] for a in alumni.values()}) == 25


async def test_an_hris_resend_of_an_imported_departure_opens_no_exit_process(imports: Imports, tmp_path: Path) -> None:
    run = unique("R")
    rows = [leaver(f"{run}-1"), leaver(f"{run}-2", departure_reason="termination_for_cause")]
    await imports.run(write_csv(tmp_path / "leavers.csv", rows))
    await imports.wait_for_alumni([f"{run}-1"])

    for row in rows:
        await imports.depart(row)  # the HRIS sends the same departures again, on the live topic

    client, db = await imports.db("offboarding")
    try:
        for _ in range(120):  # offboarding read them: each is refused as a departure it knows
            stints = [await db.erased_people.find_one({"_id": KEYS.of_stint(r["employee_id"], date(2011, 9, 1))}) for r in rows]
            if all(s and s.get("refusals", 0) >= 1 for s in stints):
                break
            await asyncio.sleep(0.5)
        else:
            raise AssertionError("offboarding never read the re-sent departures")
        assert await db.exit_cases.count_documents({"employee_id": {"$in": [r["employee_id"] for r in rows]}}) == 0
    finally:
        await client.close()
    await asyncio.sleep(3)
    assert imports.mail_to([r["personal_email"] for r in rows]) == []  # no exit form, no welcome
    assert len({a["_id"] for a in (await imports.alumni_of([f"{run}-1", f"{run}-2"])).values()}) == 1
