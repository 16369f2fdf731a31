"""Waiting for what an event depends on, bounded and observable.

`park` keeps a record whose handler raised one of the router's `waiting` errors (see
shared/messaging/parking.py); the consumer then commits its offset and moves on. A loop checks
each parked event again, with backoff (`first_delay`, doubling, at most `max_delay`), and at
once when an event of the same aggregate (the record's key) is handled by this process. The
handler runs as for a fresh record, in a unit of work that also writes the processed-event
marker and removes the parked event: the effect happens exactly once. An event still waiting
`max_wait` after it was parked, or failing a rule, goes to the dead-letter topic with its
reason. Metrics: `alumni.parked_events` (how many), `alumni.parked_events.oldest_age` (seconds)
and `alumni.parked_events.outcomes` (parked, handled, waiting, dead_letter).
"""

import asyncio
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from aiokafka import ConsumerRecord
from opentelemetry import context, metrics, propagate
from opentelemetry.metrics import CallbackOptions, Observation

from shared.clock import Clock
from shared.events import Envelope
from shared.messaging.decoding import decode
from shared.messaging.failures import GaveUp, PermanentError, PoisonRecord, describe, is_permanent
from shared.messaging.parking import LeaseLost, ParkedRecord, ParkedStore

if TYPE_CHECKING:
    from shared.messaging.consumer import EventConsumer

log = logging.getLogger(__name__)


def wall_clock() -> datetime:
    return datetime.now(UTC)


class TooManyWaiting(PermanentError):
    """As many events wait as the service keeps (`max_parked`): this one is dead-lettered instead,
    so that a flood of events that wait for nothing cannot fill the database."""


class ParkedEvents:
    def __init__(
        self, store: ParkedStore, consumer: "EventConsumer", *, max_wait: float, first_delay: float = 5.0, max_delay: float = 600.0,
        lease: float = 60.0, max_parked: int = 100_000, clock: Clock = wall_clock, instance: str | None = None,
    ) -> None:
        self.store = store
        self.consumer = consumer
        self.max_wait = timedelta(seconds=max_wait)
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.lease = timedelta(seconds=lease)
        self.max_parked = max_parked
        self.clock = clock  # the wall clock: a bound on waiting, not a business date
        self.instance = instance or uuid.uuid4().hex
        self._related: set[str] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._count, self._oldest = 0, None
        meter = metrics.get_meter("alumni.consumer")
        self._outcomes = meter.create_counter("alumni.parked_events.outcomes", unit="{event}", description="Parked events by what became of them")
        meter.create_observable_gauge("alumni.parked_events", callbacks=[self._observe_count], unit="{event}",
                                      description="Events waiting for what they depend on")
        meter.create_observable_gauge("alumni.parked_events.oldest_age", callbacks=[self._observe_age], unit="s",
                                      description="How long the oldest parked event has waited")

    def delay(self, checks: int) -> float:
        return min(self.max_delay, self.first_delay * 2**checks)

    async def park(self, record: ConsumerRecord, envelope: Envelope, exc: Exception) -> str:
        if self._count >= self.max_parked:
            raise TooManyWaiting(f"{self._count} events wait already, at most {self.max_parked} may: {describe(exc)}")
        now = self.clock()
        parked = ParkedRecord.of(
            record, envelope.identity, envelope.type, describe(exc), now, now + timedelta(seconds=self.first_delay), _waiting_for(exc),
        )
        if await self.store.park(parked):
            self._count += 1
            self._outcomes.add(1, {"event_type": envelope.type, "outcome": "parked"})
            log.info("event parked: waiting for what it depends on",
                     extra={"event_id": envelope.id, "event_type": envelope.type, "error_class": type(exc).__name__, "reason": parked.reason})
        return "parked"

    def related_handled(self, key: bytes | None) -> None:
        """An event of this aggregate was handled: the events parked for it may go now."""
        if key is not None and self._count > 0:
            self._related.add(key.decode(errors="replace"))
            self._wake.set()

    def start(self, stopping: asyncio.Event) -> None:
        self._task = asyncio.create_task(self._run(stopping), name="parked-events")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self, stopping: asyncio.Event) -> None:
        poll = min(self.first_delay, 5.0)
        while not stopping.is_set():
            try:
                await self.check_due()
            except Exception as exc:  # the database is unreachable: the next round tries again
                log.warning("parked events not checked", extra={"error": f"{type(exc).__name__}: {exc}"})
            try:
                await asyncio.wait_for(self._wake.wait(), poll)
            except TimeoutError:
                pass
            self._wake.clear()

    async def check_due(self) -> dict[str, int]:
        """One round: check every parked event that is due; what became of them."""
        outcomes: dict[str, int] = {}
        if self._related:
            keys, self._related = sorted(self._related), set()
            await self.store.check_soon(keys, self.clock())
        topics = self.consumer.router.topics()
        while True:
            # Leased one at a time, just before its check: a lease taken for a whole batch could
            # pass while the batch's first events are handled, and another process would handle
            # the last ones a second time.
            now = self.clock()
            claimed = await self.store.claim(self.instance, now, now + self.lease, 1, topics)
            if not claimed:
                break
            outcome = await self.recheck(claimed[0])
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        self._count, self._oldest = await self.store.stats()
        return outcomes

    async def recheck(self, parked: ParkedRecord) -> str:
        """Hand a parked event (leased to this process) to its handler again, in the trace of
        the record it was."""
        carrier = {k: v.decode(errors="replace") for k, v in parked.headers if k == "traceparent"}
        token = context.attach(propagate.extract(carrier))
        try:
            return await self._recheck(parked)
        finally:
            context.detach(token)

    async def _recheck(self, parked: ParkedRecord) -> str:
        consumer, router, record = self.consumer, self.consumer.router, parked.record()
        try:
            envelope, event_type, event = decode(record, router)
        except PoisonRecord as poison:  # the service no longer reads it as it did
            return await self._dead_letter(parked, record, None, None, GaveUp(poison.error_class, str(poison), parked.checks, True))
        if event_type.type in router.skipped:  # the service no longer handles this type
            await self.store.remove(parked.id, self.instance)
            return "skipped"
        _, handler = router.handlers[event_type.type]

        async def settle(ctx) -> None:
            await self.store.settle(ctx, parked.id, self.instance)

        try:
            async with asyncio.timeout(consumer.handler_timeout):
                applied = await consumer._apply(envelope, event, handler, settle=settle)
        except LeaseLost:
            return "lost"  # another process took it over: its outcome stands, ours rolled back
        except Exception as exc:
            checks, waited = parked.checks + 1, self.clock() - parked.parked_at
            permanent = is_permanent(exc) or router.is_permanent(exc)
            if permanent or waited >= self.max_wait:
                message = describe(exc) if permanent else (
                    f"still waiting after {int(waited.total_seconds())} s (at most {int(self.max_wait.total_seconds())} s): {describe(exc)}")
                return await self._dead_letter(parked, record, envelope, event, GaveUp(type(exc).__name__, message, checks, permanent))
            check_at = self.clock() + timedelta(seconds=self.delay(checks))
            await self.store.postpone(parked.id, self.instance, check_at, checks, describe(exc), _waiting_for(exc) if router.is_waiting(exc) else None)
            self._outcomes.add(1, {"event_type": parked.event_type, "outcome": "waiting"})
            return "waiting"
        if not applied:  # handled meanwhile, from a redelivery of the same record
            await self.store.remove(parked.id, self.instance)
        self._outcomes.add(1, {"event_type": parked.event_type, "outcome": "handled"})
        log.info("parked event handled", extra={"event_id": envelope.id, "event_type": envelope.type, "checks": parked.checks + 1})
        self.related_handled(parked.key)
        return "handled"

    async def _dead_letter(self, parked: ParkedRecord, record: ConsumerRecord, envelope, event, gave_up: GaveUp) -> str:
        outcome = await self.consumer._dead_letter(record, gave_up.error_class, gave_up.message, gave_up.attempts)
        if outcome == "interrupted":
            return outcome  # stopping: the lease passes and a check resumes it
        if outcome == "dead_letter" and envelope is not None:
            await self.consumer._give_up(envelope, event, gave_up)
        await self.store.remove(parked.id, self.instance)
        self._outcomes.add(1, {"event_type": parked.event_type, "outcome": "dead_letter"})
        log.warning("parked event given up", extra={"event_type": parked.event_type, "error_class": gave_up.error_class, "error": gave_up.message})
        return "dead_letter"

    def _observe_count(self, options: CallbackOptions) -> list[Observation]:
        return [Observation(self._count)]

    def _observe_age(self, options: CallbackOptions) -> list[Observation]:
        age = (self.clock() - self._oldest).total_seconds() if self._oldest else 0.0
        return [Observation(max(0.0, age))]


def _waiting_for(exc: Exception) -> list[str]:
    """The other aggregates a waiting error names (see shared/messaging/parking.py)."""
    return [str(a) for a in getattr(exc, "waiting_for", ())]
