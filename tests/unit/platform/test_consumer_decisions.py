"""The consumer's decisions, record by record, with the unit of work in memory: handled, repeat,
retried with backoff, dead-lettered (and why), skipped, interrupted. The same decisions on the
real broker and database are proven in tests/integration/platform."""

import asyncio
import json

import pytest
from aiokafka import ConsumerRecord

from shared.events.base import Event, Registry, event_type
from shared.messaging.consumer import EventConsumer
from shared.messaging.failures import Contended, PermanentError, RetryPolicy, TransientError
from shared.messaging.router import EventRouter
from shared.messaging.uow import EventContext
from shared.testing.fakes import FakeTransactions

TOPIC = "test.parcels"
catalog = Registry(topics={TOPIC})


@event_type("com.alumni.test.parcel-sent.v1", topic=TOPIC, key="parcel_id", catalog=catalog)
class ParcelSent(Event):
    parcel_id: str
    weight: int = 1


@event_type("com.alumni.test.parcel-lost.v1", topic=TOPIC, key="parcel_id", catalog=catalog)
class ParcelLost(Event):
    parcel_id: str


class Parcels:
    """The handler's state, in memory: rolled back with a failed unit of work."""

    def __init__(self) -> None:
        self.received: list[str] = []


class Refused(Exception):
    """A domain error: the event breaks a rule."""


class DeadLetterBox:
    def __init__(self) -> None:
        self.letters: list[tuple[int, str, str, int]] = []

    async def send(self, record: ConsumerRecord, error_class: str, message: str, attempts: int) -> None:
        self.letters.append((record.offset, error_class, message, attempts))


def record(value: bytes | str | dict, *, ce_type: str = ParcelSent.event_type.type, event_id: str = "e-1", offset: int = 0,
           headers: list[tuple[str, bytes]] | None = None) -> ConsumerRecord:
    if isinstance(value, dict):
        value = json.dumps(value)
    if isinstance(value, str):
        value = value.encode()
    if headers is None:
        headers = [("ce_specversion", b"1.0"), ("ce_id", event_id.encode()), ("ce_source", b"/tests"),
                   ("ce_type", ce_type.encode()), ("content-type", b"application/json")]
    return ConsumerRecord(TOPIC, 0, offset, 0, 0, b"p-1", value, None, 3, len(value), headers)


class Rig:
    def __init__(self, *, fail_times: int = 0, error: type[Exception] = TransientError, attempts: int = 3,
                 idempotent: bool = False) -> None:
        self.parcels = Parcels()
        self.transactions = FakeTransactions(state=self.parcels)
        self.dead_letters = DeadLetterBox()
        self.stopping = asyncio.Event()
        self.calls = 0
        self.gave_up: list[tuple[str, int, bool]] = []
        router = EventRouter(permanent=(Refused,))

        async def give_up(event: ParcelSent, ctx: EventContext, gave_up) -> None:
            self.gave_up.append((gave_up.error_class, gave_up.attempts, gave_up.permanent))

        @router.on(ParcelSent, on_give_up=give_up, idempotent=idempotent)
        async def sent(event: ParcelSent, ctx: EventContext) -> None:
            self.calls += 1
            self.parcels.received.append(event.parcel_id)  # undone if this attempt fails
            if self.calls <= fail_times:
                raise error("the depot is closed")
            ctx.publish(ParcelSent(parcel_id=event.parcel_id + "-ack"))

        router.skip(ParcelLost)
        self.consumer = EventConsumer(
            "parcels", router, self.transactions, self.dead_letters,  # type: ignore[arg-type]
            policy=RetryPolicy(attempts, base_delay=0.001, max_delay=0.002), handler_timeout=1.0, stopping=self.stopping,
        )

    async def process(self, rec: ConsumerRecord) -> str:
        outcome, _ = await self.consumer.process(rec)
        return outcome


async def test_an_event_is_handled_once_and_a_repeat_changes_nothing() -> None:
    rig = Rig()
    assert await rig.process(record({"parcel_id": "p-1"})) == "handled"
    assert await rig.process(record({"parcel_id": "p-1"}, offset=1)) == "repeat"
    assert rig.parcels.received == ["p-1"]
    assert [e.parcel_id for e in rig.transactions.events] == ["p-1-ack"]
    assert rig.dead_letters.letters == []


async def test_the_same_id_from_another_source_is_another_event() -> None:
    rig = Rig()
    await rig.process(record({"parcel_id": "p-1"}))
    other = record({"parcel_id": "p-1"}, headers=[("ce_specversion", b"1.0"), ("ce_id", b"e-1"), ("ce_source", b"/elsewhere"),
                                                    ("ce_type", ParcelSent.event_type.type.encode())])
    assert await rig.process(other) == "handled"


async def test_a_transient_failure_is_retried_and_its_attempts_leave_no_trace() -> None:
    rig = Rig(fail_times=2)
    assert await rig.process(record({"parcel_id": "p-1"})) == "handled"
    assert rig.calls == 3
    assert rig.parcels.received == ["p-1"]  # the two failed attempts were rolled back
    assert len(rig.transactions.events) == 1


async def test_exhausted_retries_dead_letter_the_record_and_report_it() -> None:
    rig = Rig(fail_times=99, attempts=3)
    assert await rig.process(record({"parcel_id": "p-1"}, offset=7)) == "dead_letter"
    assert rig.calls == 3
    assert rig.dead_letters.letters == [(7, "TransientError", "the depot is closed", 3)]
    assert rig.gave_up == [("TransientError", 3, False)]
    assert rig.parcels.received == [] and rig.transactions.events == []


@pytest.mark.parametrize("error", [PermanentError, Refused], ids=["platform's PermanentError", "router's domain error"])
async def test_a_broken_rule_is_dead_lettered_at_the_first_attempt(error: type[Exception]) -> None:
    rig = Rig(fail_times=1, error=error)
    assert await rig.process(record({"parcel_id": "p-1"})) == "dead_letter"
    assert rig.calls == 1
    assert rig.dead_letters.letters[0][1:] == (error.__name__, "the depot is closed", 1)
    assert rig.gave_up == [(error.__name__, 1, True)]


@pytest.mark.parametrize(
    ("rec", "error_class"),
    [
        (record(b"\xff not json"), "UndecodableValue"),
        (record("[1, 2"), "UndecodableValue"),
        (record({"weight": 3}), "SchemaViolation"),
        (record({"parcel_id": "p-1"}, ce_type="com.alumni.test.unheard-of.v1"), "UnknownEventType"),
        (record({"parcel_id": "p-1"}, headers=[("ce_type", ParcelSent.event_type.type.encode())]), "InvalidEnvelope"),
        (record({"parcel_id": "p-1"}, headers=[("ce_id", b"\xff\xfe")]), "UndecodableHeader"),
        (record({"parcel_id": "p-1"}, headers=[*record({}).headers, ("traceparent", None)]), "UndecodableHeader"),
        (record("[" * 100_000 + "]" * 100_000), "UndecodableValue"),
        (record('{"parcel_id": "p-1", "weight": ' + "[" * 500 + "]" * 500 + "}"), "SchemaViolation"),
    ],
    ids=["bytes", "truncated JSON", "schema", "unknown type", "missing headers", "header not UTF-8", "null header",
         "JSON nested too deep", "deep nesting in a field"],
)
async def test_a_record_that_cannot_be_read_is_dead_lettered_without_any_attempt(rec: ConsumerRecord, error_class: str) -> None:
    rig = Rig()
    assert await rig.process(rec) == "dead_letter"
    [(offset, found_class, message, attempts)] = rig.dead_letters.letters
    assert (found_class, attempts) == (error_class, 0)
    assert message and "p-1" not in message  # the reason, never the payload's values
    assert rig.calls == 0 and rig.gave_up == []


async def test_a_skipped_type_passes_without_a_handler_or_a_marker() -> None:
    rig = Rig()
    assert await rig.process(record({"parcel_id": "p-1"}, ce_type=ParcelLost.event_type.type)) == "skipped"
    assert rig.transactions.runs == 0 and rig.transactions.markers == set()


async def test_stopping_during_a_backoff_leaves_the_record_uncommitted_and_not_dead_lettered() -> None:
    rig = Rig(fail_times=99, attempts=5)
    rig.consumer.policy = RetryPolicy(5, base_delay=30, max_delay=30)
    task = asyncio.create_task(rig.process(record({"parcel_id": "p-1"})))
    await asyncio.sleep(0.05)
    rig.stopping.set()
    assert await asyncio.wait_for(task, 1) == "interrupted"
    assert rig.dead_letters.letters == []


async def test_a_handler_that_recognises_repeats_itself_gets_no_marker() -> None:
    rig = Rig(idempotent=True)
    assert await rig.process(record({"parcel_id": "p-1"})) == "handled"
    assert rig.transactions.markers == set()
    assert await rig.process(record({"parcel_id": "p-1"})) == "handled"  # its own state decides
    assert rig.calls == 2


class ContendedTransactions(FakeTransactions):
    """The first `times` transactions find what they write held by another open transaction."""

    def __init__(self, times: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.contended = times

    async def run(self, work, *, envelope=None):
        if self.contended:
            self.contended -= 1
            raise Contended("held by another open transaction (DuplicateKeyError)")
        return await super().run(work, envelope=envelope)


async def test_a_transaction_held_by_a_killed_process_is_waited_out_without_spending_the_retry_budget() -> None:
    rig = Rig(attempts=2)
    rig.transactions = rig.consumer.transactions = ContendedTransactions(6, state=rig.parcels)
    assert await rig.process(record({"parcel_id": "p-1"})) == "handled"
    assert rig.dead_letters.letters == []
    assert [e.parcel_id for e in rig.consumer.transactions.events] == ["p-1-ack"]


async def test_contention_that_outlasts_the_wait_is_counted_and_dead_lettered() -> None:
    rig = Rig(attempts=2)
    rig.consumer.contention_wait = 0.0
    rig.transactions = rig.consumer.transactions = ContendedTransactions(99, state=rig.parcels)
    assert await rig.process(record({"parcel_id": "p-1"}, offset=3)) == "dead_letter"
    assert [(offset, error_class, attempts) for offset, error_class, _, attempts in rig.dead_letters.letters] == [(3, "Contended", 2)]


def untransacted_rig(*, relevant=None, transaction: bool = True) -> tuple[Rig, list[str]]:
    """A consumer whose `ParcelLost` handler runs outside a transaction, or after a relevance check."""
    rig, seen = Rig(), []
    router = EventRouter()

    @router.on(ParcelLost, transaction=transaction, relevant=relevant)
    async def lost(event: ParcelLost, ctx: EventContext) -> None:
        assert ctx.session is None or transaction
        seen.append(event.parcel_id)

    rig.consumer.router = router
    return rig, seen


async def test_a_handler_without_a_transaction_runs_outside_one_and_gets_no_marker() -> None:
    rig, seen = untransacted_rig(transaction=False)
    lost = record({"parcel_id": "p-1"}, ce_type=ParcelLost.event_type.type)
    assert await rig.process(lost) == "handled"
    assert await rig.process(lost) == "handled"  # its conditional write decides: the platform keeps no marker
    assert seen == ["p-1", "p-1"]
    assert (rig.transactions.runs, rig.transactions.outside_runs, rig.transactions.markers) == (0, 2, set())


async def test_an_event_that_concerns_nothing_here_is_let_pass_without_a_transaction() -> None:
    async def relevant(event: ParcelLost, ctx: EventContext) -> bool:
        return event.parcel_id.startswith("ours")

    rig, seen = untransacted_rig(relevant=relevant)
    assert await rig.process(record({"parcel_id": "theirs"}, ce_type=ParcelLost.event_type.type)) == "skipped"
    assert (seen, rig.transactions.runs, rig.transactions.markers) == ([], 0, set())
    assert await rig.process(record({"parcel_id": "ours-1"}, ce_type=ParcelLost.event_type.type, event_id="e-2")) == "handled"
    assert seen == ["ours-1"] and rig.transactions.runs == 1 and len(rig.transactions.markers) == 1


async def test_a_failing_relevance_check_handles_the_event_as_usual() -> None:
    async def relevant(event: ParcelLost, ctx: EventContext) -> bool:
        raise TransientError("the database is unreachable")

    rig, seen = untransacted_rig(relevant=relevant)
    assert await rig.process(record({"parcel_id": "p-1"}, ce_type=ParcelLost.event_type.type)) == "handled"
    assert seen == ["p-1"]
