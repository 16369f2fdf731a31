"""Publishing a hosted event on the real stack: the audience engagement decides (consent,
country, department, departure year, skills, erased) invited once each, in chunks, even when
publish is called twice or the events are replayed; the invitation carries a calendar file and
one-click links; hostile requests are refused and change nothing."""

from datetime import date, timedelta

import httpx
import pytest

from tests.integration.engagement.conftest import Engagement, calendar_of, rsvp_link, text_of
from tests.integration.kafka_io import produce

pytestmark = pytest.mark.integration
INVITED = "Vous êtes invité"


async def test_invitations_go_once_to_each_alumnus_of_the_audience_and_to_nobody_else(world: Engagement) -> None:
    matching = [await world.alumnus() for _ in range(4)]  # 4 with chunks of 3: two invitation events
    others = [
        await world.alumnus(country="DE"), await world.alumnus(department="Sales"), await world.alumnus(left=date(2023, 1, 31)),
        await world.alumnus(skills=("Go",)), await world.alumnus(events=False),
    ]
    erased = await world.alumnus()
    async with httpx.AsyncClient(timeout=30) as http:
        assert (await http.delete(f"{world.url('identity')}/alumni/{erased.alumnus_id}", headers=world.auth("alumni:admin"))).status_code == 200
    await world.known_to_engagement(matching + others + [erased])

    audience = {"countries": ["FR"], "departments": ["finance"], "departure_years": [2025], "skills": ["sql"]}
    event_id = await world.hosted_event(title="Rencontre Finance", audience=audience)
    async with httpx.AsyncClient(timeout=30) as http:  # publish again: nothing new
        again = await http.post(f"{world.url()}/events/{event_id}/publish", headers=world.auth("events:write"))
    assert again.status_code == 200 and again.json()["status"] == "published"

    chunks = await world.records("alumni.event.invitations-issued", event_id, count=2, settle=2.0)
    assert sorted(a for c in chunks for a in c.json()["alumnus_ids"]) == sorted(a.alumnus_id for a in matching)
    [hosted] = await world.records("alumni.event.hosted", event_id)
    # Replayed records (the same ce_id, as `./alumni dlq replay` sends them) change nothing.
    await produce(world.bootstrap, "alumni.event.hosted", [(hosted.key, hosted.value, [(k, v.encode()) for k, v in hosted.headers.items()])])
    await produce(world.bootstrap, "alumni.event.invitations-issued", [(c.key, c.value, [(k, v.encode()) for k, v in c.headers.items()]) for c in chunks])

    for alumnus in matching:
        [invitation] = await world.mail_to(alumnus.address, subject=INVITED, settle=3.0)
        assert "Rencontre Finance" in invitation["Subject"] and " h " in text_of(invitation) and "(Europe/Paris)" in text_of(invitation)
        entry = calendar_of(invitation)
        assert str(entry["UID"]).startswith(f"{event_id}@") and int(entry["SEQUENCE"]) == 0
        assert entry.decoded("DTSTART").tzinfo is not None and str(entry["DTSTART"].params["TZID"]) == "Europe/Paris"
        assert rsvp_link(invitation, "yes").startswith(f"{world.url()}/rsvp/")
        assert invitation["List-Unsubscribe"]  # consent-gated
    for alumnus in others + [erased]:
        assert await world.mail_to(alumnus.address, subject=INVITED, timeout=1) == []
    # Engagement issued no more invitations than the two chunks (the other two records are the replays).
    issued = await world.records("alumni.event.invitations-issued", event_id, count=4, settle=1.0)
    assert len(issued) == 4 and len({r.headers["ce_id"] for r in issued}) == 2


async def test_hostile_requests_are_refused_and_change_nothing(world: Engagement) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        url = f"{world.url()}/events"
        before = (await http.get(url, headers=world.auth("events:read"))).json()["items"]
        starts = world.now() + timedelta(days=3)
        body = {"title": "x", "kind": "meetup", "starts_at": starts.isoformat(), "ends_at": (starts - timedelta(hours=1)).isoformat(),
                "timezone": "Europe/Paris"}
        refused = await http.post(url, json=body, headers=world.auth("events:write"))
        assert refused.status_code == 422 and [e["field"] for e in refused.json()["detail"]["errors"]] == ["ends_at"]
        refused = await http.post(url, json=body | {"ends_at": (starts + timedelta(hours=1)).isoformat(), "timezone": "Europe/Lutece"},
                                  headers=world.auth("events:write"))
        assert refused.status_code == 422 and refused.json()["detail"]["errors"][0]["field"] == "timezone"
        past = world.now() - timedelta(days=1)
        refused = await http.post(url, json=body | {"starts_at": past.isoformat(), "ends_at": (past + timedelta(hours=1)).isoformat()},
                                  headers=world.auth("events:write"))
        assert refused.status_code == 422 and refused.json()["detail"]["errors"][0]["field"] == "starts_at"
        oversized = await http.post(url, content=b'{"title": "' + b"x" * 70000 + b'"}', headers=world.auth("events:write") | {"Content-Type": "application/json"})
        assert oversized.status_code == 413
        malformed = await http.post(url, content=b"{nope", headers=world.auth("events:write") | {"Content-Type": "application/json"})
        assert malformed.status_code == 422
        forged = await http.post(url, json=body, headers={"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.e30.forged"})
        assert forged.status_code == 401
        assert (await http.post(url, json=body, headers=world.auth("events:read"))).status_code == 403
        assert (await http.get(f"{world.url()}/rsvp/forged-token")).status_code == 404
        assert (await http.post(f"{world.url()}/rsvp/{'x' * 3000}")).status_code == 404
        after = (await http.get(url, headers=world.auth("events:read"))).json()["items"]
    assert after == before


async def test_the_demo_hosts_an_event_for_the_alumni_in_france(world: Engagement) -> None:
    from devstack.demo import host_event
    from tests.integration.engagement.conftest import SECRET

    alumnus = await world.alumnus(country="FR")
    await world.known_to_engagement([alumnus])
    result = await host_event(world.stack.cfg, SECRET, timeout=90)
    [invitation] = await world.mail_to(alumnus.address, subject="Afterwork des anciens")
    assert result["invitations sent"] >= 1 and result["event_id"] in str(calendar_of(invitation)["UID"])
