"""Closed exit cases are forgotten after EXIT_CASE_RETENTION_DAYS (90 here), by offboarding's
scheduler, on the real stack with the clock moved: excluded and cancelled leavers' personal data
goes, open cases stay, and a re-send of a forgotten departure opens no case."""

import asyncio
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from devstack.process import free_port
from devstack.services import ServiceProcess
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


async def test_two_offboarding_instances_forget_each_expired_case_once(world: Lifecycle, figures) -> None:
    """As two replicas do: both schedulers look at the same expired cases, and the forgotten
    counts they log add up to exactly the cases that went."""
    first = world.stack.services["offboarding"]
    second = ServiceProcess(world.stack.cfg, "offboarding", free_port(),
                            {k: v for k, v in (first.process.env or {}).items() if k != "HTTP_PORT"}, instance="b")
    second.start()
    try:
        await second.wait_ready(timeout=90)
        excluded = [world.departure(departure_reason="termination_for_cause") for _ in range(12)]
        for departure in excluded:
            await world.depart(departure)
        for departure in excluded:
            await world.records("alumni.offboarding.completed", departure["employee_id"])
        client, db = await world.offboarding_db()
        # Every case closed before the cutoff goes, those of earlier tests included.
        cutoff = TODAY + timedelta(days=1)
        expiring = await db.exit_cases.count_documents({"closed_at": {"$lt": cutoff}})
        assert expiring >= len(excluded)
        moved_at = datetime.now(UTC).isoformat(timespec="milliseconds")
        world.set_clock(TODAY + timedelta(days=91))
        for _ in range(150):
            if await db.exit_cases.count_documents({"closed_at": {"$lt": cutoff}}) == 0:
                break
            await asyncio.sleep(0.2)
        assert await db.exit_cases.count_documents({"closed_at": {"$lt": cutoff}}) == 0
        await client.close()
        await asyncio.sleep(1)  # both schedulers have had another round
        forgotten = {p.instance or "a": _forgotten_since(p.process.log, moved_at) for p in (first, second)}
        figures(f"retention with two offboarding instances: {expiring} expired cases, forgotten by each: {forgotten}")
        assert sum(forgotten.values()) == expiring, f"forgotten by each instance: {forgotten}, for {expiring} cases"
    finally:
        second.stop()


def _forgotten_since(log: Path, since: str) -> int:
    """What one instance's scheduler says it forgot, from its JSON log lines since `since`."""
    total = 0
    for line in log.read_text().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("time", "") >= since and "forgotten" in entry and "retention" in entry.get("message", ""):
            total += int(entry["forgotten"])
    return total
