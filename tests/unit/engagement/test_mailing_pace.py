"""The scheduler's pace: mailings take turns, a chunk each, and the alumni told per second stay
within EVENT_NOTICES_PER_SECOND (time is a fake clock that the waits move on)."""

from dataclasses import replace

from services.engagement.scheduler import run_mailings
from shared.events.engagement import EventInvitationsIssued
from tests.unit.engagement.events import registered
from tests.unit.engagement.fakes import Engagement
from tests.unit.engagement.test_events_api import draft


class Clock:
    def __init__(self) -> None:
        self.now, self.waits = 0.0, []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(round(seconds, 6))
        self.now += seconds


async def publish(service: Engagement, title: str) -> str:
    async with service.api("events:write") as api:
        event_id = (await api.post("/events", json=draft(title=title))).json()["event_id"]
        assert (await api.post(f"/events/{event_id}/publish")).status_code == 200
    return event_id


async def test_mailings_take_turns_within_the_rate() -> None:
    service = Engagement(chunk_size=2)
    for i in range(5):
        await service.receive(registered(f"alm_{i}"))
    big, small = await publish(service, "Big"), await publish(service, "Small")
    deps, clock = replace(service.deps, notices_per_second=4.0), Clock()

    chunks = await run_mailings(service.transactions, deps, sleep=clock.sleep, clock=clock)

    told = [(c.event_id, len(c.alumnus_ids)) for c in service.published(EventInvitationsIssued)]
    assert chunks == 6
    # A chunk of each in turn: the second event is not held back until the first is told.
    assert [e for e, _ in told][:2] in ([big, small], [small, big])
    assert sum(n for e, n in told if e == big) == 5 and sum(n for e, n in told if e == small) == 5
    # 10 alumni at 4 a second: each look for a next chunk waits until those told before it had
    # their share of time, the last one (which finds the mailings done) 10 / 4 seconds in.
    assert clock.now == 2.5
    assert all(w >= 0 for w in clock.waits)


async def test_no_limit_never_waits() -> None:
    service = Engagement(chunk_size=2)
    for i in range(3):
        await service.receive(registered(f"alm_{i}"))
    await publish(service, "Any")
    clock = Clock()
    assert await run_mailings(service.transactions, service.deps, sleep=clock.sleep, clock=clock) == 2
    assert clock.waits == [] and clock.now == 0.0


async def test_a_mailing_published_during_a_round_joins_at_the_next_turn() -> None:
    service = Engagement(chunk_size=2)
    for i in range(6):
        await service.receive(registered(f"alm_{i}"))
    big = await publish(service, "Big")
    deps, clock, late = replace(service.deps, notices_per_second=4.0), Clock(), []

    async def sleep(seconds: float) -> None:
        await clock.sleep(seconds)
        if len(clock.waits) == 2:  # while the big one is being told
            late.append(await publish(service, "Late"))

    await run_mailings(service.transactions, deps, sleep=sleep, clock=clock)

    told = [c.event_id for c in service.published(EventInvitationsIssued)]
    assert told.count(late[0]) >= 3 and told.index(late[0]) < len(told) - told[::-1].index(big) - 1  # before the big one ends


async def test_a_slow_chunk_is_not_made_up_for_by_a_burst() -> None:
    service = Engagement(chunk_size=2)
    for i in range(8):
        await service.receive(registered(f"alm_{i}"))
    await publish(service, "Any")
    deps, clock = replace(service.deps, notices_per_second=4.0), Clock()

    async def sleep(seconds: float) -> None:
        await clock.sleep(seconds)
        if len(clock.waits) == 2:
            clock.now += 10.0  # the chunk told next takes ten seconds

    await run_mailings(service.transactions, deps, sleep=sleep, clock=clock)

    # At 4 a second the chunks after the slow one are still spaced (a catch-up would not wait
    # at all: ten seconds behind is 40 alumni, more than are left).
    assert sum(clock.waits[2:]) >= 0.75 and all(w <= 0.5 for w in clock.waits)
