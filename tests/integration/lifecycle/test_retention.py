"""Closed exit cases are forgotten after EXIT_CASE_RETENTION_DAYS (90 here), by offboarding's
scheduler, on the real stack with the clock moved: excluded and cancelled leavers' personal data
goes, open cases stay, and a re-send of a forgotten departure opens no case."""

import asyncio
from datetime import date, timedelta

from shared.erasure import ErasureKeys
from shared.settings import DEVELOPMENT_ERASURE_HASH_KEY
from tests.integration.lifecycle.conftest import TODAY, Lifecycle


async def test_closed_cases_are_forgotten_after_the_retention_period_and_stay_forgotten(world: Lifecycle) -> None:
    excluded = world.departure(departure_reason="termination_for_cause", phone="+33612345678")
    cancelled = world.departure(departure_date="2026-12-31")
    still_open = world.departure(departure_date="2027-12-31")
    await world.depart(excluded)
    await world.depart(cancelled)
    await world.depart(still_open)
    await world.records("alumni.offboarding.completed", excluded["employee_id"])
    await world.records("alumni.offboarding.exit-form-issued", cancelled["employee_id"])
    await world.cancel(cancelled["employee_id"])
    await world.records("alumni.offboarding.cancelled", cancelled["employee_id"])
    client, db = await world.offboarding_db()
    ids = [d["employee_id"] for d in (excluded, cancelled, still_open)]

    async def cases() -> set[str]:
        return {c["employee_id"] async for c in db.exit_cases.find({"employee_id": {"$in": ids}})}

    world.set_clock(TODAY + timedelta(days=89))
    await asyncio.sleep(2)  # several rounds of the scheduler
    assert await cases() == set(ids)

    world.set_clock(TODAY + timedelta(days=91))
    for _ in range(100):
        if await cases() == {still_open["employee_id"]}:
            break
        await asyncio.sleep(0.2)
    assert await cases() == {still_open["employee_id"]}
    assert await db.exit_invitations.count_documents({"case_id": {"$regex": f"^{cancelled['employee_id']}/"}}) == 0
    keys = ErasureKeys(DEVELOPMENT_ERASURE_HASH_KEY)
    excluded_stint = keys.of_stint(excluded["employee_id"], date.fromisoformat(excluded["hire_date"]))
    assert await db.erased_people.find_one({"_id": excluded_stint}) is not None

    await world.depart(excluded)  # the HRIS re-sends a departure whose case was forgotten
    for _ in range(100):
        if (await db.erased_people.find_one({"_id": excluded_stint})).get("refusals", 0) >= 1:
            break
        await asyncio.sleep(0.2)
    assert (await db.erased_people.find_one({"_id": excluded_stint}))["refusals"] == 1
    assert await cases() == {still_open["employee_id"]}
    assert len(await world.records("alumni.offboarding.completed", excluded["employee_id"], count=2, timeout=3)) == 1
    await client.close()
