"""Hosted events through the HTTP API, in memory: validation naming the field, hostile requests,
publishing once with invitations in chunks, answers with capacity, waitlist and promotion, the
one-click links, changes, cancellation, check-ins, reminders and erasure. The same flows on the
real broker, database and SMTP server: tests/integration/engagement."""

import copy
from dataclasses import replace
from datetime import timedelta

import pytest

from shared.events.engagement import (
    AttendanceRecorded, EventCancelled, EventHosted, EventInvitationsIssued, EventReminderDue, EventUpdated, RsvpConfirmed, RsvpRecorded,
    WaitlistPromoted,
)
from shared.links import RsvpLinks
from shared.web.auth import TokenVerifier
from tests.unit.engagement.events import erased, registered
from tests.unit.engagement.fakes import NOW, RSVP_LINKS, Engagement

STARTS = NOW + timedelta(days=10)


def draft(**fields) -> dict:
    return {
        "title": "Afterwork des anciens", "kind": "meetup", "starts_at": STARTS.isoformat(), "ends_at": (STARTS + timedelta(hours=2)).isoformat(),
        "timezone": "Europe/Paris", "location": "Lyon", "locale": "fr",
    } | fields


async def hosted(service: Engagement, **fields) -> str:
    async with service.api("events:write") as api:
        created = await api.post("/events", json=draft(**fields))
        assert created.status_code == 201, created.text
        assert created.json()["status"] == "draft"
        event_id = created.json()["event_id"]
        assert (await api.post(f"/events/{event_id}/publish")).status_code == 200
    await service.tick()
    return event_id


async def rsvp(service: Engagement, event_id: str, alumnus_id: str, response: str):
    async with service.api(alumnus=alumnus_id) as api:
        return await api.put(f"/events/{event_id}/rsvp", json={"response": response})


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"ends_at": (STARTS - timedelta(hours=1)).isoformat()}, "ends_at"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": "../../etc/passwd"}, "timezone"),
        ({"starts_at": (NOW - timedelta(hours=1)).isoformat(), "ends_at": NOW.isoformat()}, "starts_at"),
        ({"title": "x" * 501}, "title"),
        ({"capacity": 0}, "capacity"),
        ({"audience": {"countries": ["XX"]}}, "audience.countries.0"),
        ({"audience": {"departments": ["d"] * 101}}, "audience.departments"),
        ({"unknown": 1}, "unknown"),
    ],
    ids=["end before start", "unknown zone", "a path as a zone", "start in the past", "long title", "no seat", "no such country",
         "too many departments", "unknown field"],
)
async def test_a_draft_that_breaks_a_rule_is_422_naming_the_field_and_nothing_is_kept(fields: dict, field: str) -> None:
    service = Engagement()
    async with service.api("events:write") as api:
        response = await api.post("/events", json=draft(**fields))
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["detail"]["errors"]]
    assert service.store.events == {}


async def test_hostile_requests_get_a_4xx_and_change_nothing() -> None:
    service = Engagement()
    async with service.api("events:write") as api:
        assert (await api.post("/events", content=b"{not json", headers={"Content-Type": "application/json"})).status_code == 422
        assert (await api.post("/events", content=b"[" + b'"x",' * 40000 + b'"x"]', headers={"Content-Type": "application/json"})).status_code == 413
        assert (await api.post("/events", json=[1, 2])).status_code == 422
    forged = TokenVerifier("another-secret-of-at-least-32-characters").issue("pm", ["events:admin"])
    async with service.api("events:write") as api:
        assert (await api.post("/events", json=draft(), headers={"Authorization": f"Bearer {forged}"})).status_code == 401
    async with service.api("events:read") as api:
        assert (await api.post("/events", json=draft())).status_code == 403
    async with service.api(alumnus="alm_1") as api:
        assert (await api.post("/events", json=draft())).status_code == 403
    assert service.store.events == {}


async def test_publishing_announces_once_and_invites_each_matching_alumnus_once_in_chunks() -> None:
    service = Engagement(chunk_size=2)
    for i in range(5):
        await service.receive(registered(f"alm_fr_{i}", country="FR", department="Finance"))
    await service.receive(registered("alm_no_consent", country="FR", events=False))
    await service.receive(registered("alm_de", country="DE"))
    await service.receive(registered("alm_erased", country="FR"))
    await service.receive(erased("alm_erased"))

    event_id = await hosted(service, audience={"countries": ["FR"]})
    async with service.api("events:write") as api:
        assert (await api.post(f"/events/{event_id}/publish")).status_code == 200  # again
    await service.tick()
    await service.tick()

    assert len(service.published(EventHosted)) == 1
    chunks = service.published(EventInvitationsIssued)
    assert [c.chunk for c in chunks] == [0, 1, 2] and all(len(c.alumnus_ids) <= 2 for c in chunks)
    assert sorted(a for c in chunks for a in c.alumnus_ids) == [f"alm_fr_{i}" for i in range(5)]
    assert chunks[0].hosted_event.timezone == "Europe/Paris" and chunks[0].hosted_event.sequence == 0


async def test_capacity_waitlist_and_promotion() -> None:
    service = Engagement()
    for name in ("a", "b", "c", "d"):
        await service.receive(registered(name))
    event_id = await hosted(service, capacity=2)
    statuses = [(await rsvp(service, event_id, name, "yes")).json() for name in ("a", "b", "c", "d")]
    assert statuses == [{"status": "going"}, {"status": "going"}, {"status": "waitlisted", "waitlist_position": 1},
                        {"status": "waitlisted", "waitlist_position": 2}]
    assert (await rsvp(service, event_id, "c", "yes")).json() == {"status": "waitlisted", "waitlist_position": 1}  # again: unchanged
    assert len(service.published(RsvpConfirmed)) == 4

    assert (await rsvp(service, event_id, "a", "no")).json() == {"status": "declined"}
    [promoted] = service.published(WaitlistPromoted)
    assert promoted.alumnus_id == "c"
    async with service.api("events:read") as api:
        attendees = (await api.get(f"/events/{event_id}/attendees")).json()
    assert attendees["going"] == ["b", "c"] and attendees["waitlisted"] == ["d"] and attendees["declined"] == ["a"]
    assert attendees["counts"]["going"] == 2 and service.store.events[event_id]["event"].seats_taken == 2
    assert [r.response for r in service.published(RsvpRecorded)] == ["yes", "yes", "yes", "yes", "no"]


async def test_an_alumnus_outside_the_audience_is_403_and_a_cancelled_or_started_event_is_409() -> None:
    service = Engagement()
    await service.receive(registered("alm_fr", country="FR"))
    await service.receive(registered("alm_de", country="DE"))
    event_id = await hosted(service, audience={"countries": ["FR"]})
    assert (await rsvp(service, event_id, "alm_de", "yes")).status_code == 403
    assert (await rsvp(service, event_id, "alm_unknown", "yes")).status_code == 403
    assert (await rsvp(service, "evt_nope", "alm_fr", "yes")).status_code == 404
    assert (await rsvp(service, event_id, "alm_fr", "perhaps")).status_code == 422
    async with service.api("events:read") as api:
        assert (await api.put(f"/events/{event_id}/rsvp", json={"response": "yes"})).status_code == 403  # not an alumnus's token
    service.now = STARTS
    assert (await rsvp(service, event_id, "alm_fr", "yes")).status_code == 409
    service.now = STARTS - timedelta(days=1)
    async with service.api("events:write") as api:
        assert (await api.post(f"/events/{event_id}/cancel", json={"reason": "The venue is closed."})).status_code == 200
    assert (await rsvp(service, event_id, "alm_fr", "yes")).status_code == 409
    [cancelled] = service.published(EventCancelled)
    assert cancelled.hosted_event.sequence == 1 and cancelled.reason == "The venue is closed."


async def test_an_alumnus_lists_the_events_open_to_them_and_staff_all() -> None:
    service = Engagement()
    await service.receive(registered("alm_fr", country="FR"))
    fr = await hosted(service, audience={"countries": ["FR"]})
    de = await hosted(service, audience={"countries": ["DE"]})
    async with service.api("events:write") as api:
        draft_id = (await api.post("/events", json=draft())).json()["event_id"]
    async with service.api(alumnus="alm_fr") as api:
        assert [e["event_id"] for e in (await api.get("/events", params={"upcoming": "true"})).json()["items"]] == [fr]
        assert (await api.get(f"/events/{fr}")).status_code == 200
        assert (await api.get(f"/events/{de}")).status_code == 404 and (await api.get(f"/events/{draft_id}")).status_code == 404
    async with service.api("events:read") as api:
        assert (await api.get(f"/events/{draft_id}")).json()["status"] == "draft"
    async with service.api("events:read") as api:
        assert len((await api.get("/events")).json()["items"]) == 3


async def test_one_click_links_confirm_on_get_record_on_post_and_refuse_forged_or_expired() -> None:
    service = Engagement()
    await service.receive(registered("alm_1", locale="fr"))
    event_id = await hosted(service)
    token = RSVP_LINKS.token(event_id, "alm_1", "yes", STARTS)
    async with service.api() as api:
        page = await api.get(f"/rsvp/{token}")
        assert page.status_code == 200 and "Confirmer ma réponse : oui" in page.text
        assert service.store.answers == {}  # a mail scanner opening the link answers nothing
        done = await api.post(f"/rsvp/{token}")
        assert done.status_code == 200 and "votre place est réservée" in done.text
        assert (await api.post(f"/rsvp/{token}")).status_code == 200 and len(service.published(RsvpConfirmed)) == 1  # replayed
        forged = RsvpLinks("someone-else-s-secret-of-32-characters").token(event_id, "alm_1", "yes", STARTS)
        for bad in (forged, "x" * 600, "not.a.token", token[:-2]):
            assert (await api.get(f"/rsvp/{bad}")).status_code == 404
            assert (await api.post(f"/rsvp/{bad}")).status_code == 404
        service.now = STARTS
        assert (await api.post(f"/rsvp/{token}")).status_code == 410


async def test_a_new_time_tells_those_going_with_a_higher_sequence_and_reminders_go_before_the_start() -> None:
    service = Engagement()
    for name in ("a", "b", "c"):
        await service.receive(registered(name))
    event_id = await hosted(service, capacity=2)
    for name in ("a", "b", "c"):
        await rsvp(service, event_id, name, "yes")
    later = STARTS + timedelta(days=1)
    async with service.api("events:write") as api:
        changed = await api.patch(f"/events/{event_id}", json={"starts_at": later.isoformat(), "ends_at": (later + timedelta(hours=2)).isoformat()})
        assert changed.status_code == 200 and changed.json()["sequence"] == 1
        assert (await api.patch(f"/events/{event_id}", json={"title": "Afterwork"})).json()["sequence"] == 1  # not time nor place
        assert (await api.patch(f"/events/{event_id}", json={"ends_at": (later - timedelta(hours=1)).isoformat()})).status_code == 422
    await service.tick()
    [update] = service.published(EventUpdated)
    assert update.alumnus_ids == ["a", "b"] and update.hosted_event.sequence == 1 and update.changed == ["starts_at", "ends_at"]

    service.now = later - timedelta(hours=25)
    await service.tick()
    assert service.published(EventReminderDue) == []
    service.now = later - timedelta(hours=23)
    await service.tick()
    await service.tick()
    [reminder] = service.published(EventReminderDue)
    assert reminder.alumnus_ids == ["a", "b"]


async def test_check_ins_and_no_shows() -> None:
    service = Engagement()
    for name in ("a", "b"):
        await service.receive(registered(name))
    event_id = await hosted(service)
    for name in ("a", "b"):
        await rsvp(service, event_id, name, "yes")
    async with service.api("events:write") as api:
        recorded = await api.post(f"/events/{event_id}/check-ins", json={"alumnus_ids": ["a", "a", "ghost"]})
        assert recorded.json() == {"recorded": ["a"], "not_recorded": ["ghost"]}
        assert (await api.post(f"/events/{event_id}/check-ins", json={"alumnus_ids": ["a"]})).json()["recorded"] == []
        assert (await api.post(f"/events/{event_id}/check-ins", json={"alumnus_ids": ["x"] * 1001})).status_code == 422
        attendees = (await api.get(f"/events/{event_id}/attendees")).json()
    assert attendees["checked_in"] == ["a"] and attendees["no_shows"] == ["b"]
    assert [e.alumnus_ids for e in service.published(AttendanceRecorded)] == [["a"]]


async def test_erasure_deletes_answers_and_check_ins_gives_the_seat_on_and_nothing_brings_them_back() -> None:
    service = Engagement()
    for name in ("a", "b"):
        await service.receive(registered(name))
    event_id = await hosted(service, capacity=1)
    await rsvp(service, event_id, "a", "yes")
    await rsvp(service, event_id, "b", "yes")
    async with service.api("events:write") as api:
        await api.post(f"/events/{event_id}/check-ins", json={"alumnus_ids": ["a"]})
    await service.receive(erased("a"))
    assert [k for k in service.store.answers if k[1] == "a"] == [] and service.store.check_ins == {}
    assert [p.alumnus_id for p in service.published(WaitlistPromoted)] == ["b"]
    await service.receive(registered("a", version=30))
    assert (await rsvp(service, event_id, "a", "yes")).status_code == 403
    async with service.api("events:write") as api:
        assert (await api.post(f"/events/{event_id}/check-ins", json={"alumnus_ids": ["a"]})).json()["not_recorded"] == ["a"]


async def test_a_link_signed_before_a_rotation_still_answers_and_names_its_key() -> None:
    old, new = "engagement-unit-test-rsvp-link-secret", "a-newer-rsvp-link-secret-of-32-characters"
    service = Engagement()
    service.deps = replace(service.deps, rsvp_links=RsvpLinks(new, [old]))
    await service.receive(registered("alm_1"))
    event_id = await hosted(service)
    before = RsvpLinks(old).token(event_id, "alm_1", "maybe", STARTS)
    assert RsvpLinks(old).signer.kid != RsvpLinks(new).signer.kid
    async with service.api() as api:
        assert (await api.post(f"/rsvp/{before}")).status_code == 200
    assert service.store.answers[(event_id, "alm_1")].status == "maybe"
    service.deps = replace(service.deps, rsvp_links=RsvpLinks(new))
    async with service.api() as api:  # once the old secret is dropped, its links are refused
        assert (await api.post(f"/rsvp/{before}")).status_code == 404


async def test_a_chunk_read_by_two_instances_is_told_once() -> None:
    from services.engagement.scheduler import tell_next_chunk

    service = Engagement(chunk_size=2)
    for i in range(3):
        await service.receive(registered(f"alm_{i}"))
    async with service.api("events:write") as api:
        event_id = (await api.post("/events", json=draft())).json()["event_id"]
        await api.post(f"/events/{event_id}/publish")
    [mailing_id] = list(service.store.mailings)
    stale = copy.deepcopy(service.store.mailings[mailing_id])  # what the second instance read

    class SecondInstance(type(service.deps.mailings)):
        async def get(self, mailing_id: str):
            return copy.deepcopy(stale)

    second = replace(service.deps, mailings=SecondInstance(service.store))
    assert (await service.transactions.run(lambda uow: tell_next_chunk(uow, service.deps, mailing_id))).more
    assert not (await service.transactions.run(lambda uow: tell_next_chunk(uow, second, mailing_id))).more  # its chunk is taken
    await service.tick()
    chunks = service.published(EventInvitationsIssued)
    assert [c.alumnus_ids for c in chunks] == [["alm_0", "alm_1"], ["alm_2"]]
