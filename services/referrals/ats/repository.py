"""The ATS intake's collections: the markers of webhook requests already received (a replay is
refused), and the applications that matched no referral (recorded and reported, not
dead-lettered). An unmatched application keeps no candidate address, only whether it had one."""

from contextlib import suppress
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from pymongo import DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, OperationFailure

from shared.messaging.uow import UnitOfWork
from shared.service.mongo import ensure_expiry

UNMATCHED = "unmatched_applications"
WEBHOOK_REQUESTS = "webhook_requests"


class Replayed(Exception):
    """The request's replay key was received before: answered 401."""


async def ensure_ats_indexes(db: AsyncDatabase, *, webhook_tolerance_seconds: int, unmatched_retention_days: int = 180) -> None:
    # Each marker says when it may go: twice the tolerance for timestamped schemes, longer for
    # a vendor whose signature carries no time (Greenhouse).
    await db[WEBHOOK_REQUESTS].create_index("expires_at", expireAfterSeconds=0)
    # Every application of the ATS that names no referral lands here: one not seen again for
    # the retention period goes (the same index answers the newest first).
    await ensure_expiry(db[UNMATCHED], "last_seen_at", unmatched_retention_days * 86400)
    with suppress(OperationFailure):  # the descending index it replaces, where it was made
        await db[UNMATCHED].drop_index([("last_seen_at", DESCENDING)])


class WebhookRequestRepository(Protocol):
    async def seen(self, marker: str) -> bool: ...
    async def remember(self, marker: str, keep: timedelta) -> None:
        """Raises `Replayed` when the marker is known."""


class UnmatchedRepository(Protocol):
    async def record(self, application_id: str, source: str, status: str, changed_at: datetime, *, had_email: bool, at: datetime) -> None: ...
    async def forget(self, application_id: str) -> None: ...
    async def recent(self, limit: int) -> tuple[int, list[dict[str, Any]]]: ...


class MongoWebhookRequests:
    def __init__(self, uow: UnitOfWork) -> None:
        self.collection = uow.db[WEBHOOK_REQUESTS]
        self.session = uow.session

    async def seen(self, marker: str) -> bool:
        return await self.collection.find_one({"_id": marker}, {"_id": 1}, session=self.session) is not None

    async def remember(self, marker: str, keep: timedelta) -> None:
        # Wall-clock time: the TTL monitor expires on it, whatever clock the service follows.
        expires = datetime.now(UTC) + keep
        try:
            await self.collection.insert_one({"_id": marker, "expires_at": expires}, session=self.session)
        except DuplicateKeyError:
            raise Replayed(marker) from None


class MongoUnmatched:
    def __init__(self, uow: UnitOfWork) -> None:
        self.collection = uow.db[UNMATCHED]
        self.session = uow.session

    async def record(self, application_id: str, source: str, status: str, changed_at: datetime, *, had_email: bool, at: datetime) -> None:
        await self.collection.update_one(
            {"_id": application_id},
            {"$set": {"source": source, "status": status, "changed_at": changed_at, "had_email": had_email, "last_seen_at": at},
             "$setOnInsert": {"first_seen_at": at}, "$inc": {"times": 1}},
            upsert=True, session=self.session,
        )

    async def forget(self, application_id: str) -> None:
        await self.collection.delete_one({"_id": application_id}, session=self.session)

    async def recent(self, limit: int) -> tuple[int, list[dict[str, Any]]]:
        total = await self.collection.count_documents({}, session=self.session)
        cursor = self.collection.find({}, sort=[("last_seen_at", DESCENDING)], limit=limit, session=self.session)
        return total, [{"application_id": d.pop("_id")} | d async for d in cursor]
