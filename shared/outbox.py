"""The transactional outbox: events are stored with the state change that they announce, in the
same MongoDB transaction, then published by a relay.

The relay publishes this process's events as soon as their transaction commits (it is woken),
in the order they were written. A background sweep publishes events that another process
(or this one, before a crash) committed and never marked sent, once their lease has passed.
Publishing is at least once: a crash between publishing and marking sent republishes, and
consumers drop the repeat by the event's `ce_source` + `ce_id`.
"""

import asyncio
import itertools
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta

from faststream.kafka import KafkaBroker
from opentelemetry import context, metrics, propagate
from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from shared.events import Envelope, Event
from shared.failpoints import failpoint

log = logging.getLogger(__name__)

COLLECTION = "outbox"
SENT_RETENTION = timedelta(days=3)


class Outbox:
    """The `outbox` collection of one service's database."""

    def __init__(self, db: AsyncDatabase, source: str, instance: str | None = None) -> None:
        self.collection = db[COLLECTION]
        self.source = source  # the `ce_source` of everything this service emits
        self.instance = instance or uuid.uuid4().hex  # this process: it publishes its own events at once
        # Orders this process's events: commit order within a process, time order across.
        self._seq = itertools.count()

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("status", ASCENDING), ("seq", ASCENDING)])
        await self.collection.create_index("sent_at", expireAfterSeconds=int(SENT_RETENTION.total_seconds()))

    def document(self, event: Event, envelope: Envelope) -> dict:
        carrier: dict[str, str] = {}
        propagate.inject(carrier)  # the trace of the request or event that caused this one
        return {
            "_id": envelope.id,
            "seq": (time.time_ns(), next(self._seq)),
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
        """Unsent events of this process, and of any process whose lease has passed."""
        cutoff = datetime.now(UTC) - lease
        cursor = self.collection.find(
            {"status": "pending", "$or": [{"owner": self.instance}, {"created_at": {"$lt": cutoff}}]},
            sort=[("seq", ASCENDING)],
            limit=limit,
        )
        return await cursor.to_list()

    async def mark_sent(self, ids: list[str]) -> None:
        await self.collection.update_many(
            {"_id": {"$in": ids}}, {"$set": {"status": "sent", "sent_at": datetime.now(UTC)}}
        )


class OutboxRelay:
    def __init__(
        self,
        outbox: Outbox,
        broker: KafkaBroker,
        *,
        sweep_interval: float = 1.0,
        lease: timedelta = timedelta(seconds=5),
        batch_size: int = 500,
    ) -> None:
        self.outbox = outbox
        self.broker = broker
        self.sweep_interval = sweep_interval
        self.lease = lease
        self.batch_size = batch_size
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._stopping = False
        meter = metrics.get_meter("alumni.outbox")
        self._published = meter.create_counter("alumni.outbox.published", unit="{event}", description="Events published from the outbox")
        self._delay = meter.create_histogram(
            "alumni.outbox.publish_delay", unit="s", description="From the outbox write to the broker's acknowledgement"
        )

    def wake(self) -> None:
        """Publish now: called right after a transaction that wrote events commits."""
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        """Publish what this process still holds, then stop."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        backoff = 0.5
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), self.sweep_interval)
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await self.drain()
                backoff = 0.5
            except Exception as exc:
                log.warning("outbox relay could not publish; will retry", extra={"error": f"{type(exc).__name__}: {exc}"})
                if self._stopping:
                    return  # what is left stays pending: the next start (or another replica) sends it
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            if self._stopping:
                return

    async def drain(self) -> int:
        """Publish pending events in order, batch by batch, until none is left."""
        total = 0
        while batch := await self.outbox.pending(self.lease, self.batch_size):
            await self._publish(batch)
            await self.outbox.mark_sent([doc["_id"] for doc in batch])
            total += len(batch)
        return total

    async def _publish(self, batch: list[dict]) -> None:
        failpoint("outbox.before-publish")
        sends = []
        for doc in batch:
            # The producer span continues the trace of the request or event that wrote the event.
            token = context.attach(propagate.extract(doc.get("trace") or {}))
            try:
                sends.append(
                    await self.broker.publish(
                        doc["value"],
                        doc["topic"],
                        key=doc["key"].encode(),
                        headers=doc["headers"],
                        no_confirm=True,  # send the whole batch, then wait for every acknowledgement
                    )
                )
            finally:
                context.detach(token)
        await asyncio.gather(*sends)
        now = datetime.now(UTC)
        for doc in batch:
            self._published.add(1, {"topic": doc["topic"]})
            self._delay.record((now - doc["created_at"]).total_seconds())
