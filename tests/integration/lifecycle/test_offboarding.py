"""From a departure on Kafka to a completed exit case: eligibility, repeats, future dates,
cancellations, and invalid departures dead-lettered with a reason."""

from datetime import timedelta

import pytest

from tests.integration.lifecycle.conftest import TODAY, Lifecycle

COMPLETED = "alumni.offboarding.completed"


async def test_an_eligible_departure_becomes_an_alumnus_and_gets_an_exit_form(world: Lifecycle) -> None:
    departure = world.departure(personal_email="elodie.martin@example.org", city="Lyon", country="FR")
    await world.depart(departure)

    alumnus = await world.alumnus_for(departure["employee_id"])
    [completed] = await world.records(COMPLETED, departure["employee_id"])
    [issued] = await world.records("alumni.offboarding.exit-form-issued", departure["employee_id"])
    [registered] = await world.records("alumni.alumnus.registered", alumnus["alumnus_id"])

    assert completed.json()["outcome"] == "eligible" and completed.json()["exclusion_reason"] is None
    assert completed.json()["leaver"]["personal_email"] == "elodie.martin@example.org"
    assert issued.json()["email"] == "elodie.martin@example.org" and issued.json()["locale"] == "fr"
    assert "form_url" not in issued.json() and issued.json()["link_id"]  # the token never travels
    assert issued.headers["ce_type"] == "com.alumni.offboarding.exit-form-issued.v2"
    assert registered.json()["boomerang"] is False
    assert alumnus["profile"]["city"] == "Lyon" and alumnus["stints"] == [
        {"employee_id": departure["employee_id"], "hire_date": "2019-03-01", "departure_date": "2026-11-20"}
    ]


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"departure_reason": "termination_for_cause"}, "departure reason termination_for_cause is excluded"),
        ({"litigation_pending": True}, "litigation with the company is pending"),
    ],
)
async def test_excluded_departures_are_recorded_with_their_reason_and_make_no_alumnus(world: Lifecycle, fields: dict, reason: str) -> None:
    departure = world.departure(**fields)
    await world.depart(departure)

    [completed] = await world.records(COMPLETED, departure["employee_id"])

    body = completed.json()
    assert (body["outcome"], body["exclusion_reason"]) == ("excluded", reason)
    assert body["leaver"] is None and body["profile"] is None  # no personal data for an exclusion
    assert await world.records("alumni.offboarding.exit-form-issued", departure["employee_id"], count=1, timeout=2) == []
    client, db = await world.offboarding_db()
    case = await db.exit_cases.find_one({"employee_id": departure["employee_id"]})
    await client.close()
    assert case["decision"] == {"eligible": False, "reason": reason}


async def test_a_departure_sent_twice_is_one_case_and_one_alumnus(world: Lifecycle) -> None:
    departure = world.departure()
    await world.depart(departure)
    await world.depart(departure | {"job_title": "Lead engineer"})  # the HRIS sends it again

    completed = await world.records(COMPLETED, departure["employee_id"], count=1, settle=3)
    alumnus = await world.alumnus_for(departure["employee_id"])
    registered = await world.records("alumni.alumnus.registered", alumnus["alumnus_id"], count=1, settle=2)

    assert len(completed) == 1 and len(registered) == 1
    client, db = await world.offboarding_db()
    cases = await db.exit_cases.find({"employee_id": departure["employee_id"]}).to_list()
    await client.close()
    assert len(cases) == 1 and cases[0]["resends"] == 1


async def test_a_future_dated_departure_waits_for_its_date(world: Lifecycle) -> None:
    departure = world.departure(departure_date="2026-12-15")
    await world.depart(departure)
    await world.records("alumni.offboarding.exit-form-issued", departure["employee_id"])  # the case is open
    assert await world.records(COMPLETED, departure["employee_id"], timeout=2) == []

    world.set_clock(TODAY + timedelta(days=23))  # 2026-12-15

    [completed] = await world.records(COMPLETED, departure["employee_id"])
    assert completed.json()["departure_date"] == "2026-12-15"
    await world.alumnus_for(departure["employee_id"])


async def test_a_cancellation_before_the_date_closes_the_case_with_no_alumnus(world: Lifecycle) -> None:
    departure = world.departure(departure_date="2026-12-31")
    await world.depart(departure)
    await world.records("alumni.offboarding.exit-form-issued", departure["employee_id"])
    await world.cancel(departure["employee_id"])
    [cancelled] = await world.records("alumni.offboarding.cancelled", departure["employee_id"])

    world.set_clock(TODAY + timedelta(days=60))

    assert cancelled.json()["after_completion"] is False
    assert await world.records(COMPLETED, departure["employee_id"], timeout=3) == []
    client, db = await world.offboarding_db()
    case = await db.exit_cases.find_one({"employee_id": departure["employee_id"]})
    await client.close()
    assert case["status"] == "cancelled"


async def test_a_cancellation_after_completion_is_recorded_and_reported(world: Lifecycle) -> None:
    departure = world.departure()
    await world.depart(departure)
    alumnus = await world.alumnus_for(departure["employee_id"])

    # After completion, a cancellation names its stint (without a date it waits for an open one).
    await world.cancel(departure["employee_id"], "came back the next day", departure_date=departure["departure_date"])
    [cancelled] = await world.records("alumni.offboarding.cancelled", departure["employee_id"])

    assert cancelled.json()["after_completion"] is True
    assert cancelled.json()["reason"] == "came back the next day"
    assert (await world.alumnus_for(departure["employee_id"]))["alumnus_id"] == alumnus["alumnus_id"]
    client, db = await world.offboarding_db()
    case = await db.exit_cases.find_one({"employee_id": departure["employee_id"]})
    await client.close()
    assert (case["status"], case["cancelled_after_completion"]) == ("completed", True)


async def test_invalid_departures_are_dead_lettered_with_a_useful_reason(world: Lifecycle) -> None:
    before_hire = world.departure(departure_date="2018-01-01")
    bad_reason = world.departure(departure_reason="fired")
    await world.depart(before_hire)
    await world.depart(bad_reason)
    no_email = world.departure()
    del no_email["work_email"]
    await world.depart(no_email)

    letters = {}
    for departure in (before_hire, bad_reason, no_email):
        [letter] = await world.records("hris.employee.departed.dlq", departure["employee_id"])
        letters[departure["employee_id"]] = letter.headers
    assert {h["dlq_error_class"] for h in letters.values()} == {"SchemaViolation"}
    assert "departure_date is before hire_date" in letters[before_hire["employee_id"]]["dlq_error_message"]
    assert letters[bad_reason["employee_id"]]["dlq_error_message"].startswith("departure_reason: Input should be")
    assert letters[no_email["employee_id"]]["dlq_error_message"] == "work_email: Field required"
    assert letters[no_email["employee_id"]]["dlq_group"] == "offboarding.hris.employee.departed"
