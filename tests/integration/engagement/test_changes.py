"""After publishing, on the real stack: a new time tells those going with the same UID and a
higher SEQUENCE, reminders go EVENT_REMINDER_HOURS before the start when the clock gets there,
check-ins give the no-shows, a cancellation tells those going or maybe, and an erased alumnus's
answers and check-ins are deleted and never come back through a late event."""

import asyncio
from datetime import timedelta

import httpx
import pytest

from shared.events.alumni import AlumnusRegistered
from tests.integration.engagement.conftest import Engagement, calendar_of, text_of
from tests.integration.kafka_io import produce

pytestmark = pytest.mark.integration


async def answer(world: Engagement, event_id: str, alumnus_id: str, response: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as http:
        return await http.put(f"{world.url()}/events/{event_id}/rsvp", json={"response": response}, headers=world.as_alumnus(alumnus_id))


async def test_a_new_time_then_reminders_check_ins_and_cancellation(world: Engagement) -> None:
    going, maybe, declined = alumni = await world.many_alumni(3, department="Changes")
    await world.known_to_engagement(alumni)
    event_id = await world.hosted_event(title="Webinaire data", kind="webinar", audience={"departments": ["changes"]})
    for alumnus, response in ((going, "yes"), (maybe, "maybe"), (declined, "no")):
        assert (await answer(world, event_id, alumnus.alumnus_id, response)).status_code == 200

    later = world.now() + timedelta(days=12)
    async with httpx.AsyncClient(timeout=30) as http:
        changed = await http.patch(f"{world.url()}/events/{event_id}", headers=world.auth("events:write"),
                                   json={"starts_at": later.isoformat(), "ends_at": (later + timedelta(hours=1)).isoformat(), "location": "Paris"})
    assert changed.status_code == 200 and changed.json()["sequence"] == 1
    [update] = await world.mail_to(going.address, subject="Modifié")
    entry = calendar_of(update)
    assert str(entry["UID"]).startswith(f"{event_id}@") and int(entry["SEQUENCE"]) == 1 and str(entry["LOCATION"]) == "Paris"
    assert abs((entry.decoded("DTSTART") - later).total_seconds()) < 1 and str(entry["DTSTART"].params["TZID"]) == "Europe/Paris"
    for other in (maybe, declined):
        assert await world.mail_to(other.address, subject="Modifié", timeout=1) == []

    world.set_clock(later - timedelta(hours=25))
    assert await world.mail_to(going.address, subject="Rappel", timeout=2) == []
    world.set_clock(later - timedelta(hours=23))
    [reminder] = await world.mail_to(going.address, subject="Rappel", settle=2.0)
    assert "Paris" in text_of(reminder) and int(calendar_of(reminder)["SEQUENCE"]) == 1
    assert await world.mail_to(maybe.address, subject="Rappel", timeout=1) == []

    async with httpx.AsyncClient(timeout=30) as http:
        checked = await http.post(f"{world.url()}/events/{event_id}/check-ins", json={"alumnus_ids": [maybe.alumnus_id]}, headers=world.auth("events:write"))
        assert checked.status_code == 200 and checked.json()["recorded"] == [maybe.alumnus_id]
        attendees = await world.attendees(event_id)
        assert attendees["checked_in"] == [maybe.alumnus_id] and attendees["no_shows"] == [going.alumnus_id]
        cancelled = await http.post(f"{world.url()}/events/{event_id}/cancel", json={"reason": "La salle est fermée."}, headers=world.auth("events:write"))
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert (await answer(world, event_id, declined.alumnus_id, "yes")).status_code == 409
    for told in (going, maybe):
        [cancellation] = await world.mail_to(told.address, subject="annulé")
        assert "Webinaire data" in cancellation["Subject"] and "La salle est fermée." in text_of(cancellation)
        [part] = [p for p in cancellation.iter_attachments() if p.get_content_type() == "text/calendar"]
        assert part.get_param("method") == "CANCEL"
        entry = calendar_of(cancellation)
        assert str(entry["UID"]).startswith(f"{event_id}@") and int(entry["SEQUENCE"]) == 2 and str(entry["STATUS"]) == "CANCELLED"
    assert await world.mail_to(declined.address, subject="annulé", timeout=1) == []


async def test_an_erased_alumnus_s_answers_and_check_ins_go_and_never_come_back(world: Engagement) -> None:
    erased, waiting = alumni = await world.many_alumni(2, department="Erasure")
    await world.known_to_engagement(alumni)
    event_id = await world.hosted_event(audience={"departments": ["erasure"]}, capacity=1)
    assert (await answer(world, event_id, erased.alumnus_id, "yes")).json() == {"status": "going"}
    assert (await answer(world, event_id, waiting.alumnus_id, "yes")).json() == {"status": "waitlisted", "waitlist_position": 1}
    async with httpx.AsyncClient(timeout=30) as http:
        await http.post(f"{world.url()}/events/{event_id}/check-ins", json={"alumnus_ids": [erased.alumnus_id]}, headers=world.auth("events:write"))
        assert (await http.delete(f"{world.url('identity')}/alumni/{erased.alumnus_id}", headers=world.auth("alumni:admin"))).status_code == 200

    async def gone() -> dict:
        for _ in range(150):
            attendees = await world.attendees(event_id)
            if erased.alumnus_id not in attendees["going"] + attendees["checked_in"]:
                return attendees
            await asyncio.sleep(0.2)
        raise AssertionError("the erased alumnus's answer or check-in is still there")

    attendees = await gone()
    assert attendees["going"] == [waiting.alumnus_id] and attendees["checked_in"] == []
    # A late registration (identity's record, replayed under a new id) brings nobody back.
    [registered] = await world.records("alumni.alumnus.registered", erased.alumnus_id)
    late = [(k, v.encode()) for k, v in registered.headers.items() if k != "ce_id"] + [("ce_id", b"late-replay-" + erased.alumnus_id.encode())]
    await produce(world.bootstrap, "alumni.alumnus.registered", [(registered.key, registered.value, late)])
    await asyncio.sleep(2)
    assert (await answer(world, event_id, erased.alumnus_id, "yes")).status_code == 403
    assert AlumnusRegistered.model_validate(registered.json()).alumnus_id == erased.alumnus_id


async def test_a_malformed_identity_event_is_a_dead_letter_of_engagement_s_and_stops_nothing(world: Engagement) -> None:
    headers = [("ce_specversion", b"1.0"), ("ce_id", b"malformed-for-engagement"), ("ce_source", b"/tests"),
               ("ce_type", b"com.alumni.alumnus.registered.v1"), ("ce_time", b"2026-12-01T09:00:00Z"), ("content-type", b"application/json")]
    await produce(world.bootstrap, "alumni.alumnus.registered", [(b"alm_malformed", b'{"alumnus_id": "alm_malformed", "version": "x"}', headers)])
    # notifications reads the topic too and dead-letters it for its own group: engagement's is the one looked for.
    letters = await world.records("alumni.alumnus.registered.dlq", "alm_malformed", count=2, timeout=60, settle=1.0)
    [letter] = [r for r in letters if r.headers.get("dlq_group") == "engagement.alumni.alumnus.registered"]
    assert letter.headers["dlq_error_class"] and "version" in letter.headers["dlq_error_message"]
    later = await world.alumnus(department="AfterPoison")
    await world.known_to_engagement([later])  # the partition goes on
