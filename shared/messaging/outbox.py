"""The transactional outbox: events are stored with the state change that they announce, in the
same MongoDB transaction, then published by a relay.

The relay publishes this process's events as soon as their transaction commits (they are handed
over in memory), in the order they were written. A background sweep publishes events that another process
(or this one, before a crash) committed and never published, once their lease has passed.
An event acknowledged by the broker is removed from the outbox (Kafka holds it from then on);
removals are gathered and made together every `removal_interval`. Publishing is at least once:
a crash between publishing and removing republishes, and consumers drop the repeat by the
event's `ce_source` + `ce_id`.
"""

import asyncio
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta

from opentelemetry import context, metrics, propagate
from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from shared.events import Envelope, Event
from shared.messaging.kafka import Publisher
from shared.testing.failpoints import failpoint

log = logging.getLogger(__name__)

COLLECTION = "outbox"


class Outbox:
    """The `outbox` collection of one service's database."""

    def __init__(self, db: AsyncDatabase, source: str, instance: str | None = None) -> None:
        self.collection = db[COLLECTION]
        self.source = source  # the `ce_source` of everything this service emits
        self.instance = instance or uuid.uuid4().hex  # this process: it publishes its own events at once
        # Orders events: strictly increasing within a process, by time across processes.
        self._last_seq = 0

    def _next_seq(self) -> int:
        # One integer, not a (time, counter) pair: an array would make the index multikey.
        self._last_seq = max(self._last_seq + 1, time.time_ns())
        return self._last_seq

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("status", ASCENDING), ("seq", ASCENDING)])

    def document(self, event: Event, envelope: Envelope) -> dict:
        carrier: dict[str, str] = {}
        propagate.inject(carrier)  # the trace of the request or event that caused this one
        return {
            "_id": envelope.id,
            "seq": self._next_seq(),
            "owner": self.instance,
            "status": "pending",
            "created_at": datetime.now(UTC),
            "topic": event.event_type.topic,
            "key": event.key,
            "headers": envelope.headers(),
            "value": event.model_dump_json().encode(),
            "trace": carrier,
        }

    async def add(self, documents: list[dict], session: AsyncClientSession) -> None:
        if documents:
            await self.collection.insert_many(documents, ordered=True, session=session)

    async def pending(self, lease: timedelta, limit: int) -> list[dict]:
        """Unsent events of this process, and of any process whose lease has passed, in order.
        The query is `status` alone, answered by the (status, seq) index; the owner and lease
        rule applies to the few pending ones."""
        cutoff = datetime.now(UTC) - lease
        cursor = self.collection.find({"status": "pending"}, sort=[("status", ASCENDING), ("seq", ASCENDING)], limit=4 * limit)
        mine_or_abandoned = [d async for d in cursor if d["owner"] == self.instance or d["created_at"] < cutoff]
        return mine_or_abandoned[:limit]

    async def remove(self, ids: list[str]) -> None:
        """Events the broker acknowledged: Kafka keeps them from now on."""
        await self.collection.delete_many({"_id": {"$in": ids}})


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
    ) -> None:
        self.outbox = outbox
        self.kafka = kafka
        self.sweep_interval = sweep_interval
        self.lease = lease
        self.batch_size = batch_size
        self.removal_interval = removal_interval
        self._wake = asyncio.Event()
        self._handed: list[dict] = []
        # Published, still in the outbox until the next removal: the sweep must not send them again.
        self._published: dict[str, None] = {}
        self._task: asyncio.Task | None = None
        self._removal_task: asyncio.Task | None = None
        self._stopping = False
        meter = metrics.get_meter("alumni.outbox")
        self._published_count = meter.create_counter("alumni.outbox.published", unit="{event}", description="Events published from the outbox")
        self._delay = meter.create_histogram(
            "alumni.outbox.publish_delay", unit="s", description="From the outbox write to the broker's acknowledgement"
        )

    def wake(self, committed: list[dict] = ()) -> None:
        """Publish now: called right after a transaction that wrote `committed` commits. They are
        handed over in memory, in commit order, so publishing needs no query."""
        self._handed.extend(committed)
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")
        self._removal_task = asyncio.create_task(self._remove_published(), name="outbox-removal")

    async def stop(self) -> None:
        """Publish what this process still holds, remove what is published, then stop."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
        if self._removal_task is not None:
            self._removal_task.cancel()
            await asyncio.gather(self._removal_task, return_exceptions=True)
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

    async def _remove(self) -> None:
        ids = list(self._published)
        for start in range(0, len(ids), self.batch_size):
            chunk = ids[start : start + self.batch_size]
            await self.outbox.remove(chunk)
            for event_id in chunk:  # only now: until removed, the sweep would find them pending
                self._published.pop(event_id, None)

    async def _publish(self, batch: list[dict]) -> None:
        failpoint("outbox.before-publish")
        sends = []
        for doc in batch:
            # The producer span continues the trace of the request or event that wrote the event.
            token = context.attach(propagate.extract(doc.get("trace") or {}))
            try:
                sends.append(
                    await self.kafka.publish(
                        doc["value"],
                        doc["topic"],
                        key=doc["key"].encode(),
                        headers=doc["headers"],
                        confirm=False,  # send the whole batch, then wait for every acknowledgement
                    )
                )
            finally:
                context.detach(token)
        await asyncio.gather(*sends)
        now = datetime.now(UTC)
        for doc in batch:
            self._published[doc["_id"]] = None
            self._published_count.add(1, {"topic": doc["topic"]})
            self._delay.record((now - doc["created_at"]).total_seconds())
