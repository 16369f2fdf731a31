"""The notifications service's collections, behind `ReachableAlumni` and `Deliveries`:

- `reachable_alumni`: its projection of identity's alumni (address, locale, consents, and the
  versions they were set at); an erased alumnus's document is a tombstone (`_id` and
  `erased_at`, nothing personal);
- `rsvps`: who answered which hosted event;
- `deliveries`: one per (event, recipient, channel), with its status; kept for the retention
  period of the audit (DELIVERY_RETENTION_DAYS) after it was planned, then removed by a TTL index.
"""

from collections.abc import Collection, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any, Protocol

from pymongo import ASCENDING, ReplaceOne
from pymongo.asynchronous.database import AsyncDatabase

from services.notifications.domain import ATTENDING, FAILED, PLANNED, SENT, SETTLED, Contact, Delivery, ReachableAlumnus
from shared.events.notifications import DeliveryRequest
from shared.events.types import Purpose
from shared.messaging.uow import UnitOfWork
from shared.service.mongo import ensure_expiry

REACHABLE = "reachable_alumni"
RSVPS = "rsvps"
DELIVERIES = "deliveries"
COLLECTIONS = (REACHABLE, RSVPS, DELIVERIES)


async def ensure_indexes(db: AsyncDatabase, *, delivery_retention_days: int = 365) -> None:
    await db[REACHABLE].create_index([("consents.events", ASCENDING), ("country", ASCENDING)])
    await db[RSVPS].create_index("event_id")
    await db[DELIVERIES].create_index([("recipient_id", ASCENDING), ("created_at", ASCENDING)])
    await db[DELIVERIES].create_index("source_event_id")
    await ensure_expiry(db[DELIVERIES], "created_at", delivery_retention_days * 86400)


class ReachableAlumni(Protocol):
    async def get(self, alumnus_id: str) -> ReachableAlumnus | None:
        """The alumnus as projected (a tombstone if erased); None if unknown."""

    async def many(self, alumnus_ids: Sequence[str]) -> dict[str, ReachableAlumnus]:
        """Those of `alumnus_ids` the projection knows (tombstones too), by id."""

    async def save(self, alumnus: ReachableAlumnus) -> None: ...

    async def save_many(self, alumni: Sequence[ReachableAlumnus], *, new: bool) -> None:
        """Several at once (an import's chunk): `new`, none of them was projected before."""

    async def erase(self, alumnus_id: str, at: datetime) -> None:
        """Replace the alumnus by a tombstone and forget their RSVPs."""

    async def consenting(self, purpose: Purpose, countries: Sequence[str]) -> list[ReachableAlumnus]:
        """Alumni with an address who consented to `purpose`, in `countries` (empty: anywhere)."""

    async def record_rsvp(self, hosted_event_id: str, alumnus_id: str, response: str) -> None: ...

    async def attendees(self, hosted_event_id: str) -> list[str]:
        """The alumni who answered yes or maybe."""

    async def held(self, alumnus_id: str) -> dict[str, Any]:
        """What is projected of the alumnus, and their RSVPs, as stored (a GDPR access export)."""


class Deliveries(Protocol):
    async def plan(self, requests: Sequence[DeliveryRequest], at: datetime, *, sent: Collection[str] = ()) -> None:
        """Record these deliveries planned; those in `sent` were sent already, in this transaction."""

    async def claim(self, delivery_id: str, status: str, at: datetime, reason: str | None = None) -> bool:
        """Settle a delivery that is not settled yet (planned, or failed before); False if it is."""

    async def statuses(self, delivery_ids: Sequence[str]) -> dict[str, str]:
        """The status of each of these deliveries that is recorded, by id."""
    async def claim_many(self, delivery_ids: Sequence[str], status: str, at: datetime, reason: str | None = None) -> None:
        """Settle these deliveries, read unsettled in this transaction (one write for them all)."""

    async def restore(self, statuses: dict[str, str]) -> None:
        """Put these deliveries back to the status they had (a claim whose send failed)."""

    async def record_failure(self, delivery_id: str, at: datetime, *, reason: str, attempts: int, permanent: bool) -> None: ...
    async def to_recipient(self, recipient_id: str, limit: int) -> list[Delivery]: ...
    async def of_event(self, source_event_id: str, limit: int) -> list[Delivery]: ...

    async def forget_recipient(self, alumnus_id: str) -> None:
        """Erasure: a delivery keeps no address; the audit keeps that one was sent."""

    async def held(self, recipient_ids: Sequence[str]) -> list[dict[str, Any]]:
        """The deliveries to these recipients (an alumnus id, a leaver's employee id), as stored."""


def _to_document(a: ReachableAlumnus) -> dict[str, Any]:
    if a.erased:
        return {"_id": a.alumnus_id, "erased_at": a.erased_at}
    doc = {
        "_id": a.alumnus_id,
        "contact_version": a.contact_version,
        "consents": {p.value: granted for p, granted in a.consents.items()},
        "consent_versions": {p.value: version for p, version in a.consent_versions.items()},
    }
    return doc | asdict(a.contact) if a.contact else doc


def _from_document(doc: dict[str, Any]) -> ReachableAlumnus:
    if "erased_at" in doc:
        return ReachableAlumnus.tombstone(doc["_id"], doc["erased_at"])
    contact = None
    if doc.get("contact_version", 0) > 0:
        contact = Contact(doc.get("email"), doc.get("first_name", ""), doc.get("last_name", ""), doc.get("locale", "en"), doc.get("country"))
    return ReachableAlumnus(
        doc["_id"],
        contact,
        doc.get("contact_version", 0),
        {Purpose(p): granted for p, granted in doc.get("consents", {}).items()},
        {Purpose(p): version for p, version in doc.get("consent_versions", {}).items()},
    )


class MongoReachableAlumni:
    """`ReachableAlumni` in MongoDB, within a unit of work's transaction."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.db = uow.db
        self.session = uow.session

    async def get(self, alumnus_id: str) -> ReachableAlumnus | None:
        doc = await self.db[REACHABLE].find_one({"_id": alumnus_id}, session=self.session)
        return _from_document(doc) if doc else None

    async def many(self, alumnus_ids: Sequence[str]) -> dict[str, ReachableAlumnus]:
        if not alumnus_ids:
            return {}
        cursor = self.db[REACHABLE].find({"_id": {"$in": list(alumnus_ids)}}, session=self.session)
        return {d["_id"]: _from_document(d) async for d in cursor}

    async def save(self, alumnus: ReachableAlumnus) -> None:
        self.uow.replace_last(REACHABLE, {"_id": alumnus.alumnus_id}, _to_document(alumnus), upsert=True)

    async def save_many(self, alumni: Sequence[ReachableAlumnus], *, new: bool) -> None:
        if not alumni:
            return
        if new:
            await self.db[REACHABLE].insert_many([_to_document(a) for a in alumni], session=self.session)
        else:
            await self.db[REACHABLE].bulk_write(
                [ReplaceOne({"_id": a.alumnus_id}, _to_document(a), upsert=True) for a in alumni], ordered=False, session=self.session
            )

    async def erase(self, alumnus_id: str, at: datetime) -> None:
        await self.save(ReachableAlumnus.tombstone(alumnus_id, at))
        await self.db[RSVPS].delete_many({"alumnus_id": alumnus_id}, session=self.session)

    async def consenting(self, purpose: Purpose, countries: Sequence[str]) -> list[ReachableAlumnus]:
        selector: dict[str, Any] = {f"consents.{purpose.value}": True, "email": {"$ne": None}}
        if countries:
            selector["country"] = {"$in": list(countries)}
        return [_from_document(d) async for d in self.db[REACHABLE].find(selector, session=self.session)]

    async def record_rsvp(self, hosted_event_id: str, alumnus_id: str, response: str) -> None:
        await self.db[RSVPS].update_one(
            {"_id": f"{hosted_event_id}|{alumnus_id}"},
            {"$set": {"event_id": hosted_event_id, "alumnus_id": alumnus_id, "response": response}},
            upsert=True, session=self.session,
        )

    async def attendees(self, hosted_event_id: str) -> list[str]:
        cursor = self.db[RSVPS].find({"event_id": hosted_event_id, "response": {"$in": list(ATTENDING)}}, session=self.session)
        return [d["alumnus_id"] async for d in cursor]

    async def held(self, alumnus_id: str) -> dict[str, Any]:
        projected = await self.db[REACHABLE].find_one({"_id": alumnus_id}, session=self.session)
        rsvps = await self.db[RSVPS].find({"alumnus_id": alumnus_id}, {"_id": 0}, session=self.session).to_list()
        return {"reachable_alumnus": projected, "rsvps": rsvps}


def _planned(request: DeliveryRequest, at: datetime) -> dict[str, Any]:
    return {"_id": request.delivery_id} | request.facts() | {
        "purpose": request.purpose.value if request.purpose else None,
        "status": PLANNED,
        "attempts": 0,
        "created_at": at,
    }


def _delivery(d: dict[str, Any]) -> Delivery:
    return Delivery(
        d["_id"], d["source_event_id"], d["source_event_type"], d["recipient_kind"], d["recipient_id"], d["channel"],
        d["template"], d["status"], d["created_at"], d.get("reason"), d.get("settled_at"),
    )


class MongoDeliveries:
    """`Deliveries` in MongoDB, within a unit of work's transaction."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.collection = uow.db[DELIVERIES]
        self.session = uow.session

    async def plan(self, requests: Sequence[DeliveryRequest], at: datetime, *, sent: Collection[str] = ()) -> None:
        for request in requests:
            self.uow.insert_last(DELIVERIES, _planned(request, at) | ({"status": SENT, "settled_at": at} if request.delivery_id in sent else {}))

    async def claim(self, delivery_id: str, status: str, at: datetime, reason: str | None = None) -> bool:
        result = await self.collection.update_one(
            {"_id": delivery_id, "status": {"$nin": list(SETTLED)}},
            {"$set": {"status": status, "settled_at": at} | ({"reason": reason} if reason else {})},
            session=self.session,
        )
        return result.matched_count == 1

    async def statuses(self, delivery_ids: Sequence[str]) -> dict[str, str]:
        cursor = self.collection.find({"_id": {"$in": list(delivery_ids)}}, {"status": 1}, session=self.session)
        return {d["_id"]: d["status"] async for d in cursor}

    async def claim_many(self, delivery_ids: Sequence[str], status: str, at: datetime, reason: str | None = None) -> None:
        if delivery_ids:
            await self.collection.update_many({"_id": {"$in": list(delivery_ids)}, "status": {"$nin": list(SETTLED)}},
                                              {"$set": {"status": status, "settled_at": at} | ({"reason": reason} if reason else {})}, session=self.session)

    async def restore(self, statuses: dict[str, str]) -> None:
        for status in set(statuses.values()):
            ids = [delivery_id for delivery_id, was in statuses.items() if was == status]
            await self.collection.update_many({"_id": {"$in": ids}}, {"$set": {"status": status}, "$unset": {"settled_at": ""}}, session=self.session)

    async def record_failure(self, delivery_id: str, at: datetime, *, reason: str, attempts: int, permanent: bool) -> None:
        await self.collection.update_one(
            {"_id": delivery_id},
            {"$set": {"status": FAILED, "settled_at": at, "reason": reason, "attempts": attempts, "permanent": permanent}},
            session=self.session,
        )

    async def to_recipient(self, recipient_id: str, limit: int) -> list[Delivery]:
        return await self._find({"recipient_id": recipient_id}, limit)

    async def of_event(self, source_event_id: str, limit: int) -> list[Delivery]:
        return await self._find({"source_event_id": source_event_id}, limit)

    async def _find(self, selector: dict[str, Any], limit: int) -> list[Delivery]:
        cursor = self.collection.find(selector, sort=[("created_at", ASCENDING)], limit=limit, session=self.session)
        return [_delivery(d) async for d in cursor]

    async def forget_recipient(self, alumnus_id: str) -> None:
        await self.collection.update_many({"recipient_id": alumnus_id}, {"$unset": {"address": ""}}, session=self.session)

    async def held(self, recipient_ids: Sequence[str]) -> list[dict[str, Any]]:
        cursor = self.collection.find({"recipient_id": {"$in": list(recipient_ids)}}, sort=[("created_at", ASCENDING)], session=self.session)
        return await cursor.to_list()
