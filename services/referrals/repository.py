"""The referrals service's collections, each behind a protocol with its MongoDB implementation
over a unit of work:

- `referrals`: one per referral, the candidate's or client's details in it (deleted on
  retention or request, unless hired);
- `referral_claims`: who claimed a candidate or a company first, keyed by a digest of the
  normalised email or name (no address or name in it): the insert-or-conditional-replace of a
  claim is what makes "first referrer wins" hold under concurrent submissions;
- `referrers`: the projection of identity's alumni (services/referrals/referrers.py);
- `bonuses`, and the ATS intake's `unmatched_applications` and `webhook_requests`
  (services/referrals/ats/repository.py).
"""

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Protocol

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.referrals.ats.repository import UNMATCHED, WEBHOOK_REQUESTS, ensure_ats_indexes
from services.referrals.bonus_repository import BONUSES, ensure_bonus_indexes
from services.referrals.domain import CANDIDATE, FINAL, HIRED, WON, AlreadyReferred, Referral, normalised_email
from shared.messaging.uow import UnitOfWork

REFERRALS = "referrals"
CLAIMS = "referral_claims"
REFERRERS = "referrers"
COLLECTIONS = (REFERRALS, CLAIMS, REFERRERS, BONUSES, UNMATCHED, WEBHOOK_REQUESTS)
MAX_SCAN = 500  # referrals one scheduler round or one query looks at


async def ensure_indexes(db: AsyncDatabase, *, webhook_tolerance_seconds: int, unmatched_retention_days: int = 180) -> None:
    await db[REFERRALS].create_index([("alumnus_id", ASCENDING), ("submitted_at", DESCENDING)])
    await db[REFERRALS].create_index([("status", ASCENDING), ("moved_at", ASCENDING)])
    await db[REFERRALS].create_index([("match.email", ASCENDING), ("submitted_at", DESCENDING)])
    await db[REFERRALS].create_index("application_id")
    await db[REFERRALS].create_index("employee_id")
    await db[REFERRALS].create_index("match.hired")
    await add_missing_hire_keys(db)
    await db[REFERRALS].create_index([("closed_at", ASCENDING), ("data_deleted_at", ASCENDING)])
    await db[CLAIMS].create_index("referral_id")
    await ensure_bonus_indexes(db)
    await ensure_ats_indexes(db, webhook_tolerance_seconds=webhook_tolerance_seconds, unmatched_retention_days=unmatched_retention_days)


async def add_missing_hire_keys(db: AsyncDatabase) -> int:
    """The hire keys of hired referrals saved without them (before they were kept, or by an
    instance of an older version during a rolling deploy): at start-up and every scheduler round."""
    added = 0
    async for doc in db[REFERRALS].find({"status": HIRED, "match.hired": {"$exists": False}}, limit=MAX_SCAN):
        keys = _to_document(_from_document(doc))["match"]["hired"]
        added += (await db[REFERRALS].update_one({"_id": doc["_id"], "match.hired": {"$exists": False}}, {"$set": {"match.hired": keys}})).modified_count
    return added


@dataclass(frozen=True)
class ReferralQuery:
    alumnus_id: str | None = None
    status: str | None = None
    kind: str | None = None
    page: int = 1
    page_size: int = 20

    def filter(self) -> dict[str, Any]:
        return {k: v for k, v in (("alumnus_id", self.alumnus_id), ("status", self.status), ("kind", self.kind)) if v}


class ReferralRepository(Protocol):
    async def get(self, referral_id: str) -> Referral | None: ...
    async def save(self, referral: Referral) -> None: ...
    async def claim_holder(self, key: str) -> Referral | None:
        """The referral that claimed this key last, if any (it may no longer hold the claim)."""
    async def claim(self, key: str, referral_id: str, replacing: str | None) -> None:
        """Take the claim, replacing `replacing`'s; raises `AlreadyReferred` if another took it."""
    async def release(self, referral_id: str) -> None: ...
    async def find(self, query: ReferralQuery) -> tuple[int, list[Referral]]: ...
    async def by_application(self, application_id: str) -> Referral | None:
        """The latest referral linked to this application."""
    async def by_candidate_email(self, email: str, since: datetime) -> list[Referral]:
        """Candidate referrals of this (normalised) email submitted since then, the latest first."""
    async def hires(self, employee_id: str | None, emails: list[str]) -> list[Referral]:
        """Hired candidates with this employee id or one of these (normalised) emails."""
    async def idle(self, before: datetime) -> list[str]:
        """Ids of referrals not final whose last movement was before then."""
    async def data_due(self, closed_before: datetime) -> list[str]:
        """Ids of final referrals, not hired, closed before then, whose personal data is still held."""
    async def of_referrer(self, alumnus_id: str) -> list[Referral]: ...
    async def of_candidate(self, email: str) -> list[Referral]: ...
    async def submitted_between(self, start: datetime, end: datetime) -> list[Referral]: ...


def _to_document(r: Referral) -> dict[str, Any]:
    doc = asdict(r)
    doc["_id"] = doc.pop("referral_id")
    # What matching reads: the candidate's normalised email, while it is held; a hire's keys.
    doc["match"] = {"email": r.candidate_email} if r.kind == CANDIDATE and r.candidate_email else {}
    if r.status == HIRED:
        doc["match"]["hired"] = _hire_keys(r.employee_id, [r.candidate_email] if r.candidate_email else [])
    return doc


def _hire_keys(employee_id: str | None, emails: Sequence[str]) -> list[str]:
    """One indexed field for "this employee id or one of these emails": the local database
    answers a query with `$or` by reading the whole collection."""
    return ([f"employee:{employee_id}"] if employee_id else []) + [f"email:{normalised_email(e)}" for e in emails]


def _from_document(doc: dict[str, Any]) -> Referral:
    fields = {k: v for k, v in doc.items() if k not in ("_id", "match")}
    return Referral(referral_id=doc["_id"], **fields)


class MongoReferrals:
    """`ReferralRepository` in MongoDB, within a unit of work's transaction."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.db = uow.db
        self.session = uow.session

    async def _many(self, selector: dict[str, Any], **kwargs: Any) -> list[Referral]:
        cursor = self.db[REFERRALS].find(selector, session=self.session, **kwargs)
        return [_from_document(d) async for d in cursor]

    async def _ids(self, selector: dict[str, Any]) -> list[str]:
        cursor = self.db[REFERRALS].find(selector, {"_id": 1}, limit=MAX_SCAN, session=self.session)
        return [d["_id"] async for d in cursor]

    async def get(self, referral_id: str) -> Referral | None:
        doc = await self.db[REFERRALS].find_one({"_id": referral_id}, session=self.session)
        return _from_document(doc) if doc else None

    async def save(self, referral: Referral) -> None:
        await self.db[REFERRALS].replace_one({"_id": referral.referral_id}, _to_document(referral), upsert=True, session=self.session)

    async def claim_holder(self, key: str) -> Referral | None:
        claim = await self.db[CLAIMS].find_one({"_id": key}, session=self.session)
        return await self.get(claim["referral_id"]) if claim else None

    async def claim(self, key: str, referral_id: str, replacing: str | None) -> None:
        try:
            if replacing is None:
                await self.db[CLAIMS].insert_one({"_id": key, "referral_id": referral_id}, session=self.session)
                return
            result = await self.db[CLAIMS].replace_one(
                {"_id": key, "referral_id": replacing}, {"referral_id": referral_id}, session=self.session
            )
        except DuplicateKeyError:
            raise AlreadyReferred("already referred within the validity window") from None
        if result.matched_count != 1:
            raise AlreadyReferred("already referred within the validity window")

    async def release(self, referral_id: str) -> None:
        await self.db[CLAIMS].delete_many({"referral_id": referral_id}, session=self.session)

    async def find(self, query: ReferralQuery) -> tuple[int, list[Referral]]:
        selector = query.filter()
        total = await self.db[REFERRALS].count_documents(selector, session=self.session)
        found = await self._many(selector, sort=[("submitted_at", DESCENDING), ("_id", ASCENDING)],
                                 skip=(query.page - 1) * query.page_size, limit=query.page_size)
        return total, found

    async def by_application(self, application_id: str) -> Referral | None:
        doc = await self.db[REFERRALS].find_one({"application_id": application_id}, sort=[("submitted_at", DESCENDING)], session=self.session)
        return _from_document(doc) if doc else None

    async def by_candidate_email(self, email: str, since: datetime) -> list[Referral]:
        selector = {"match.email": normalised_email(email), "submitted_at": {"$gte": since}}
        return await self._many(selector, sort=[("submitted_at", DESCENDING)], limit=10)

    async def hires(self, employee_id: str | None, emails: list[str]) -> list[Referral]:
        keys = _hire_keys(employee_id, emails)  # kept on hired referrals only: the filter is that one field, its index
        return [r for r in await self._many({"match.hired": {"$in": keys}}, limit=10) if r.status == HIRED] if keys else []

    async def idle(self, before: datetime) -> list[str]:
        return await self._ids({"status": {"$nin": sorted(FINAL)}, "moved_at": {"$lt": before}})

    async def data_due(self, closed_before: datetime) -> list[str]:
        return await self._ids({"status": {"$nin": [HIRED, WON]}, "closed_at": {"$ne": None, "$lte": closed_before},
                                "data_deleted_at": None})

    async def of_referrer(self, alumnus_id: str) -> list[Referral]:
        return await self._many({"alumnus_id": alumnus_id})

    async def of_candidate(self, email: str) -> list[Referral]:
        return await self._many({"match.email": normalised_email(email)})

    async def submitted_between(self, start: datetime, end: datetime) -> list[Referral]:
        return await self._many({"submitted_at": {"$gte": start, "$lt": end}}, limit=100_000)
