"""`referrers`: referrals' projection of identity's alumni (id, version, address), kept in
version order by one conditional write each (services/referrals/handlers.py, outside any
transaction), a tombstone for the erased that no late or replayed change brings back."""

from collections.abc import Sequence
from typing import Any, Protocol

from pymongo import ReplaceOne
from pymongo.errors import DuplicateKeyError

from services.referrals.domain import Referrer
from services.referrals.repository import REFERRERS
from shared.lookups import find_many
from shared.messaging.uow import UnitOfWork


class ReferrerRepository(Protocol):
    async def get(self, alumnus_id: str) -> Referrer | None: ...
    async def many(self, alumnus_ids: Sequence[str]) -> dict[str, Referrer]: ...
    async def save(self, referrer: Referrer) -> None: ...
    async def project(self, referrer: Referrer) -> bool:
        """Keep `referrer` if it is newer than what is known and the alumnus is not erased (False:
        stale, repeated or erased): one conditional write, atomic by itself, outside any
        transaction."""
    async def save_many(self, referrers: Sequence[Referrer], *, new: bool) -> None:
        """Several at once (an import's chunk): `new`, none of them was known before."""


class MongoReferrers:
    """`ReferrerRepository` in MongoDB: an erased alumnus is a tombstone (id and when)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.collection = uow.db[REFERRERS]
        self.session = uow.session

    async def get(self, alumnus_id: str) -> Referrer | None:
        doc = await self.collection.find_one({"_id": alumnus_id}, session=self.session)
        return _referrer(doc) if doc else None

    async def many(self, alumnus_ids: Sequence[str]) -> dict[str, Referrer]:
        return {d["_id"]: _referrer(d) for d in await find_many(self.collection, "_id", alumnus_ids, session=self.session)}

    async def save(self, referrer: Referrer) -> None:
        self.uow.replace_last(REFERRERS, {"_id": referrer.alumnus_id}, _referrer_document(referrer), upsert=True)

    async def project(self, referrer: Referrer) -> bool:
        older = {"_id": referrer.alumnus_id, "erased_at": {"$exists": False}, "version": {"$lt": referrer.version}}
        update = {"$set": _referrer_document(referrer)}
        try:
            await self.collection.update_one(older, update, upsert=True, session=self.session)
        except DuplicateKeyError:
            # The id is there: at this version or a newer one, a tombstone, or inserted just now by
            # another topic's change of the same alumnus (two first writes racing): applied if
            # still older than this one.
            return (await self.collection.update_one(older, update, session=self.session)).matched_count == 1
        return True

    async def save_many(self, referrers: Sequence[Referrer], *, new: bool) -> None:
        if referrers and new:
            await self.collection.insert_many([{"_id": r.alumnus_id} | _referrer_document(r) for r in referrers], session=self.session)
        elif referrers:
            await self.collection.bulk_write([ReplaceOne({"_id": r.alumnus_id}, _referrer_document(r), upsert=True) for r in referrers],
                                             ordered=False, session=self.session)


def _referrer(doc: dict[str, Any]) -> Referrer:
    return Referrer(doc["_id"], doc.get("version", 0), doc.get("email"), doc.get("erased_at"))


def _referrer_document(referrer: Referrer) -> dict[str, Any]:
    if referrer.erased_at is not None:
        return {"erased_at": referrer.erased_at, "version": referrer.version}
    return {"version": referrer.version, "email": referrer.email}
