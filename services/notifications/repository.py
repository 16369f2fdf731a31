"""The notifications service's collections:

- `reachable_alumni`: its projection of identity's alumni (address, locale, consents), applied
  in `version` order; an erased alumnus's document is replaced by a tombstone (`_id` and
  `erased_at`, nothing personal), so that a late event never brings them back;
- `rsvps`: who answered which hosted event;
- `deliveries`: one per (event, recipient, channel), with its status.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from shared.events.types import Purpose
from shared.messaging.uow import UnitOfWork

REACHABLE = "reachable_alumni"
RSVPS = "rsvps"
DELIVERIES = "deliveries"
COLLECTIONS = (REACHABLE, RSVPS, DELIVERIES)
SETTLED = ("sent", "skipped")  # final: never sent again


async def ensure_indexes(db: AsyncDatabase) -> None:
    await db[REACHABLE].create_index([("consents.events", ASCENDING), ("country", ASCENDING)])
    await db[RSVPS].create_index("event_id")
    await db[DELIVERIES].create_index([("recipient_id", ASCENDING), ("created_at", ASCENDING)])
    await db[DELIVERIES].create_index("source_event_id")


@dataclass(frozen=True)
class Reachable:
    alumnus_id: str
    email: str | None
    first_name: str
    last_name: str
    locale: str
    country: str | None
    consents: dict[str, bool]

    def consents_to(self, purpose: Purpose) -> bool:
        return self.consents.get(purpose.value, False)


def _is_tombstone(doc: dict[str, Any]) -> bool:
    return "erased_at" in doc


def _reachable(doc: dict[str, Any]) -> Reachable:
    return Reachable(
        doc["_id"], doc.get("email"), doc.get("first_name", ""), doc.get("last_name", ""), doc.get("locale", "en"),
        doc.get("country"), doc.get("consents", {}),
    )


class ReachableAlumni:
    """One per unit of work: it remembers what it wrote, so that planning a message about an
    alumnus just registered does not read the projection back."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.db = uow.db
        self.session = uow.session
        self._written: dict[str, dict[str, Any] | None] = {}

    async def _load(self, alumnus_id: str) -> dict[str, Any] | None:
        """The document to change (a new one if none), or None for an erased alumnus."""
        doc = await self.db[REACHABLE].find_one({"_id": alumnus_id}, session=self.session)
        if doc is None:
            return {"_id": alumnus_id, "contact_version": 0, "consents": {}, "consent_versions": {}}
        return None if _is_tombstone(doc) else doc

    async def _store(self, doc: dict[str, Any]) -> None:
        await self.db[REACHABLE].replace_one({"_id": doc["_id"]}, doc, upsert=True, session=self.session)
        self._written[doc["_id"]] = doc

    async def register(self, alumnus_id: str, version: int, contact: dict[str, Any], consents: dict[str, bool]) -> None:
        """A registration brings the contact details and every consent at `version`: one read,
        one write."""
        doc = await self._load(alumnus_id)
        if doc is None:
            return
        if version > doc["contact_version"]:
            doc |= contact | {"contact_version": version}
        for purpose, granted in consents.items():
            if version > doc["consent_versions"].get(purpose, 0):
                doc["consents"][purpose] = granted
                doc["consent_versions"][purpose] = version
        await self._store(doc)

    async def update_contact(self, alumnus_id: str, version: int, contact: dict[str, Any]) -> None:
        """Profile changes and consent changes travel on different topics and may arrive in
        any order: each keeps its own version, and only a newer change applies."""
        doc = await self._load(alumnus_id)
        if doc is not None and version > doc["contact_version"]:
            await self._store(doc | contact | {"contact_version": version})

    async def set_consent(self, alumnus_id: str, purpose: Purpose, granted: bool, version: int | None = None) -> None:
        """`version` None: a local change (an unsubscribe link), honoured at once."""
        doc = await self._load(alumnus_id)
        if doc is None or (version is not None and version <= doc["consent_versions"].get(purpose.value, 0)):
            return
        doc["consents"][purpose.value] = granted
        if version is not None:
            doc["consent_versions"][purpose.value] = version
        await self._store(doc)

    async def erase(self, alumnus_id: str, at: datetime) -> None:
        await self.db[REACHABLE].replace_one({"_id": alumnus_id}, {"_id": alumnus_id, "erased_at": at}, upsert=True, session=self.session)
        await self.db[RSVPS].delete_many({"alumnus_id": alumnus_id}, session=self.session)
        self._written[alumnus_id] = None

    async def get(self, alumnus_id: str) -> Reachable | None:
        if alumnus_id in self._written:
            doc = self._written[alumnus_id]
        else:
            doc = await self.db[REACHABLE].find_one({"_id": alumnus_id}, session=self.session)
        return _reachable(doc) if doc and not _is_tombstone(doc) else None

    async def consenting(self, purpose: Purpose, countries: list[str]) -> list[Reachable]:
        selector: dict[str, Any] = {f"consents.{purpose.value}": True, "email": {"$ne": None}}
        if countries:
            selector["country"] = {"$in": countries}
        return [_reachable(d) async for d in self.db[REACHABLE].find(selector, session=self.session)]

    async def record_rsvp(self, event_id: str, alumnus_id: str, response: str) -> None:
        await self.db[RSVPS].update_one(
            {"_id": f"{event_id}|{alumnus_id}"},
            {"$set": {"event_id": event_id, "alumnus_id": alumnus_id, "response": response}},
            upsert=True, session=self.session,
        )

    async def attendees(self, event_id: str) -> list[str]:
        cursor = self.db[RSVPS].find({"event_id": event_id, "response": {"$in": ["yes", "maybe"]}}, session=self.session)
        return [d["alumnus_id"] async for d in cursor]


class Deliveries:
    def __init__(self, uow: UnitOfWork) -> None:
        self.collection = uow.db[DELIVERIES]
        self.session = uow.session

    async def plan(self, documents: list[dict[str, Any]]) -> None:
        if documents:
            await self.collection.insert_many(documents, ordered=True, session=self.session)

    async def claim(self, delivery_id: str, status: str, at: datetime, **fields: Any) -> bool:
        """Settle a delivery that is not settled yet (planned, or failed before); False if it is."""
        result = await self.collection.update_one(
            {"_id": delivery_id, "status": {"$nin": list(SETTLED)}},
            {"$set": {"status": status, "settled_at": at} | fields},
            session=self.session,
        )
        return result.matched_count == 1

    async def settle(self, delivery_id: str, status: str, at: datetime, **fields: Any) -> None:
        await self.collection.update_one(
            {"_id": delivery_id}, {"$set": {"status": status, "settled_at": at} | fields}, session=self.session
        )

    async def find(self, selector: dict[str, Any], limit: int) -> list[dict[str, Any]]:
        cursor = self.collection.find(selector, sort=[("created_at", ASCENDING)], limit=limit, session=self.session)
        return await cursor.to_list()

    async def forget_recipient(self, alumnus_id: str) -> None:
        """Erasure: a delivery keeps no address; the audit keeps that one was sent."""
        await self.collection.update_many({"recipient_id": alumnus_id}, {"$unset": {"address": ""}}, session=self.session)
