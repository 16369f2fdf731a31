"""Idempotent event consumers: for every record of the topics a service's `EventRouter` reads,
- decode the CloudEvents envelope and the payload; a record that cannot be read (bytes,
  envelope, schema, an event type this service does not handle) is dead-lettered at once;
- run the handler in a unit of work that also records the event's `ce_source` + `ce_id`
  (written last: a repeat aborts there and is dropped) and the events the handler published
  (the outbox); a handler registered `idempotent=True` recognises repeats itself;
- park a record whose handler waits for what it depends on (one of the router's `waiting`
  errors): kept in the database, re-checked later (shared/messaging/recheck.py), its offset
  committed;
- retry failures with exponential backoff and jitter, blocking only the record's partition;
  a permanent error (the platform's, or one of the router's domain errors) or an exhausted
  budget dead-letters the record;
- commit the offsets of handled records once their effects are durable: in batches (see
  shared/messaging/offsets.py), never the position of a record still in flight.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from aiokafka import ConsumerRecord, TopicPartition
from opentelemetry import metrics, trace
from opentelemetry.metrics import CallbackOptions, Observation

from shared.events import Envelope, Event
from shared.messaging.deadletters import DeadLetterImpossible, Interrupted
from shared.messaging.decoding import decode
from shared.messaging.failures import Contended, GaveUp, PoisonRecord, RetryPolicy, TransientError, describe, is_permanent
from shared.messaging.offsets import OffsetCommits
from shared.messaging.router import EventRouter, Handler
from shared.messaging.uow import EventContext, Transactions
from shared.testing.failpoints import failpoint
from shared.topics import consumer_group

if TYPE_CHECKING:
    from shared.messaging.recheck import ParkedEvents

log = logging.getLogger(__name__)

class DeadLetterWriter(Protocol):
    async def send(self, record: ConsumerRecord, error_class: str, message: str, attempts: int) -> None: ...


class EventConsumer:
    def __init__(
        self,
        service: str,
        router: EventRouter,
        transactions: Transactions,
        dead_letters: DeadLetterWriter,
        *,
        policy: RetryPolicy,
        handler_timeout: float,
        stopping: asyncio.Event,
        commit_interval: float = 0.0,
        contention_wait: float = 90.0,
    ) -> None:
        """`contention_wait`: how long a record may wait for another open transaction to end
        (a killed process's: 60 s at most on MongoDB) before its waits count as failures."""
        self.service = service  # its consumer group per topic: consumer_group(service, topic)
        self.router = router
        self.transactions = transactions
        self.dead_letters = dead_letters
        self.policy = policy
        self.handler_timeout = handler_timeout
        self.contention_wait = contention_wait
        self.stopping = stopping
        self.offsets = OffsetCommits(commit_interval, stopping)
        self.parking: "ParkedEvents | None" = None  # set when the router has `waiting` errors
        self._lag: dict[tuple[str, int], int] = {}
        meter = metrics.get_meter("alumni.consumer")
        self._duration = meter.create_histogram("alumni.handler.duration", unit="s", description="Handling of one record, retries included")
        self._retries = meter.create_counter("alumni.handler.retries", unit="{attempt}", description="Handler attempts that failed and were retried")
        meter.create_observable_gauge(
            "alumni.consumer.lag", callbacks=[self._observe_lag], unit="{record}",
            description="Records behind the partition's end, after the last handled record",
        )

    async def handle(self, record: ConsumerRecord, consumer: Any) -> None:
        """Process one record read by `consumer`, then let its offset be committed."""
        started = time.perf_counter()
        outcome, event_type = await self.process(record)
        self._duration.record(time.perf_counter() - started, {"topic": record.topic, "event_type": event_type, "outcome": outcome})
        if outcome == "interrupted":
            return  # stopping: left uncommitted, redelivered after the restart
        failpoint("consumer.before-commit")
        await self._commit(consumer, record)

    async def process(self, record: ConsumerRecord) -> tuple[str, str]:
        """Handle one record: (outcome, event type), the outcome one of handled, repeat,
        skipped, parked, dead_letter, or interrupted (stopping: not to be committed)."""
        try:
            envelope, event_type, event = decode(record, self.router)
        except PoisonRecord as poison:
            return await self._dead_letter(record, poison.error_class, str(poison), 0), "unreadable"
        # The consume span names the event (OpenTelemetry's CloudEvents conventions): a trace is
        # found by an event's id or its aggregate (`./alumni trace`). Identifiers only.
        trace.get_current_span().set_attributes(
            {"cloudevents.event_id": envelope.id, "cloudevents.event_source": envelope.source, "cloudevents.event_type": envelope.type}
            | ({"cloudevents.event_subject": envelope.subject} if envelope.subject else {})
            | ({"messaging.kafka.message.key": record.key.decode(errors="replace")} if record.key else {})
        )
        if event_type.type in self.router.skipped or not await self._relevant(envelope, event):
            return "skipped", event_type.type
        _, handler = self.router.handlers[event_type.type]
        attempt, contended_since = 0, None
        while True:
            attempt += 1
            try:
                async with asyncio.timeout(self.handler_timeout):
                    applied = await self._apply(envelope, event, handler)
                if applied and self.parking is not None:
                    self.parking.related_handled(record.key)
                return ("handled" if applied else "repeat"), event_type.type
            except Exception as exc:
                if self.parking is not None and self.router.is_waiting(exc):
                    try:
                        return await self.parking.park(record, envelope, exc), event_type.type
                    except Exception as parking_failed:  # too many wait (permanent), or the database is unreachable (retried)
                        exc = parking_failed
                if isinstance(exc, Contended):
                    contended_since = contended_since or time.monotonic()
                    if time.monotonic() - contended_since < self.contention_wait:
                        attempt -= 1  # waited out, not counted: the other transaction ends by itself
                        log.info("held by another open transaction; waiting", extra={"event_id": envelope.id, "event_type": envelope.type})
                        if await self._stopping_within(min(5.0, self.policy.delay(1) * 4)):
                            return "interrupted", event_type.type
                        continue
                permanent = is_permanent(exc) or self.router.is_permanent(exc)
                if permanent or attempt >= self.policy.attempts:
                    gave_up = GaveUp(type(exc).__name__, describe(exc), attempt, permanent)
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

    async def _apply(
        self, envelope: Envelope, event: Event, handler: Handler, *, settle: Callable[[EventContext], Awaitable[None]] | None = None
    ) -> bool:
        """`settle`: more work in the same unit (a parked event's removal)."""
        if envelope.type in self.router.untransacted and settle is None:
            await self.transactions.outside(lambda ctx: handler(event, ctx), envelope=envelope)
            return True
        marked = envelope.type not in self.router.idempotent and envelope.type not in self.router.untransacted

        async def work(ctx: EventContext) -> None:
            if marked:
                ctx.mark_processed(envelope)
            await handler(event, ctx)
            if settle is not None:
                await settle(ctx)

        try:
            await self.transactions.run(work, envelope=envelope)
        except Exception:
            # A repeat fails on the marker, or earlier, in a handler that finds its work done.
            if marked and await self._processed_before(envelope):
                log.info("repeated event dropped", extra={"event_id": envelope.id, "event_type": envelope.type})
                return False
            raise
        return True

    async def _relevant(self, envelope: Envelope, event: Event) -> bool:
        """The router's `relevant` check, outside any transaction (errors are retried as usual,
        in the handling that follows)."""
        relevant = self.router.relevance.get(envelope.type)
        if relevant is None:
            return True
        try:
            async with asyncio.timeout(self.handler_timeout):
                return await self.transactions.outside(lambda ctx: relevant(event, ctx), envelope=envelope)
        except Exception as exc:
            log.warning("relevance check failed; handling the event", extra={"event_id": envelope.id, "error_class": type(exc).__name__})
            return True

    async def _processed_before(self, envelope: Envelope) -> bool:
        try:
            return await self.transactions.processed_before(envelope)
        except Exception:
            return False  # the database is unreachable: the original error stands, and is retried

    async def _give_up(self, envelope: Envelope, event: Event, gave_up: GaveUp) -> None:
        callback = self.router.give_ups.get(envelope.type)
        if callback is None:
            return
        try:
            await self.transactions.run(lambda ctx: callback(event, ctx, gave_up), envelope=envelope)
        except Exception as exc:  # the dead letter is written: a failing report must not block the partition
            log.error("on_give_up failed", extra={"event_id": envelope.id, "error_class": type(exc).__name__, "error": describe(exc)})

    async def _dead_letter(self, record: ConsumerRecord, error_class: str, message: str, attempts: int) -> str:
        try:
            await self.dead_letters.send(record, error_class, message, attempts)
        except Interrupted:
            return "interrupted"
        except DeadLetterImpossible:
            return "dead_letter_failed"
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
