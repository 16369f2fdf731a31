"""A GDPR access export gathers what every service holds, across real processes: identity asks
offboarding, notifications, referrals and engagement for their records with the caller's token,
and says which did not answer. The delivery audit's retention (a TTL index) follows its setting on the real database."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pymongo import AsyncMongoClient

from devstack.stack import LocalStack
from shared.service.mongo import ensure_expiry
from tests.integration.lifecycle.conftest import SECRET, Lifecycle
from tests.integration.mailbox import Mailbox

RETENTION_DAYS = 45


@pytest.fixture(scope="module")
async def with_notifications(lifecycle: Lifecycle) -> AsyncIterator[LocalStack]:
    """Notifications, and the other services identity's export asks (referrals, engagement)."""
    mailbox = Mailbox().start()
    env = {"AUTH_JWT_SECRET": SECRET, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(mailbox.port), "DELIVERY_RETENTION_DAYS": str(RETENTION_DAYS)}
    services = LocalStack(lifecycle.stack.cfg, service_env=env)
    await services.up_services(["notifications", "referrals", "engagement"], log=lambda line: None)
    yield services
    for name in ("notifications", "referrals", "engagement"):
        services.services[name].stop()
    mailbox.stop()


async def export(world: Lifecycle, alumnus_id: str, headers: dict[str, str]) -> dict:
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.get(f"{world.identity}/alumni/{alumnus_id}/export", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def held_by_every_service(world: Lifecycle, alumnus_id: str, headers: dict[str, str], timeout: float = 90) -> dict:
    """The export, once notifications, referrals and engagement have projected the new alumnus
    (started in this module, they first read the registrations of the tests before)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        exported = await export(world, alumnus_id, headers)
        held = exported["services"]
        missing = [n for n, part in (("notifications", "reachable_alumnus"), ("referrals", "referrer"), ("engagement", "known_alumnus"))
                   if not (held.get(n) or {}).get(part)]
        if not missing:
            return exported
        assert asyncio.get_running_loop().time() < deadline, f"{', '.join(missing)} never knew {alumnus_id}"
        await asyncio.sleep(0.2)


async def test_an_export_gathers_what_every_service_holds(world: Lifecycle, with_notifications: LocalStack) -> None:
    notifications = with_notifications.services["notifications"].url
    departure = world.departure(personal_email="camille@home.example", phone="+33687654321")
    employee_id = departure["employee_id"]
    await world.depart(departure)
    alumnus_id = (await world.alumnus_for(employee_id))["alumnus_id"]
    async with httpx.AsyncClient() as http:  # notifications has sent the exit form and the welcome
        deadline = asyncio.get_running_loop().time() + 90
        while True:
            to_leaver = (await http.get(f"{notifications}/deliveries", params={"alumnus_id": employee_id}, headers=world.auth("alumni:read"))).json()
            to_alumnus = (await http.get(f"{notifications}/deliveries", params={"alumnus_id": alumnus_id}, headers=world.auth("alumni:read"))).json()
            if to_leaver["items"] and to_alumnus["items"]:
                break
            assert asyncio.get_running_loop().time() < deadline, "notifications never planned the exit form and the welcome"
            await asyncio.sleep(0.2)

    own_token = {"Authorization": f"Bearer {world.tokens.issue(f'alumnus:{alumnus_id}', ['alumni:self'])}"}
    await held_by_every_service(world, alumnus_id, own_token)
    async with httpx.AsyncClient() as http:  # a referral the alumnus makes, an event they speak at
        referrals, engagement = (with_notifications.services[n].url for n in ("referrals", "engagement"))
        referral = await http.post(f"{referrals}/referrals", headers=own_token, json={
            "kind": "candidate", "candidate_name": "Hugo Lambert", "candidate_email": "hugo@example.org", "candidate_consent": True})
        assert referral.status_code == 201, referral.text
        starts = datetime.now(UTC) + timedelta(days=30)
        talk = await http.post(f"{engagement}/events", headers=world.auth("events:write"), json={
            "title": "Leaving well", "kind": "webinar", "starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=1)).isoformat(),
            "timezone": "Europe/Paris", "speaker_alumni_ids": [alumnus_id]})
        assert talk.status_code == 201, talk.text

    by_hr = await held_by_every_service(world, alumnus_id, world.auth("alumni:admin"))
    assert by_hr["unanswered"] == []
    assert by_hr["alumnus"]["alumnus_id"] == alumnus_id
    [case] = by_hr["services"]["offboarding"]["exit_cases"]
    assert (case["_id"], case["departure"]["phone"], case["departure"]["personal_email"]) == (f"{employee_id}/2019-03-01", "+33687654321", "camille@home.example")
    [link] = by_hr["services"]["offboarding"]["exit_form_links"]
    assert set(link) == {"case_id", "expires_at", "used_at"}  # never the token's digest
    held = by_hr["services"]["notifications"]
    assert held["reachable_alumnus"]["_id"] == alumnus_id
    assert {d["recipient_id"] for d in held["deliveries"]} >= {employee_id, alumnus_id}  # to the leaver, then to the alumnus
    as_referrer = by_hr["services"]["referrals"]
    assert as_referrer["referrer"]["email"] == "camille@home.example"
    assert [(r["referral_id"], r["candidate_email"]) for r in as_referrer["referrals"]] == [(referral.json()["referral_id"], "hugo@example.org")]
    assert as_referrer["hired_through_referrals"] == []  # asked by the employee id too: never hired through a referral
    engaged = by_hr["services"]["engagement"]
    assert engaged["known_alumnus"]["alumnus_id"] == alumnus_id and (engaged["answers"], engaged["check_ins"]) == ([], [])
    assert [e["event_id"] for e in engaged["speaker_at"]] == [talk.json()["event_id"]]

    own = await export(world, alumnus_id, own_token)
    assert own["services"]["notifications"]["reachable_alumnus"]["_id"] == alumnus_id
    assert own["services"]["referrals"]["referrals"] == as_referrer["referrals"]
    assert own["services"]["offboarding"]["exit_cases"] == [] and "alumni:admin" in own["services"]["offboarding"]["note"]

    with_notifications.services["notifications"].stop()
    without = await export(world, alumnus_id, world.auth("alumni:admin"))
    assert [u["service"] for u in without["unanswered"]] == ["notifications"]
    assert without["unanswered"][0]["reason"].startswith("unreachable")
    assert without["services"]["offboarding"]["exit_cases"]


async def test_the_delivery_audit_expires_after_its_retention_period(world: Lifecycle, with_notifications: LocalStack) -> None:
    client = AsyncMongoClient(world.stack.cfg.mongodb_uri)
    deliveries = client["alumni_notifications"].deliveries
    try:
        indexes = await deliveries.index_information()
        [ttl] = [i for i in indexes.values() if i["key"] == [("created_at", 1)]]
        assert ttl["expireAfterSeconds"] == RETENTION_DAYS * 86400
        await ensure_expiry(deliveries, "created_at", 400 * 86400)  # the setting changed at the next start
        [ttl] = [i for i in (await deliveries.index_information()).values() if i["key"] == [("created_at", 1)]]
        assert ttl["expireAfterSeconds"] == 400 * 86400
    finally:
        await client.close()
