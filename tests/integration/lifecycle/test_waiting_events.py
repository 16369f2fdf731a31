"""Events that arrive before what they depend on wait for it (parked in the service's database,
checked again, bounded), on the real broker and database with offboarding and identity as real
processes: a cancellation before its departure, exit-form answers before their completion, a
boomerang's cancellation, and a wait that never ends."""

import asyncio

import httpx

from shared.events.offboarding import ExitFormSubmitted
from tests.integration.kafka_io import publish_event
from tests.integration.lifecycle.conftest import PARKED_MAX_WAIT, Lifecycle

COMPLETED = "alumni.offboarding.completed"
ISSUED = "alumni.offboarding.exit-form-issued"
CANCELLED = "alumni.offboarding.cancelled"


async def no_alumnus(world: Lifecycle, employee_id: str) -> bool:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{world.identity}/alumni", params={"employee_id": employee_id}, headers=world.auth("alumni:read"))
    return response.status_code == 404


async def test_a_cancellation_sent_before_its_departure_leaves_no_alumnus_and_no_exit_form(world: Lifecycle) -> None:
    departure = world.departure()  # dated in the past: it would complete at once
    employee_id = departure["employee_id"]
    await world.cancel(employee_id, "offer accepted elsewhere, then declined")
    parked = await world.wait_parked("offboarding", employee_id)
    assert parked["event_type"] == "com.alumni.employee.departure-cancelled.v1"
    assert "no departure of employee" in parked["reason"]

    await asyncio.sleep(1)  # longer than the old retry budget would have lasted at its start
    await world.depart(departure)

    [cancelled] = await world.records(CANCELLED, employee_id)
    assert (cancelled.json()["after_completion"], cancelled.json()["reason"]) == (False, "offer accepted elsewhere, then declined")
    assert await world.records(COMPLETED, employee_id, timeout=3) == []
    assert await world.records(ISSUED, employee_id, timeout=1) == []  # no link, so no exit-form email
    assert await no_alumnus(world, employee_id)
    assert await world.records("hris.employee.departure-cancelled.dlq", employee_id, timeout=1) == []
    client, db = await world.offboarding_db()
    case = await db.exit_cases.find_one({"employee_id": employee_id})
    await client.close()
    assert case["status"] == "cancelled"
    assert await world.parked("offboarding", employee_id) == []  # handled, and no longer parked


async def test_exit_form_answers_before_their_completion_are_applied_after_it(world: Lifecycle) -> None:
    departure = world.departure()
    employee_id, hire = departure["employee_id"], departure["hire_date"]
    answers = ExitFormSubmitted.model_validate({
        "case_id": f"{employee_id}/{hire}", "employee_id": employee_id, "hire_date": hire, "submitted_at": "2026-11-21T10:00:00Z",
        "profile": {"skills": ["Kafka", "Negotiation"], "willing_to": ["mentor"]},
    })
    await publish_event(world.bootstrap, answers, source="/alumni/offboarding")
    await world.wait_parked("identity", employee_id)

    await world.depart(departure)
    alumnus = await world.alumnus_for(employee_id)
    deadline = asyncio.get_running_loop().time() + 15
    while alumnus["profile"]["skills"] != ["Kafka", "Negotiation"]:
        assert asyncio.get_running_loop().time() < deadline, f"answers never applied: {alumnus['profile']}"
        await asyncio.sleep(0.2)
        alumnus = await world.alumnus_for(employee_id)
    assert alumnus["profile"]["willing_to"] == ["mentor"]
    assert await world.parked("identity", employee_id) == []
    assert await world.records("alumni.offboarding.exit-form-submitted.dlq", employee_id, timeout=1) == []


async def test_a_boomerangs_cancellation_cancels_the_stint_it_names_never_the_completed_one(world: Lifecycle) -> None:
    first = world.departure(hire_date="2015-02-01", departure_date="2019-06-30")
    employee_id = first["employee_id"]
    await world.depart(first)
    alumnus = await world.alumnus_for(employee_id)

    # Rehired, leaving again: the cancellation of the second departure comes before it, undated.
    await world.cancel(employee_id, "stays after all")
    await world.wait_parked("offboarding", employee_id)
    second = world.departure(employee_id=employee_id, hire_date="2022-09-01", departure_date="2026-11-21")
    await world.depart(second)

    [cancelled] = await world.records(CANCELLED, employee_id)
    assert (cancelled.json()["case_id"], cancelled.json()["after_completion"]) == (f"{employee_id}/2022-09-01", False)
    client, db = await world.offboarding_db()
    cases = {c["_id"]: c async for c in db.exit_cases.find({"employee_id": employee_id})}
    await client.close()
    assert cases[f"{employee_id}/2015-02-01"]["status"] == "completed"
    assert cases[f"{employee_id}/2015-02-01"]["cancelled_at"] is None  # the old stint is untouched
    assert cases[f"{employee_id}/2022-09-01"]["status"] == "cancelled"
    assert len(await world.records(COMPLETED, employee_id, count=2, timeout=3)) == 1
    assert len((await world.alumnus_for(employee_id))["stints"]) == 1 == len(alumnus["stints"])


async def test_a_parked_event_that_never_resolves_is_dead_lettered_after_the_bound(world: Lifecycle) -> None:
    employee_id = world.departure()["employee_id"]
    await world.cancel(employee_id, departure_date="2026-11-20")  # no such departure will ever come
    await world.wait_parked("offboarding", employee_id)

    [letter] = await world.records("hris.employee.departure-cancelled.dlq", employee_id, timeout=PARKED_MAX_WAIT + 20)
    assert letter.headers["dlq_error_class"] == "DepartureNotYetKnown"
    message = letter.headers["dlq_error_message"]
    assert message.startswith("still waiting after ") and f"(at most {PARKED_MAX_WAIT} s)" in message, message
    assert int(letter.headers["dlq_attempts"]) > 1  # checked again several times first
    assert await world.parked("offboarding", employee_id) == []
    async with httpx.AsyncClient() as http:
        metrics = (await http.get(f"{world.offboarding}/metrics")).text
    lines = [line for line in metrics.splitlines() if line.startswith("alumni_parked_events_outcomes_total{")]
    assert any('outcome="dead_letter"' in line and "departure-cancelled" in line for line in lines), lines
    gauges = {line.split("{")[0].split(" ")[0] for line in metrics.splitlines() if line.startswith("alumni_parked_events")}
    assert {"alumni_parked_events", "alumni_parked_events_oldest_age_seconds"} <= gauges, gauges
