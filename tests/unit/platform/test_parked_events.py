"""The consumer's decisions for an event that waits for another: parked (its partition moves on),
checked again with backoff and at once when an event of its aggregate is handled, handled
exactly once when what it waits for is there, dead-lettered with its reason after the bound,
and never handled twice by two processes. The same on the real broker and database is proven
in tests/integration/lifecycle (test_waiting_events.py)."""

import asyncio
import json
from datetime import UTC, datetime, timedelta

from aiokafka import ConsumerRecord

from shared.events.base import Event, Registry, event_type
from shared.messaging.consumer import EventConsumer
from shared.messaging.failures import RetryPolicy
from shared.messaging.recheck import ParkedEvents
from shared.messaging.router import EventRouter
from shared.messaging.uow import EventContext
from shared.testing.fakes import FakeTransactions
from shared.testing.parked import InMemoryParkedStore

TOPIC, OTHER = "test.labels", "test.deliveries"
catalog = Registry(topics={TOPIC, OTHER})


@event_type("com.alumni.test.parcel-labelled.v1", topic=TOPIC, key="parcel_id", catalog=catalog)
class ParcelLabelled(Event):
    parcel_id: str


@event_type("com.alumni.test.parcel-delivered.v1", topic=OTHER, key="parcel_id", catalog=catalog)
class ParcelDelivered(Event):
    parcel_id: str


class LabelNotYetKnown(Exception):
    """A domain error: the delivery's label travels on another topic."""


class Depot:
    def __init__(self) -> None:
        self.labelled: set[str] = set()
        self.delivered: list[str] = []


class DeadLetterBox:
    def __init__(self) -> None:
        self.letters: list[tuple[str, int, str, str, int]] = []

    async def send(self, record: ConsumerRecord, error_class: str, message: str, attempts: int) -> None:
        self.letters.append((record.topic, record.offset, error_class, message, attempts))


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 9, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def move(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def record(model: type[Event], parcel_id: str, *, event_id: str, offset: int = 0) -> ConsumerRecord:
    value = json.dumps({"parcel_id": parcel_id}).encode()
    headers = [("ce_specversion", b"1.0"), ("ce_id", event_id.encode()), ("ce_source", b"/tests"),
               ("ce_type", model.event_type.type.encode()), ("content-type", b"application/json")]
    return ConsumerRecord(model.event_type.topic, 0, offset, 0, 0, parcel_id.encode(), value, None, 3, len(value), headers)


class Rig:
    def __init__(self, *, max_wait: float = 3600, max_parked: int = 100, store: InMemoryParkedStore | None = None, clock: Clock | None = None,
                 depot: Depot | None = None) -> None:
        self.depot = depot or Depot()
        self.transactions = FakeTransactions(state=self.depot)
        self.dead_letters = DeadLetterBox()
        self.store = store or InMemoryParkedStore()
        self.clock = clock or Clock()
        self.gave_up: list[str] = []
        router = EventRouter(waiting=(LabelNotYetKnown,))

        @router.on(ParcelLabelled)
        async def labelled(event: ParcelLabelled, ctx: EventContext) -> None:
            self.depot.labelled.add(event.parcel_id)

        async def give_up(event: ParcelDelivered, ctx: EventContext, gave_up) -> None:
            self.gave_up.append(gave_up.error_class)

        @router.on(ParcelDelivered, on_give_up=give_up)
        async def delivered(event: ParcelDelivered, ctx: EventContext) -> None:
            if event.parcel_id not in self.depot.labelled:
                raise LabelNotYetKnown(f"no label yet for parcel {event.parcel_id}")
            self.depot.delivered.append(event.parcel_id)
            ctx.publish(ParcelLabelled(parcel_id=event.parcel_id + "-receipt"))

        self.consumer = EventConsumer(
            "depot", router, self.transactions, self.dead_letters,  # type: ignore[arg-type]
            policy=RetryPolicy(3, base_delay=0.001, max_delay=0.002), handler_timeout=1.0, stopping=asyncio.Event(),
        )
        self.parked = self.consumer.parking = ParkedEvents(
            self.store, self.consumer, max_wait=max_wait, first_delay=5, max_delay=60, max_parked=max_parked, clock=self.clock
        )

    async def process(self, rec: ConsumerRecord) -> str:
        outcome, _ = await self.consumer.process(rec)
        return outcome


async def test_an_event_waiting_for_another_is_parked_at_once_without_retries() -> None:
    rig = Rig()
    assert await rig.process(record(ParcelDelivered, "p-1", event_id="d-1", offset=4)) == "parked"
    [parked] = rig.store.parked.values()
    assert (parked.topic, parked.offset, parked.aggregate, parked.checks) == (OTHER, 4, "p-1", 0)
    assert parked.reason == "no label yet for parcel p-1"
    assert rig.depot.delivered == [] and rig.transactions.markers == set()  # not processed: no marker
    assert rig.dead_letters.letters == []


async def test_a_redelivered_parked_record_is_parked_once() -> None:
    rig = Rig()
    for _ in range(2):
        assert await rig.process(record(ParcelDelivered, "p-1", event_id="d-1")) == "parked"
    assert len(rig.store.parked) == 1


async def test_a_parked_event_is_checked_with_backoff_until_what_it_waits_for_is_there() -> None:
    rig = Rig()
    await rig.process(record(ParcelDelivered, "p-1", event_id="d-1"))
    assert await rig.parked.check_due() == {}  # not due yet: the first check is 5 s later
    rig.clock.move(5)
    assert await rig.parked.check_due() == {"waiting": 1}
    [parked] = rig.store.parked.values()
    assert (parked.checks, parked.next_check_at - rig.clock.now) == (1, timedelta(seconds=10))
    rig.clock.move(10)
    rig.depot.labelled.add("p-1")  # the label arrived through another process
    assert await rig.parked.check_due() == {"handled": 1}
    assert rig.depot.delivered == ["p-1"] and rig.store.parked == {}
    assert [e.parcel_id for e in rig.transactions.events] == ["p-1-receipt"]
    assert rig.transactions.markers == {"/tests d-1"}  # the marker is written when it is finally handled


async def test_the_event_it_waits_for_releases_it_at_once() -> None:
    rig = Rig()
    await rig.process(record(ParcelDelivered, "p-1", event_id="d-1"))
    await rig.process(record(ParcelDelivered, "p-2", event_id="d-2"))
    assert await rig.process(record(ParcelLabelled, "p-1", event_id="l-1")) == "handled"
    assert await rig.parked.check_due() == {"handled": 1}  # no clock moved: p-1's label woke it
    assert rig.depot.delivered == ["p-1"]
    assert [p.aggregate for p in rig.store.parked.values()] == ["p-2"]


async def test_a_parked_event_handled_meanwhile_by_a_redelivery_is_dropped_as_a_repeat() -> None:
    rig = Rig()
    await rig.process(record(ParcelDelivered, "p-1", event_id="d-1"))
    await rig.process(record(ParcelLabelled, "p-1", event_id="l-1"))
    assert await rig.process(record(ParcelDelivered, "p-1", event_id="d-1")) == "handled"  # the record read again
    assert await rig.parked.check_due() == {"handled": 1}
    assert rig.depot.delivered == ["p-1"] and rig.store.parked == {}  # handled once


async def test_an_event_still_waiting_after_the_bound_is_dead_lettered_with_its_reason() -> None:
    rig = Rig(max_wait=60)
    await rig.process(record(ParcelDelivered, "p-1", event_id="d-1", offset=9))
    outcomes: dict[str, int] = {}
    for _ in range(10):
        rig.clock.move(20)
        for outcome, n in (await rig.parked.check_due()).items():
            outcomes[outcome] = outcomes.get(outcome, 0) + n
    assert outcomes["dead_letter"] == 1 and rig.store.parked == {}
    [(topic, offset, error_class, message, attempts)] = rig.dead_letters.letters
    assert (topic, offset, error_class) == (OTHER, 9, "LabelNotYetKnown")
    assert message.startswith("still waiting after ") and "(at most 60 s): no label yet for parcel p-1" in message
    assert attempts == outcomes["waiting"] + 1
    assert rig.gave_up == ["LabelNotYetKnown"]
    assert rig.depot.delivered == []


async def test_two_processes_never_handle_one_parked_event_twice() -> None:
    store, clock, depot = InMemoryParkedStore(), Clock(), Depot()
    one, two = Rig(store=store, clock=clock, depot=depot), Rig(store=store, clock=clock, depot=depot)
    await one.process(record(ParcelDelivered, "p-1", event_id="d-1"))
    depot.labelled.add("p-1")
    clock.move(5)
    [claimed] = await store.claim(one.parked.instance, clock(), clock() + timedelta(seconds=60), 10)
    assert await two.parked.check_due() == {}  # leased to the first
    assert await one.parked.recheck(claimed) == "handled"
    clock.move(120)
    assert await two.parked.check_due() == {}
    assert depot.delivered == ["p-1"]


async def test_a_process_whose_lease_passed_leaves_the_event_to_the_one_that_took_it_over() -> None:
    store, clock, depot = InMemoryParkedStore(), Clock(), Depot()
    one, two = Rig(store=store, clock=clock, depot=depot), Rig(store=store, clock=clock, depot=depot)
    await one.process(record(ParcelDelivered, "p-1", event_id="d-1"))
    depot.labelled.add("p-1")
    clock.move(5)
    [late] = await store.claim(one.parked.instance, clock(), clock() + timedelta(seconds=60), 10)
    clock.move(61)  # the first process stalled past its lease
    assert await two.parked.check_due() == {"handled": 1}
    assert await one.parked.recheck(late) == "lost"  # its settle finds the lease lost: nothing done
    assert depot.delivered == ["p-1"] and store.parked == {}


async def test_without_parking_a_waiting_error_is_retried_then_dead_lettered() -> None:
    rig = Rig()
    rig.consumer.parking = None
    assert await rig.process(record(ParcelDelivered, "p-1", event_id="d-1")) == "dead_letter"
    assert rig.dead_letters.letters[0][2:] == ("LabelNotYetKnown", "no label yet for parcel p-1", 3)


async def test_beyond_the_bound_of_waiting_events_one_more_is_dead_lettered_at_once() -> None:
    rig = Rig(max_parked=2)
    for n in range(3):
        await rig.process(record(ParcelDelivered, f"p-{n}", event_id=f"d-{n}", offset=n))
    assert len(rig.store.parked) == 2
    [(topic, offset, error_class, message, attempts)] = rig.dead_letters.letters
    assert (offset, error_class, attempts) == (2, "TooManyWaiting", 1)
    assert message == "2 events wait already, at most 2 may: no label yet for parcel p-2"
