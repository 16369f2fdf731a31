"""Bonuses in MongoDB (`bonuses`): one per milestone of a hire or a won deal, amounts as
decimal strings; dates as ISO strings (`YYYY-MM-DD`), which sort and compare as dates do."""

from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from services.referrals.bonuses import SCHEDULED, Bonus
from shared.messaging.uow import UnitOfWork

BONUSES = "bonuses"
MAX_DUE = 500  # milestones one scheduler round moves


async def ensure_bonus_indexes(db: AsyncDatabase) -> None:
    await db[BONUSES].create_index([("status", ASCENDING), ("due_on", ASCENDING)])
    await db[BONUSES].create_index("referral_id")
    await db[BONUSES].create_index("alumnus_id")


class BonusRepository(Protocol):
    async def add(self, bonuses: list[Bonus]) -> None: ...
    async def get(self, bonus_id: str) -> Bonus | None: ...
    async def save(self, bonus: Bonus, *, was: str) -> bool:
        """Write it only if its status is still `was` (another replica may have moved it)."""
    async def find(self, status: str | None, referral_id: str | None, limit: int) -> list[Bonus]: ...
    async def due(self, today: date) -> list[str]:
        """Ids of scheduled milestones due on `today` or before."""
    async def of_referral(self, referral_id: str) -> list[Bonus]: ...
    async def of_referrer(self, alumnus_id: str) -> list[Bonus]: ...


def _to_document(b: Bonus) -> dict[str, Any]:
    return {
        "_id": b.bonus_id, "referral_id": b.referral_id, "alumnus_id": b.alumnus_id, "milestone": b.milestone,
        "due_on": b.due_on.isoformat(), "amount": str(b.amount), "currency": b.currency, "status": b.status,
        "created_at": b.created_at, "decided_at": b.decided_at, "decided_by": b.decided_by, "reason": b.reason,
        "clawed_back": b.clawed_back,
    }


def _from_document(d: dict[str, Any]) -> Bonus:
    return Bonus(
        bonus_id=d["_id"], referral_id=d["referral_id"], alumnus_id=d.get("alumnus_id"), milestone=d["milestone"],
        due_on=date.fromisoformat(d["due_on"]), amount=Decimal(d["amount"]), currency=d["currency"], status=d["status"],
        created_at=d["created_at"], decided_at=d.get("decided_at"), decided_by=d.get("decided_by"), reason=d.get("reason"),
        clawed_back=d.get("clawed_back", False),
    )


class MongoBonuses:
    """`BonusRepository` in MongoDB, within a unit of work's transaction."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.collection = uow.db[BONUSES]
        self.session = uow.session

    async def _many(self, selector: dict[str, Any], limit: int = 0) -> list[Bonus]:
        cursor = self.collection.find(selector, sort=[("created_at", ASCENDING), ("_id", ASCENDING)], limit=limit, session=self.session)
        return [_from_document(d) async for d in cursor]

    async def add(self, bonuses: list[Bonus]) -> None:
        if bonuses:
            await self.collection.insert_many([_to_document(b) for b in bonuses], session=self.session)

    async def get(self, bonus_id: str) -> Bonus | None:
        doc = await self.collection.find_one({"_id": bonus_id}, session=self.session)
        return _from_document(doc) if doc else None

    async def save(self, bonus: Bonus, *, was: str) -> bool:
        result = await self.collection.replace_one({"_id": bonus.bonus_id, "status": was}, _to_document(bonus), session=self.session)
        return result.matched_count == 1

    async def find(self, status: str | None, referral_id: str | None, limit: int) -> list[Bonus]:
        selector = {k: v for k, v in (("status", status), ("referral_id", referral_id)) if v}
        return await self._many(selector, limit)

    async def due(self, today: date) -> list[str]:
        cursor = self.collection.find({"status": SCHEDULED, "due_on": {"$lte": today.isoformat()}}, {"_id": 1},
                                      sort=[("due_on", ASCENDING)], limit=MAX_DUE, session=self.session)
        return [d["_id"] async for d in cursor]

    async def of_referral(self, referral_id: str) -> list[Bonus]:
        return await self._many({"referral_id": referral_id})

    async def of_referrer(self, alumnus_id: str) -> list[Bonus]:
        return await self._many({"alumnus_id": alumnus_id})
