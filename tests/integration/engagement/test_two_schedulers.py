"""Two instances of engagement, as two replicas in a cluster (one consumer group, one database,
two schedulers racing on the same mailings): an event's invitations and its reminders are told
once per chunk and reach each alumnus exactly once, on the real stack with the clock moved."""

import asyncio
from collections import Counter
from datetime import timedelta

import httpx
import pytest

from devstack.process import free_port
from devstack.services import ServiceProcess
from tests.integration.engagement.conftest import Engagement

pytestmark = pytest.mark.integration
ALUMNI = 20  # chunks of 3: seven reminder chunks, and at least seven invitation chunks


async def test_two_schedulers_tell_each_chunk_once_and_each_alumnus_once(world: Engagement, figures) -> None:
    first = world.stack.services["engagement"]
    second = ServiceProcess(world.stack.cfg, "engagement", free_port(),
                            {k: v for k, v in (first.process.env or {}).items() if k != "HTTP_PORT"}, instance="b")
    second.start()
    try:
        await second.wait_ready(timeout=90)
        await _scenario(world, second, figures)
    finally:
        second.stop()


async def _scenario(world: Engagement, second: ServiceProcess, figures) -> None:
    alumni = await world.many_alumni(ALUMNI, department="Replicas")
    await world.known_to_engagement(alumni)
    # Notifications too: an invitation naming an alumnus its projection has not seen yet is not
    # sent (a known gap of its own); this test is about the two schedulers.
    await world.known_to_notifications(alumni)
    # Published through the first instance; the second's scheduler races it from its next round.
    starts = world.now() + timedelta(days=10)
    event_id = await world.hosted_event(audience={"departments": ["replicas"]}, starts_in=timedelta(days=10))
    # At least seven chunks of at most three; more when a range of the id space held fewer.
    chunks = await world.records("alumni.event.invitations-issued", event_id, count=7, settle=3.0)
    told = Counter(a for c in chunks for a in c.json()["alumnus_ids"])
    numbers = [c.json()["chunk"] for c in chunks]
    assert len(set(numbers)) == len(numbers) and all(len(c.json()["alumnus_ids"]) <= 3 for c in chunks), "a chunk told twice"
    assert told == Counter({a.alumnus_id: 1 for a in alumni}), "an alumnus invited twice, or never"

    async with httpx.AsyncClient(timeout=30) as http:
        for n, alumnus in enumerate(alumni):
            url = second.url if n % 2 else world.url()  # answers reach either instance
            answered = await http.put(f"{url}/events/{event_id}/rsvp", json={"response": "yes"}, headers=world.as_alumnus(alumnus.alumnus_id))
            assert answered.status_code == 200, answered.text

    world.set_clock(starts - timedelta(hours=23))
    reminders = await world.records("alumni.event.reminder-due", event_id, count=7, settle=3.0)
    reminded = Counter(a for r in reminders for a in r.json()["alumnus_ids"])
    assert len(reminders) == 7 and reminded == Counter({a.alumnus_id: 1 for a in alumni}), "a reminder chunk told twice"
    for alumnus in alumni:
        await world.mail_to(alumnus.address, subject="Rappel")
    await asyncio.sleep(2)  # a late double would arrive now
    for alumnus in alumni:
        subjects = Counter("invitation" if "Vous êtes invité" in str(m["Subject"]) else "reminder" if "Rappel" in str(m["Subject"]) else "other"
                           for m in world.mailbox.to(alumnus.address))
        assert (subjects["invitation"], subjects["reminder"]) == (1, 1), f"one alumnus got {dict(subjects)}"
    figures(f"two engagement schedulers: {len(chunks)} invitation chunks and {len(reminders)} reminder chunks told once each; "
            f"{len(alumni)} alumni, one invitation and one reminder each")
