"""The outbox relay: publishes this process's events as soon as their transaction commits
(handed over in memory), in the order they were written, and in the background sweeps the
outbox for events another process (or this one, before a crash) committed and never published,
once their lease has passed. Acknowledged events are removed from the outbox together, every
`removal_interval`. An event the broker refuses for its size is set aside (`unsendable`, the
`alumni_outbox_unsendable` metric to alert on) and never holds back the events behind it.
Every `observe_interval` the backlog is measured (`alumni_outbox_pending`,
`alumni_outbox_oldest_pending_age_seconds`): events waiting long mean the relay cannot publish.
"""

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from aiokafka.errors import MessageSizeTooLargeError, RecordListTooLargeError, RecordTooLargeError
from opentelemetry import context, metrics, propagate
from opentelemetry.metrics import Observation

from shared.messaging.kafka import Publisher
from shared.messaging.outbox import Outbox
from shared.testing.failpoints import failpoint

log = logging.getLogger(__name__)

# Refusals that sending again can never change.
NEVER_SENDABLE = (MessageSizeTooLargeError, RecordTooLargeError, RecordListTooLargeError)


class OutboxRelay:
    def __init__(
        self,
        outbox: Outbox,
        kafka: Publisher,
        *,
        sweep_interval: float = 1.0,
        lease: timedelta = timedelta(seconds=5),
        batch_size: int = 500,
        removal_interval: float = 0.2,
        observe_interval: float = 15.0,
    ) -> None:
        self.outbox = outbox
        self.kafka = kafka
        self.sweep_interval = sweep_interval
        self.lease = lease
        self.batch_size = batch_size
        self.removal_interval = removal_interval
        self.observe_interval = observe_interval
        self._backlog: tuple[int, float] = (0, 0.0)  # pending events, age of the oldest in seconds
        self._observe_task: asyncio.Task | None = None
        self._wake = asyncio.Event()
        self._handed: list[dict] = []
        # Published, still in the outbox until the next removal: the sweep must not send them again.
        self._published: dict[str, None] = {}
        self._task: asyncio.Task | None = None
        self._removal_task: asyncio.Task | None = None
        self._stopping = False
        meter = metrics.get_meter("alumni.outbox")
        self._published_count = meter.create_counter("alumni.outbox.published", unit="{event}", description="Events published from the outbox")
        self._unsendable = meter.create_counter(
            "alumni.outbox.unsendable", unit="{event}", description="Events set aside because the broker can never take them: alert"
        )
        self._delay = meter.create_histogram(
            "alumni.outbox.publish_delay", unit="s", description="From the outbox write to the broker's acknowledgement"
        )
        meter.create_observable_gauge(
            "alumni.outbox.pending", callbacks=[lambda options: [Observation(self._backlog[0])]], unit="{event}",
            description="Events in the outbox waiting to be published",
        )
        meter.create_observable_gauge(
            "alumni.outbox.oldest_pending_age", callbacks=[lambda options: [Observation(self._backlog[1])]], unit="s",
            description="Age of the oldest event waiting in the outbox: alert when it grows",
        )

    def wake(self, committed: list[dict] = ()) -> None:
        """Publish now: called right after a transaction that wrote `committed` commits. They are
        handed over in memory, in commit order, so publishing needs no query."""
        self._handed.extend(committed)
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")
        self._removal_task = asyncio.create_task(self._remove_published(), name="outbox-removal")
        self._observe_task = asyncio.create_task(self._observe_backlog(), name="outbox-backlog")

    async def stop(self) -> None:
        """Publish what this process still holds, remove what is published, then stop."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
        for task in (self._removal_task, self._observe_task):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        try:
            await self._remove()
        except Exception as exc:  # left in the outbox: published again after the lease, dropped as repeats
            log.warning("outbox: published events not removed", extra={"error": f"{type(exc).__name__}: {exc}"})

    async def _run(self) -> None:
        backoff = 0.5
        sweep = True  # at start: whatever an earlier run of this service left pending
        while True:
            if not sweep and not self._handed:
                try:
                    await asyncio.wait_for(self._wake.wait(), self.sweep_interval)
                except TimeoutError:
                    sweep = True
            self._wake.clear()
            try:
                if self._handed:
                    batch, self._handed = self._handed[: self.batch_size], self._handed[self.batch_size :]
                    await self._publish(batch)
                if (sweep or self._stopping) and not self._handed:
                    await self.drain()  # after the queue: it would find the queued events too
                    sweep = False
                backoff = 0.5
            except Exception as exc:
                log.warning("outbox relay could not publish; will retry", extra={"error": f"{type(exc).__name__}: {exc}"})
                # What was handed over is pending in the database too: the sweep sends it, in order.
                self._handed.clear()
                sweep = True
                if self._stopping:
                    return  # what is left stays pending: the next start (or another replica) sends it
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            if self._stopping and not self._handed:
                return

    async def drain(self) -> int:
        """Publish pending events in order, batch by batch, until none is left."""
        total = 0
        while True:
            found = await self.outbox.pending(self.lease, self.batch_size)
            # Events committed while the query ran were handed over too: the queue sends them.
            queued = {doc["_id"] for doc in self._handed}
            batch = [doc for doc in found if doc["_id"] not in queued and doc["_id"] not in self._published]
            if not batch:
                return total
            await self._publish(batch)
            total += len(batch)

    async def _remove_published(self) -> None:
        while True:
            await asyncio.sleep(self.removal_interval)
            try:
                await self._remove()
            except Exception as exc:  # kept: the next round removes them
                log.warning("outbox: published events not removed yet", extra={"error": f"{type(exc).__name__}: {exc}"})

    async def _observe_backlog(self) -> None:
        while True:
            try:
                count, oldest = await self.outbox.backlog()
                self._backlog = (count, (datetime.now(UTC) - oldest).total_seconds() if oldest else 0.0)
            except Exception as exc:  # a measurement missed; the next one comes
                log.info("outbox backlog not measured", extra={"error": type(exc).__name__})
            await asyncio.sleep(self.observe_interval)

    async def _remove(self) -> None:
        ids = list(self._published)
        for start in range(0, len(ids), self.batch_size):
            chunk = ids[start : start + self.batch_size]
            await self.outbox.remove(chunk)
            for event_id in chunk:  # only now: until removed, the sweep would find them pending
                self._published.pop(event_id, None)

    async def _publish(self, batch: list[dict]) -> None:
        failpoint("outbox.before-publish")
        sends: list[tuple[dict, object]] = []
        for doc in batch:
            # The producer span continues the trace of the request or event that wrote the event.
            token = context.attach(propagate.extract(doc.get("trace") or {}))
            try:
                # Sent as a whole batch; every acknowledgement is awaited after.
                send = await self.kafka.publish(doc["value"], doc["topic"], key=doc["key"].encode(), headers=doc["headers"], confirm=False)
                sends.append((doc, send))
            except NEVER_SENDABLE as exc:
                await self._set_aside(doc, exc)
            finally:
                context.detach(token)
        results = await asyncio.gather(*(send for _, send in sends), return_exceptions=True)
        now, retry = datetime.now(UTC), None
        for (doc, _), result in zip(sends, results, strict=True):
            if isinstance(result, NEVER_SENDABLE):
                await self._set_aside(doc, result)
            elif isinstance(result, BaseException):
                retry = result  # published again by the sweep; what did go out is dropped as a repeat
            else:
                self._published[doc["_id"]] = None
                self._published_count.add(1, {"topic": doc["topic"]})
                self._delay.record((now - doc["created_at"]).total_seconds())
        if retry is not None:
            raise retry

    async def _set_aside(self, doc: dict, exc: BaseException) -> None:
        reason = f"{type(exc).__name__}: the broker refuses this event for its size"
        await self.outbox.set_aside(doc["_id"], reason)
        self._unsendable.add(1, {"topic": doc["topic"]})
        log.error("outbox event set aside: it can never be published", extra={"event_id": doc["_id"], "topic": doc["topic"], "reason": reason})
