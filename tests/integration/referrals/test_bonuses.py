"""Bonuses on the real stack: a hire creates its milestones; approval sends the referrer the
bonus email through notifications; the approved bonuses export as CSV for payroll; a hire who
leaves (hris.employee.departed) before the 90-day milestone claws it back, with the clock moved;
candidate data goes on request and after its retention."""

import csv
import io
import json
import uuid
from datetime import timedelta

import httpx

from tests.integration.kafka_io import cloudevent_headers, produce
from tests.integration.referrals.conftest import TODAY, Programme, until
from tests.integration.referrals.test_ats import referred


async def hire(world: Programme, email: str, employee_id: str) -> None:
    payload = {"application_id": f"ATS-{uuid.uuid4().hex[:8]}", "candidate_email": email, "status": "hired",
               "changed_at": world.now().isoformat(), "employee_id": employee_id}
    assert (await world.webhook("ats", payload)).status_code == 202


async def bonuses_of(world: Programme, referral_id: str, count: int = 2) -> list[dict]:
    async def found() -> list[dict] | None:
        async with httpx.AsyncClient() as http:
            items = (await http.get(f"{world.referrals}/bonuses", params={"referral_id": referral_id},
                                    headers=world.auth("referrals:admin"))).json()["items"]
        return sorted(items, key=lambda b: b["milestone"]) if len(items) >= count else None

    return await until(found)


async def test_approval_sends_the_bonus_email_and_payroll_gets_the_csv(world: Programme) -> None:
    alumnus_id, referral_id, email = await referred(world)
    await hire(world, email, f"E-{uuid.uuid4().hex[:8]}")
    first, second = await bonuses_of(world, referral_id)
    assert (first["status"], first["amount"], second["status"]) == ("pending_approval", "1000.00", "scheduled")
    async with httpx.AsyncClient(base_url=world.referrals, headers=world.auth("referrals:admin")) as http:
        approved = await http.post(f"/bonuses/{first['bonus_id']}/approve")
        export = await http.get("/bonuses", params={"status": "approved"}, headers={"Accept": "text/csv"})
    assert approved.status_code == 200
    rows = {r["bonus_id"]: r for r in csv.DictReader(io.StringIO(export.text))}
    assert rows[first["bonus_id"]]["amount"] == "1000.00" and rows[first["bonus_id"]]["alumnus_id"] == alumnus_id
    [earned] = await world.records("alumni.referral.bonus-earned", lambda r: r.key == referral_id.encode())
    async with httpx.AsyncClient() as http:
        address = (await http.get(f"{world.identity}/alumni/{alumnus_id}", headers=world.auth("alumni:read"))).json()["profile"]["personal_email"]
    [mail] = await world.mail_to(address, "prime")  # French: "Vous avez gagné une prime"
    assert "1000.00 EUR" in mail.get_body(("plain",)).get_content() and earned.json()["amount"] == "1000.00"


async def test_a_hire_who_leaves_before_ninety_days_claws_back_the_second_milestone(world: Programme) -> None:
    _, kept, kept_email = await referred(world)
    _, left, left_email = await referred(world)
    employee_id = f"E-{uuid.uuid4().hex[:8]}"
    await hire(world, kept_email, f"E-{uuid.uuid4().hex[:8]}")
    await hire(world, left_email, employee_id)
    await bonuses_of(world, kept)
    await bonuses_of(world, left)

    world.set_clock(TODAY + timedelta(days=40))
    departure = {"employee_id": employee_id, "first_name": "Hugo", "last_name": "Lambert", "work_email": f"{employee_id}@acme.example",
                 "hire_date": TODAY.date().isoformat(), "departure_date": (TODAY + timedelta(days=45)).date().isoformat(),
                 "departure_reason": "resignation"}
    await produce(world.bootstrap, "hris.employee.departed",
                  [(employee_id.encode(), json.dumps(departure).encode(), cloudevent_headers("com.alumni.employee.departed.v1"))])

    async def clawed_back() -> dict | None:
        second = (await bonuses_of(world, left))[1]
        return second if second["status"] == "cancelled" else None

    cancelled = await until(clawed_back)
    assert "before this milestone" in cancelled["reason"]
    world.set_clock(TODAY + timedelta(days=91))

    async def due() -> dict | None:
        second = (await bonuses_of(world, kept))[1]
        return second if second["status"] == "pending_approval" else None

    assert (await until(due))["amount"] == "1000.00"
    assert (await bonuses_of(world, left))[1]["status"] == "cancelled"


async def test_a_candidate_is_erased_on_request_and_a_rejected_one_after_the_retention(world: Programme) -> None:
    _, asked, asked_email = await referred(world)
    _, rejected, rejected_email = await referred(world)
    async with httpx.AsyncClient(base_url=world.referrals, headers=world.auth("referrals:admin")) as http:
        erased = await http.request("DELETE", "/candidates", params={"email": asked_email})
    assert erased.status_code == 200 and erased.json()["referrals"] == 1
    assert "candidate_email" not in await world.referral(asked)

    payload = {"application_id": f"ATS-{uuid.uuid4().hex[:8]}", "candidate_email": rejected_email, "status": "rejected",
               "changed_at": TODAY.isoformat()}
    assert (await world.webhook("ats", payload)).status_code == 202
    await until(lambda: _status(world, rejected, "rejected"))
    world.set_clock(TODAY + timedelta(days=181))

    async def deleted() -> dict | None:
        referral = await world.referral(rejected)
        return referral if referral["personal_data_deleted"] else None

    referral = await until(deleted)
    assert "candidate_email" not in referral and "candidate_name" not in referral and referral["status"] == "rejected"


async def _status(world: Programme, referral_id: str, status: str) -> bool | None:
    return True if (await world.referral(referral_id))["status"] == status else None


async def test_a_rescinded_departure_gives_the_milestone_back(world: Programme) -> None:
    _, referral_id, email = await referred(world)
    employee_id = f"E-{uuid.uuid4().hex[:8]}"
    await hire(world, email, employee_id)
    await bonuses_of(world, referral_id)
    departure = {"employee_id": employee_id, "first_name": "Hugo", "last_name": "Lambert", "work_email": f"{employee_id}@acme.example",
                 "hire_date": TODAY.date().isoformat(), "departure_date": (TODAY + timedelta(days=30)).date().isoformat(),
                 "departure_reason": "resignation"}
    await produce(world.bootstrap, "hris.employee.departed",
                  [(employee_id.encode(), json.dumps(departure).encode(), cloudevent_headers("com.alumni.employee.departed.v1"))])

    async def second_is(status: str):
        async def probe() -> dict | None:
            second = (await bonuses_of(world, referral_id))[1]
            return second if second["status"] == status else None
        return await until(probe)

    await second_is("cancelled")
    cancellation = {"employee_id": employee_id, "reason": "resignation rescinded"}
    await produce(world.bootstrap, "hris.employee.departure-cancelled",
                  [(employee_id.encode(), json.dumps(cancellation).encode(), cloudevent_headers("com.alumni.employee.departure-cancelled.v1"))])
    assert (await second_is("scheduled"))["reason"] is None
    world.set_clock(TODAY + timedelta(days=91))
    await second_is("pending_approval")
