"""The transactional outbox: events are stored with the state change that they announce, in the
same MongoDB transaction, then published by a relay (shared/messaging/relay.py). An event the
broker acknowledged is removed from the outbox (Kafka holds it from then on). Publishing is at
least once: a crash between publishing and removing republishes, and consumers drop the repeat
by the event's `ce_source` + `ce_id`.

An event is refused when it is written if its value is over `MAX_EVENT_BYTES` (`EventTooLarge`:
a 422 at the HTTP edge, a dead letter in a consumer): with its headers, and the dead-letter
headers it may one day carry, it stays under Kafka's default 1 MiB.
"""

import logging
import time
import uuid
from datetime import UTC, datetime, timedelta

from opentelemetry import propagate
from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from shared.events import Envelope, Event
from shared.messaging.failures import PermanentError

log = logging.getLogger(__name__)

COLLECTION = "outbox"
MAX_EVENT_BYTES = 900_000


class EventTooLarge(PermanentError):
    """An event whose serialised form the broker would refuse: sending it again cannot help."""


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
        value = event.model_dump_json().encode()
        if len(value) > MAX_EVENT_BYTES:
            raise EventTooLarge(f"{envelope.type} is {len(value)} bytes serialised, over the {MAX_EVENT_BYTES} an event may be")
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
            "value": value,
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

    async def backlog(self) -> tuple[int, datetime | None]:
        """How many events wait to be published, and when the oldest of them was written."""
        count = await self.collection.count_documents({"status": "pending"})
        oldest = await self.collection.find_one({"status": "pending"}, {"created_at": 1}, sort=[("status", ASCENDING), ("seq", ASCENDING)])
        return count, oldest["created_at"] if oldest else None

    async def remove(self, ids: list[str]) -> None:
        """Events the broker acknowledged: Kafka keeps them from now on."""
        await self.collection.delete_many({"_id": {"$in": ids}})

    async def set_aside(self, event_id: str, reason: str) -> None:
        """An event the broker can never take (too large): out of the pending ones, so that it
        never holds back those behind it; kept, with the reason, for an operator to look at."""
        await self.collection.update_one(
            {"_id": event_id}, {"$set": {"status": "unsendable", "reason": reason, "set_aside_at": datetime.now(UTC)}}
        )
