"""Idempotent event consumers.

A service declares its handlers on an `EventRouter`:

    events = EventRouter()

    @events.on(EmployeeDeparted)
    async def departed(event: EmployeeDeparted, ctx: EventContext) -> None:
        ...                       # domain logic; ctx.db / ctx.session for repositories
        ctx.publish(OffboardingCompleted(...))

and the platform does the rest, for every record:
- decodes the CloudEvents envelope and the payload; a record that cannot be read (bytes,
  envelope, schema, an event type this service does not handle) is dead-lettered at once;
- runs the handler in a MongoDB transaction that also records the event's `ce_source` +
  `ce_id` (written last: a repeat aborts there and is dropped) and the events the handler published (the outbox); a handler
  registered `idempotent=True` recognises repeats itself, from the state it changes;
- retries failures with exponential backoff and jitter, blocking only the record's partition;
  a `PermanentError` or an exhausted budget dead-letters the record;
- commits the offsets of handled records once their effects are durable: in batches (see
  shared/offsets.py), never the position of a record still in flight.
"""

import asyncio
import dataclasses
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pydantic
from aiokafka import ConsumerRecord, TopicPartition
from faststream.kafka import KafkaMessage
from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

from shared.deadletters import DeadLetters, Interrupted
from shared.events import Envelope, Event, EventType, InvalidEnvelope
from shared.failpoints import failpoint
from shared.kafka import consumer_group
from shared.offsets import OffsetCommits
from shared.failures import GaveUp, PoisonRecord, RetryPolicy, TransientError, describe, is_permanent
from shared.uow import Transactions, UnitOfWork

log = logging.getLogger(__name__)

PROCESSED = "processed_events"

Handler = Callable[[Any, "EventContext"], Awaitable[None]]
GiveUp = Callable[[Any, "EventContext", GaveUp], Awaitable[None]]


class EventContext(UnitOfWork):
    """The unit of work of one incoming event, with its envelope."""

    def __init__(self, *args: Any, envelope: Envelope, **options: Any) -> None:
        super().__init__(*args, **options)
        self.envelope = envelope


class EventRouter:
    """The events a service handles, by CloudEvents type."""

    def __init__(self) -> None:
        self.handlers: dict[str, tuple[EventType, Handler]] = {}
        self.give_ups: dict[str, GiveUp] = {}
        self.concurrency: dict[str, int] = {}  # topic -> consumers, where it is not the default
        self.skipped: set[str] = set()
        self.idempotent: set[str] = set()

    def on(
        self, *models: type[Event], on_give_up: GiveUp | None = None, concurrency: int | None = None, idempotent: bool = False
    ) -> Callable[[Handler], Handler]:
        """`on_give_up(event, ctx, gave_up)` runs, in a transaction of its own, when the event is
        dead-lettered after the handler failed (a permanent error, or retries exhausted).
        `concurrency`: consumers for these events' topics (each handles its partitions in
        order), where it should differ from CONSUMER_WORKERS.
        `idempotent`: the handler recognises a repeat from its own state, in its transaction,
        and then changes nothing; the platform writes no processed-event marker for it."""

        def register(handler: Handler) -> Handler:
            for model in models:
                if model.event_type.type in self.handlers:
                    raise ValueError(f"{model.event_type.type} has two handlers")
                self.handlers[model.event_type.type] = (model.event_type, handler)
                if on_give_up is not None:
                    self.give_ups[model.event_type.type] = on_give_up
                if concurrency is not None:
                    self.concurrency[model.event_type.topic] = concurrency
                if idempotent:
                    self.idempotent.add(model.event_type.type)
            return handler

        return register

    def skip(self, *models: type[Event]) -> None:
        """Read these events and let them pass: no transaction, no marker, the offset committed.
        For a type the service reads only in some configurations: its consumer group keeps up
        with the topic, so that turning the feature on does not replay the topic's history."""

        async def nothing(event: Event, ctx: EventContext) -> None:
            raise AssertionError("a skipped event reached a handler")

        self.on(*models)(nothing)
        self.skipped.update(model.event_type.type for model in models)

    def topics(self) -> list[str]:
        return sorted({event_type.topic for event_type, _ in self.handlers.values()})


class EventConsumer:
    def __init__(
        self,
        service: str,
        router: EventRouter,
        transactions: Transactions,
        dead_letters: DeadLetters,
        *,
        policy: RetryPolicy,
        handler_timeout: float,
        stopping: asyncio.Event,
        commit_interval: float = 0.0,
    ) -> None:
        self.service = service  # its consumer group per topic: consumer_group(service, topic)
        self.router = router
        self.transactions = transactions
        self.dead_letters = dead_letters
        self.policy = policy
        self.handler_timeout = handler_timeout
        self.stopping = stopping
        self.offsets = OffsetCommits(commit_interval, stopping)
        self._lag: dict[tuple[str, int], int] = {}
        meter = metrics.get_meter("alumni.consumer")
        self._duration = meter.create_histogram("alumni.handler.duration", unit="s", description="Handling of one record, retries included")
        self._retries = meter.create_counter("alumni.handler.retries", unit="{attempt}", description="Handler attempts that failed and were retried")
        meter.create_observable_gauge(
            "alumni.consumer.lag", callbacks=[self._observe_lag], unit="{record}",
            description="Records behind the partition's end, after the last handled record",
        )

    async def ensure_indexes(self) -> None:
        # Kept well beyond Kafka's retention, so that any redelivery is still recognised.
        await self.transactions.db[PROCESSED].create_index("processed_at", expireAfterSeconds=30 * 86400)

    async def handle(self, message: KafkaMessage) -> None:
        record: ConsumerRecord = message.raw_message
        started = time.perf_counter()
        outcome, event_type = await self._process(record)
        self._duration.record(time.perf_counter() - started, {"topic": record.topic, "event_type": event_type, "outcome": outcome})
        if outcome == "interrupted":
            return  # stopping: left uncommitted, redelivered after the restart
        failpoint("consumer.before-commit")
        await self._commit(message.consumer, record)

    async def _process(self, record: ConsumerRecord) -> tuple[str, str]:
        try:
            envelope, event_type, event = self._decode(record)
        except PoisonRecord as poison:
            return await self._dead_letter(record, poison.error_class, str(poison), 0), "unreadable"
        if event_type.type in self.router.skipped:
            return "skipped", event_type.type
        _, handler = self.router.handlers[event_type.type]
        attempt = 0
        while True:
            attempt += 1
            try:
                async with asyncio.timeout(self.handler_timeout):
                    applied = await self._apply(envelope, event, handler)
                return ("handled" if applied else "repeat"), event_type.type
            except Exception as exc:
                if is_permanent(exc) or attempt >= self.policy.attempts:
                    gave_up = GaveUp(type(exc).__name__, describe(exc), attempt, is_permanent(exc))
                    outcome = await self._dead_letter(record, gave_up.error_class, gave_up.message, attempt)
                    if outcome == "dead_letter":
                        await self._give_up(envelope, event, gave_up)
                    return outcome, event_type.type
                delay = self.policy.delay(attempt)
                if isinstance(exc, TransientError) and exc.retry_after:
                    delay = max(delay, exc.retry_after)
                self._retries.add(1, {"topic": record.topic, "event_type": event_type.type})
                log.warning(
                    "handler failed; retrying",
                    extra={"event_id": envelope.id, "event_type": envelope.type, "attempt": attempt,
                           "retry_in_s": round(delay, 3), "error_class": type(exc).__name__, "error": describe(exc)},
                )
                if await self._stopping_within(delay):
                    return "interrupted", event_type.type

    def _decode(self, record: ConsumerRecord) -> tuple[Envelope, EventType, Event]:
        try:
            headers = {k: v.decode() for k, v in record.headers}
        except UnicodeDecodeError:
            raise PoisonRecord("UndecodableHeader", "a header value is not UTF-8") from None
        try:
            envelope = Envelope.from_headers(headers)
        except InvalidEnvelope as exc:
            raise PoisonRecord("InvalidEnvelope", str(exc)) from None
        if envelope.type not in self.router.handlers:
            raise PoisonRecord("UnknownEventType", f"{envelope.type!r} is not an event type this service reads on {record.topic}")
        event_type, _ = self.router.handlers[envelope.type]
        try:
            data = json.loads(record.value or b"")
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise PoisonRecord("UndecodableValue", f"the value is not JSON: {exc}") from None
        try:
            event = event_type.model.model_validate(data)
        except pydantic.ValidationError as exc:
            raise PoisonRecord("SchemaViolation", describe(exc)) from None
        return envelope, event_type, event

    async def _apply(self, envelope: Envelope, event: Event, handler: Handler) -> bool:
        marked = envelope.type not in self.router.idempotent

        async def work(ctx: EventContext) -> None:
            if marked:
                # Written last, in the command that writes the outbox: a repeat fails there, on
                # the marker's key, and the whole transaction aborts.
                ctx.insert_last(PROCESSED, {"_id": envelope.identity, "type": envelope.type, "processed_at": ctx.now()})
            await handler(event, ctx)

        try:
            await self.transactions.run(work, uow_class=EventContext, envelope=envelope)
        except Exception:
            # A repeat fails on the marker, or earlier, in a handler that finds its work done.
            if marked and await self._processed_before(envelope):
                log.info("repeated event dropped", extra={"event_id": envelope.id, "event_type": envelope.type})
                return False
            raise
        return True

    async def _processed_before(self, envelope: Envelope) -> bool:
        try:
            return await self.transactions.db[PROCESSED].find_one({"_id": envelope.identity}, {"_id": 1}) is not None
        except Exception:
            return False  # the database is unreachable: the original error stands, and is retried

    async def _give_up(self, envelope: Envelope, event: Event, gave_up: GaveUp) -> None:
        callback = self.router.give_ups.get(envelope.type)
        if callback is None:
            return
        try:
            await self.transactions.run(lambda ctx: callback(event, ctx, gave_up), uow_class=EventContext, envelope=envelope)
        except Exception as exc:  # the dead letter is written: a failing report must not block the partition
            log.error("on_give_up failed", extra={"event_id": envelope.id, "error_class": type(exc).__name__, "error": describe(exc)})

    async def _dead_letter(self, record: ConsumerRecord, error_class: str, message: str, attempts: int) -> str:
        try:
            await self.dead_letters.send(record, error_class, message, attempts)
        except Interrupted:
            return "interrupted"
        return "dead_letter"

    async def _stopping_within(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self.stopping.wait(), seconds)
        except TimeoutError:
            return False
        return True

    async def _commit(self, consumer: Any, record: ConsumerRecord) -> None:
        partition = TopicPartition(record.topic, record.partition)
        await self.offsets.handled(consumer, partition, record.offset)
        highwater = consumer.highwater(partition)
        if highwater is not None:
            self._lag[(record.topic, record.partition)] = max(0, highwater - record.offset - 1)

    def _observe_lag(self, options: CallbackOptions) -> list[Observation]:
        return [Observation(lag, {"topic": t, "partition": p, "group": consumer_group(self.service, t)}) for (t, p), lag in self._lag.items()]


async def whole_message(message: KafkaMessage, decode: Callable[[KafkaMessage], Awaitable[Any]]) -> KafkaMessage:
    """The handler reads the raw record itself (a body that is not JSON would fail FastStream's
    decoding, silently), and needs its headers and offset: it is given the whole message."""
    return message


async def tolerant_parser(record: ConsumerRecord, parse: Callable[[ConsumerRecord], Awaitable[KafkaMessage]]) -> KafkaMessage:
    """FastStream's parser decodes headers strictly and would fail before our handler runs; give
    it a readable copy, keeping the original record so that the handler dead-letters it."""
    try:
        return await parse(record)
    except UnicodeDecodeError:
        readable = dataclasses.replace(record, headers=[(k, v.decode(errors="replace").encode()) for k, v in record.headers])
        if hasattr(record, "consumer"):
            readable.consumer = record.consumer
        message = await parse(readable)
        message.raw_message = record
        return message
