"""Parked events: a record whose handler says that what it depends on is not there yet (one of
the router's `waiting` errors: a cancellation before its departure, answers before their
completion) is kept in the service's `parked_events` collection, whole (key, value, headers,
where it was read), and its offset is committed: the partition moves on. The re-check loop
(shared/messaging/recheck.py) hands it to its handler again later; the processed-event marker
is written only then, in the transaction that also removes it from here.

A waiting error may name, in `waiting_for`, the aggregates other than the record's own whose
events may settle it (the alumni a notification waits for): an event of one of them handled here
checks it at once, and a person's access export finds it by them.

Each parked event is leased to one process at a time (`owner`, `lease_until`), so that two
instances of a service never handle it twice: every change to it is conditional on the lease.
"""

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from aiokafka import ConsumerRecord
from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from shared.events import Event

COLLECTION = "parked_events"
MOST_WAITED_FOR = 1000  # aggregates kept per parked event (a chunk of named alumni)
E = TypeVar("E", bound=Event)


class LeaseLost(Exception):
    """Another process took this parked event over (our lease had passed): leave it to it."""


@dataclass
class ParkedRecord:
    id: str  # the event's `ce_source` + `ce_id`
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]
    event_type: str
    reason: str  # the waiting error's message: identifiers, never personal data
    parked_at: datetime
    next_check_at: datetime
    checks: int = 0
    owner: str | None = None
    lease_until: datetime | None = None
    waiting_for: list[str] = field(default_factory=list)  # other aggregates whose events may settle it
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(
        cls, record: ConsumerRecord, identity: str, event_type: str, reason: str, now: datetime, check_at: datetime,
        waiting_for: Sequence[str] = (),
    ) -> "ParkedRecord":
        return cls(
            id=identity, topic=record.topic, partition=record.partition, offset=record.offset, key=record.key,
            value=record.value or b"", headers=[(k, v or b"") for k, v in record.headers], event_type=event_type,
            reason=reason, parked_at=now, next_check_at=check_at, waiting_for=list(waiting_for)[:MOST_WAITED_FOR],
        )

    @property
    def aggregate(self) -> str | None:
        """The record's key, as text: what a related event shares with it."""
        return self.key.decode(errors="replace") if self.key is not None else None

    def record(self) -> ConsumerRecord:
        """The record as it was read, for its handler and, at the end, its dead letter."""
        return ConsumerRecord(
            self.topic, self.partition, self.offset, 0, 0, self.key, self.value, None,
            len(self.key or b""), len(self.value), list(self.headers),
        )


class ParkedStore(Protocol):
    async def park(self, parked: ParkedRecord) -> bool:
        """False when this event is parked already (a redelivery of the same record)."""
    async def claim(
        self, owner: str, now: datetime, lease_until: datetime, limit: int, topics: Collection[str] | None = None
    ) -> list[ParkedRecord]:
        """Parked events due for a check whose lease is free, now leased to `owner`; of `topics`
        only, where given (the topics this process reads: another deployment of the service
        that reads others checks theirs)."""
    async def settle(self, uow: Any, parked_id: str, owner: str) -> None:
        """In the unit of work that handles it: remove it, or raise `LeaseLost`."""
    async def postpone(
        self, parked_id: str, owner: str, check_at: datetime, checks: int, reason: str, waiting_for: Sequence[str] | None = None
    ) -> None:
        """Checked and still waiting: free its lease until `check_at`; `waiting_for` what it waits
        for now, where the error named it."""
    async def remove(self, parked_id: str, owner: str) -> None: ...
    async def check_soon(self, keys: list[str], now: datetime) -> None:
        """Events of these aggregates were handled: check at once the events parked for them or
        waiting for them."""
    async def stats(self) -> tuple[int, datetime | None]:
        """How many are parked, and since when the oldest."""


def _document(p: ParkedRecord) -> dict[str, Any]:
    return {
        "_id": p.id, "topic": p.topic, "partition": p.partition, "offset": p.offset, "key": p.key, "value": p.value,
        "headers": [[k, v] for k, v in p.headers], "event_type": p.event_type, "aggregate": p.aggregate, "reason": p.reason,
        "waiting_for": p.waiting_for, "parked_at": p.parked_at, "next_check_at": p.next_check_at, "checks": p.checks, "owner": None, "lease_until": None,
    }


def _parked(doc: dict[str, Any]) -> ParkedRecord:
    return ParkedRecord(
        id=doc["_id"], topic=doc["topic"], partition=doc["partition"], offset=doc["offset"], key=doc["key"],
        value=doc["value"], headers=[(k, v) for k, v in doc["headers"]], event_type=doc["event_type"], reason=doc["reason"],
        parked_at=doc["parked_at"], next_check_at=doc["next_check_at"], checks=doc["checks"], owner=doc.get("owner"),
        lease_until=doc.get("lease_until"), waiting_for=doc.get("waiting_for", []),
    )


class MongoParkedStore:
    """`ParkedStore` in the service's own database."""

    def __init__(self, db: AsyncDatabase) -> None:
        self.collection = db[COLLECTION]

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("next_check_at", ASCENDING)])
        await self.collection.create_index([("aggregate", ASCENDING)])
        await self.collection.create_index([("waiting_for", ASCENDING)])
        await self.collection.create_index([("parked_at", ASCENDING)])

    async def park(self, parked: ParkedRecord) -> bool:
        # One document, written atomically and durably before the offset is committed.
        try:
            await self.collection.insert_one(_document(parked))
        except DuplicateKeyError:
            return False
        return True

    async def claim(
        self, owner: str, now: datetime, lease_until: datetime, limit: int, topics: Collection[str] | None = None
    ) -> list[ParkedRecord]:
        claimed = []
        free: dict[str, Any] = {"next_check_at": {"$lte": now}, "$or": [{"lease_until": None}, {"lease_until": {"$lt": now}}]}
        if topics is not None:
            free["topic"] = {"$in": sorted(topics)}
        for _ in range(limit):
            doc = await self.collection.find_one_and_update(
                free, {"$set": {"owner": owner, "lease_until": lease_until}}, sort=[("next_check_at", ASCENDING)],
                return_document=ReturnDocument.AFTER,
            )
            if doc is None:
                break
            claimed.append(_parked(doc))
        return claimed

    async def settle(self, uow: Any, parked_id: str, owner: str) -> None:
        result = await uow.db[COLLECTION].delete_one({"_id": parked_id, "owner": owner}, session=uow.session)
        if result.deleted_count != 1:
            raise LeaseLost(parked_id)

    async def postpone(
        self, parked_id: str, owner: str, check_at: datetime, checks: int, reason: str, waiting_for: Sequence[str] | None = None
    ) -> None:
        changed: dict[str, Any] = {"next_check_at": check_at, "checks": checks, "reason": reason, "owner": None, "lease_until": None}
        if waiting_for is not None:
            changed["waiting_for"] = list(waiting_for)[:MOST_WAITED_FOR]
        await self.collection.update_one({"_id": parked_id, "owner": owner}, {"$set": changed})

    async def remove(self, parked_id: str, owner: str) -> None:
        await self.collection.delete_one({"_id": parked_id, "owner": owner})

    async def check_soon(self, keys: list[str], now: datetime) -> None:
        for field_name in ("aggregate", "waiting_for"):  # two indexed reads: an `$or` is a scan here (docs/secantusdb-or-scan.md)
            await self.collection.update_many({field_name: {"$in": keys}, "next_check_at": {"$gt": now}}, {"$set": {"next_check_at": now}})

    async def stats(self) -> tuple[int, datetime | None]:
        count = await self.collection.count_documents({})
        oldest = await self.collection.find_one({}, {"parked_at": 1}, sort=[("parked_at", ASCENDING)]) if count else None
        return count, oldest["parked_at"] if oldest else None


class WaitingEvents(Protocol):
    async def of(self, aggregate: str, model: type[E]) -> list[E]:
        """The events of this type parked for this aggregate, within the unit of work: for a
        handler whose event settles what a parked one waits for (a departure, its cancellation)."""
    async def forget(self, aggregates: list[str]) -> int:
        """Erasure: drop the events parked for these aggregates (they may carry personal data)."""
    async def held(self, aggregates: list[str]) -> list[dict[str, Any]]:
        """What is parked for these aggregates or waits for them (a GDPR access export): type,
        since when, why, payload."""


class MongoWaitingEvents:
    def __init__(self, uow: Any) -> None:
        self.collection = uow.db[COLLECTION]
        self.session = uow.session

    async def of(self, aggregate: str, model: type[E]) -> list[E]:
        query = {"aggregate": aggregate, "event_type": model.event_type.type}
        return [model.model_validate_json(doc["value"]) async for doc in self.collection.find(query, {"value": 1}, session=self.session)]

    async def forget(self, aggregates: list[str]) -> int:
        result = await self.collection.delete_many({"aggregate": {"$in": aggregates}}, session=self.session)
        return result.deleted_count

    async def held(self, aggregates: list[str]) -> list[dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for field_name in ("aggregate", "waiting_for"):
            async for d in self.collection.find({field_name: {"$in": aggregates}}, session=self.session):
                found.setdefault(d["_id"], d)
        return [
            {"event_type": d["event_type"], "parked_at": d["parked_at"], "reason": d["reason"], "payload": json.loads(d["value"])}
            for d in found.values()
        ]
