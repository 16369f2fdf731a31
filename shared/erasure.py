"""Erased people, remembered without their data, so that a late, re-sent or replayed event
never brings them back: what identifies them (an employee id, a stint) is kept only as a keyed
hash (HMAC-SHA256 with `ERASURE_HASH_KEY`), which a copy of the database cannot reverse by
trying every employee id."""

import hashlib
import hmac
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Protocol

from pymongo import UpdateOne

from shared.lookups import find_many


class ErasureKeys:
    def __init__(self, key: str) -> None:
        self._key = key.encode()

    def _of(self, kind: str, value: str) -> str:
        return hmac.new(self._key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()

    def of_employee(self, employee_id: str) -> str:
        return self._of("employee", employee_id)

    def of_stint(self, employee_id: str, hire_date: date) -> str:
        return self._of("stint", f"{employee_id}/{hire_date.isoformat()}")


class ErasedPeople(Protocol):
    """Keys of erased people (see `ErasureKeys`), each until HR re-admits the person."""

    async def remember(self, keys: list[str], at: datetime) -> None: ...
    async def refuses(self, key: str) -> bool:
        """Whether this key is erased and not re-admitted."""
    async def refusing(self, keys: Sequence[str]) -> set[str]:
        """Those of `keys` that are erased and not re-admitted (for many keys at once)."""
    async def refused(self, key: str, at: datetime) -> None:
        """Count one more event refused for this key (what it was is not kept)."""
    async def readmit(self, key: str, at: datetime) -> bool:
        """False when the key was never erased."""


class MongoErasedPeople:
    """`ErasedPeople` in a service's own collection, within a unit of work's transaction."""

    def __init__(self, uow: Any, collection: str = "erased_people") -> None:
        self.collection = uow.db[collection]
        self.session = uow.session

    async def remember(self, keys: list[str], at: datetime) -> None:
        if keys:
            await self.collection.bulk_write(
                [UpdateOne({"_id": key}, {"$set": {"erased_at": at, "readmitted_at": None}}, upsert=True) for key in keys],
                ordered=False, session=self.session,
            )

    async def refuses(self, key: str) -> bool:
        doc = await self.collection.find_one({"_id": key}, {"readmitted_at": 1}, session=self.session)
        return doc is not None and doc.get("readmitted_at") is None

    async def refusing(self, keys: Sequence[str]) -> set[str]:
        found = await find_many(self.collection, "_id", keys, session=self.session, projection={"_id": 1}, readmitted_at=None)
        return {d["_id"] for d in found}

    async def refused(self, key: str, at: datetime) -> None:
        await self.collection.update_one({"_id": key}, {"$inc": {"refusals": 1}, "$set": {"last_refused_at": at}}, session=self.session)

    async def readmit(self, key: str, at: datetime) -> bool:
        result = await self.collection.update_one({"_id": key}, {"$set": {"readmitted_at": at}}, session=self.session)
        return result.matched_count == 1
