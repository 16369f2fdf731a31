"""The engagement service's collections, behind one small protocol each:

- `hosted_events`: the events, with `seats_taken` and `waitlist_tickets` kept by conditional
  updates (never read-then-written), so that concurrent answers never oversubscribe a room;
- `answers`: one per (event, alumnus), with its status and waitlist ticket;
- `check_ins`: who came;
- `known_alumni`: the projection of identity's alumni that audiences are chosen by (no name,
  no address), tombstones for the erased (services/engagement/known_alumni.py);
- `mailings`: the chunked fan-outs in progress (invitations, reminders, updates).
"""

from datetime import datetime
from typing import Any, Protocol

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from services.engagement.documents import answer_from_document, answer_to_document, event_from_document, event_to_document
from services.engagement.domain import GOING, PUBLISHED, WAITLISTED, Answer, HostedEvent, Mailing
from shared.messaging.uow import UnitOfWork

HOSTED_EVENTS, ANSWERS, CHECK_INS, KNOWN_ALUMNI, MAILINGS = "hosted_events", "answers", "check_ins", "known_alumni", "mailings"
COLLECTIONS = (HOSTED_EVENTS, ANSWERS, CHECK_INS, KNOWN_ALUMNI, MAILINGS)
MAX_LISTED = 10_000  # answers an attendees list shows at most


async def ensure_indexes(db: AsyncDatabase) -> None:
    await db[HOSTED_EVENTS].create_index([("status", ASCENDING), ("starts_at", ASCENDING)])
    await db[ANSWERS].create_index([("event_id", ASCENDING), ("status", ASCENDING), ("ticket", ASCENDING)])
    await db[ANSWERS].create_index([("event_id", ASCENDING), ("status", ASCENDING), ("alumnus_id", ASCENDING)])
    await db[ANSWERS].create_index("alumnus_id")
    await db[CHECK_INS].create_index("alumnus_id")
    await db[HOSTED_EVENTS].create_index("speaker_alumni_ids")
    await db[KNOWN_ALUMNI].create_index([("consents.events", ASCENDING), ("country", ASCENDING)])
    await db[KNOWN_ALUMNI].create_index("alumnus_id")  # projected before it was written: given it once
    await db[KNOWN_ALUMNI].update_many({"alumnus_id": {"$exists": False}, "erased_at": {"$exists": False}}, [{"$set": {"alumnus_id": "$_id"}}])
    await db[MAILINGS].create_index("done")


class HostedEvents(Protocol):
    async def get(self, event_id: str) -> HostedEvent | None: ...
    async def add(self, hosted: HostedEvent) -> None: ...
    async def save(self, hosted: HostedEvent) -> None:
        """Everything but the seats and tickets, which only the methods below change."""
    async def take_seat(self, event_id: str, capacity: int | None) -> bool:
        """One seat more, if one is free (always, without a capacity)."""
    async def free_seat(self, event_id: str) -> None: ...
    async def next_ticket(self, event_id: str) -> int: ...
    async def listing(self, statuses: tuple[str, ...], starting_after: object = None) -> list[HostedEvent]: ...
    async def to_remind(self, now: datetime, until: datetime) -> list[str]:
        """Published events not reminded yet that start after `now` and by `until`."""
    async def with_speaker(self, alumnus_id: str) -> list[HostedEvent]: ...


class Answers(Protocol):
    async def get(self, event_id: str, alumnus_id: str) -> Answer | None: ...
    async def save(self, answer: Answer) -> None: ...
    async def first_waitlisted(self, event_id: str) -> Answer | None: ...
    async def waitlist_position(self, event_id: str, ticket: int) -> int: ...
    async def of_event(self, event_id: str) -> list[Answer]: ...
    async def going_after(self, event_id: str, after: str, limit: int) -> list[str]: ...  # in alumnus id order
    async def of_alumnus(self, alumnus_id: str) -> list[Answer]: ...
    async def forget_alumnus(self, alumnus_id: str) -> None: ...


class CheckIns(Protocol):
    async def record(self, event_id: str, alumnus_ids: list[str], at: object) -> list[str]:
        """Those not checked in before, now checked in."""
    async def of_event(self, event_id: str) -> list[str]: ...
    async def of_alumnus(self, alumnus_id: str) -> list[dict[str, Any]]: ...  # `event_id`, `checked_in_at`
    async def forget_alumnus(self, alumnus_id: str) -> None: ...


class Mailings(Protocol):
    async def add(self, mailing: Mailing) -> None:
        """Once: a mailing already there stays as it is."""
    async def get(self, mailing_id: str) -> Mailing | None: ...
    async def advance(self, mailing: Mailing, from_chunk: int) -> bool:
        """Record the mailing's progress if nobody else recorded this chunk."""
    async def pending(self) -> list[str]: ...


class _Repository:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.db = uow.db
        self.session = uow.session


class MongoHostedEvents(_Repository):
    async def get(self, event_id: str) -> HostedEvent | None:
        doc = await self.db[HOSTED_EVENTS].find_one({"_id": event_id}, session=self.session)
        return event_from_document(doc) if doc else None

    async def add(self, hosted: HostedEvent) -> None:
        await self.db[HOSTED_EVENTS].insert_one(event_to_document(hosted) | {"seats_taken": 0, "waitlist_tickets": 0}, session=self.session)

    async def save(self, hosted: HostedEvent) -> None:
        await self.db[HOSTED_EVENTS].update_one({"_id": hosted.event_id}, {"$set": event_to_document(hosted)}, session=self.session)

    async def take_seat(self, event_id: str, capacity: int | None) -> bool:
        selector = {"_id": event_id} | ({"seats_taken": {"$lt": capacity}} if capacity is not None else {})
        result = await self.db[HOSTED_EVENTS].update_one(selector, {"$inc": {"seats_taken": 1}}, session=self.session)
        return result.modified_count == 1

    async def free_seat(self, event_id: str) -> None:
        await self.db[HOSTED_EVENTS].update_one({"_id": event_id, "seats_taken": {"$gt": 0}}, {"$inc": {"seats_taken": -1}}, session=self.session)

    async def next_ticket(self, event_id: str) -> int:
        doc = await self.db[HOSTED_EVENTS].find_one_and_update(
            {"_id": event_id}, {"$inc": {"waitlist_tickets": 1}}, return_document=ReturnDocument.AFTER, session=self.session
        )
        return doc["waitlist_tickets"]

    async def listing(self, statuses: tuple[str, ...], starting_after: object = None) -> list[HostedEvent]:
        selector: dict = {"status": {"$in": list(statuses)}}
        if starting_after is not None:
            selector["starts_at"] = {"$gt": starting_after}
        cursor = self.db[HOSTED_EVENTS].find(selector, sort=[("starts_at", ASCENDING)], limit=1000, session=self.session)
        return [event_from_document(d) async for d in cursor]

    async def to_remind(self, now: datetime, until: datetime) -> list[str]:
        selector = {"status": PUBLISHED, "reminded": False, "starts_at": {"$gt": now, "$lte": until}}
        return [d["_id"] async for d in self.db[HOSTED_EVENTS].find(selector, {"_id": 1}, limit=1000, session=self.session)]

    async def with_speaker(self, alumnus_id: str) -> list[HostedEvent]:
        cursor = self.db[HOSTED_EVENTS].find({"speaker_alumni_ids": alumnus_id}, sort=[("starts_at", ASCENDING)], limit=1000, session=self.session)
        return [event_from_document(d) async for d in cursor]


class MongoAnswers(_Repository):
    async def get(self, event_id: str, alumnus_id: str) -> Answer | None:
        doc = await self.db[ANSWERS].find_one({"_id": f"{event_id}|{alumnus_id}"}, session=self.session)
        return answer_from_document(doc) if doc else None

    async def save(self, answer: Answer) -> None:
        doc = answer_to_document(answer)
        await self.db[ANSWERS].replace_one({"_id": doc["_id"]}, doc, upsert=True, session=self.session)

    async def first_waitlisted(self, event_id: str) -> Answer | None:
        doc = await self.db[ANSWERS].find_one({"event_id": event_id, "status": WAITLISTED}, sort=[("ticket", ASCENDING)], session=self.session)
        return answer_from_document(doc) if doc else None

    async def waitlist_position(self, event_id: str, ticket: int) -> int:
        return await self.db[ANSWERS].count_documents({"event_id": event_id, "status": WAITLISTED, "ticket": {"$lte": ticket}}, session=self.session)

    async def of_event(self, event_id: str) -> list[Answer]:
        cursor = self.db[ANSWERS].find({"event_id": event_id}, sort=[("answered_at", ASCENDING)], limit=MAX_LISTED, session=self.session)
        return [answer_from_document(d) async for d in cursor]

    async def going_after(self, event_id: str, after: str, limit: int) -> list[str]:
        cursor = self.db[ANSWERS].find(
            {"event_id": event_id, "status": GOING, "alumnus_id": {"$gt": after}}, sort=[("alumnus_id", ASCENDING)], limit=limit,
            session=self.session,
        )
        return [d["alumnus_id"] async for d in cursor]

    async def of_alumnus(self, alumnus_id: str) -> list[Answer]:
        return [answer_from_document(d) async for d in self.db[ANSWERS].find({"alumnus_id": alumnus_id}, session=self.session)]

    async def forget_alumnus(self, alumnus_id: str) -> None:
        await self.db[ANSWERS].delete_many({"alumnus_id": alumnus_id}, session=self.session)


class MongoCheckIns(_Repository):
    async def record(self, event_id: str, alumnus_ids: list[str], at: object) -> list[str]:
        known = {d["alumnus_id"] async for d in self.db[CHECK_INS].find({"event_id": event_id, "alumnus_id": {"$in": alumnus_ids}}, session=self.session)}
        new = [a for a in dict.fromkeys(alumnus_ids) if a not in known]
        if new:
            docs = [{"_id": f"{event_id}|{a}", "event_id": event_id, "alumnus_id": a, "checked_in_at": at} for a in new]
            await self.db[CHECK_INS].insert_many(docs, session=self.session)
        return new

    async def of_event(self, event_id: str) -> list[str]:
        cursor = self.db[CHECK_INS].find({"event_id": event_id}, sort=[("alumnus_id", ASCENDING)], limit=MAX_LISTED, session=self.session)
        return [d["alumnus_id"] async for d in cursor]

    async def of_alumnus(self, alumnus_id: str) -> list[dict[str, Any]]:
        cursor = self.db[CHECK_INS].find({"alumnus_id": alumnus_id}, {"_id": 0, "event_id": 1, "checked_in_at": 1},
                                         sort=[("checked_in_at", ASCENDING)], limit=MAX_LISTED, session=self.session)
        return [d async for d in cursor]

    async def forget_alumnus(self, alumnus_id: str) -> None:
        await self.db[CHECK_INS].delete_many({"alumnus_id": alumnus_id}, session=self.session)


class MongoMailings(_Repository):
    async def add(self, mailing: Mailing) -> None:
        doc = {"event_id": mailing.event_id, "kind": mailing.kind, "sequence": mailing.sequence, "after": "", "chunk": 0,
               "done": False, "changed": list(mailing.changed), "span": mailing.span}
        await self.db[MAILINGS].update_one({"_id": mailing.mailing_id}, {"$setOnInsert": doc}, upsert=True, session=self.session)

    async def get(self, mailing_id: str) -> Mailing | None:
        d = await self.db[MAILINGS].find_one({"_id": mailing_id}, session=self.session)
        if d is None:
            return None
        return Mailing(d["_id"], d["event_id"], d["kind"], d["sequence"], d["after"], d["chunk"], d["done"], tuple(d.get("changed", ())), d.get("span", 1.0))

    async def advance(self, mailing: Mailing, from_chunk: int) -> bool:
        result = await self.db[MAILINGS].update_one(
            {"_id": mailing.mailing_id, "chunk": from_chunk},
            {"$set": {"after": mailing.after, "chunk": mailing.chunk, "done": mailing.done, "span": mailing.span}}, session=self.session,
        )
        return result.modified_count == 1

    async def pending(self) -> list[str]:
        return [d["_id"] async for d in self.db[MAILINGS].find({"done": False}, {"_id": 1}, limit=1000, session=self.session)]
