"""`known_alumni` in MongoDB: the projection of identity's alumni that audiences are chosen by
(services/engagement/audience.py), a tombstone for the erased.

Every write stamps the document with a token of its own (`w`), so that a projection change made
outside a transaction (a registration, a profile or consent change: one document each) is written
only over the document it read: `save_if_unchanged` finds another write in between (a change of
the same alumnus from another topic, at the same moment) by the token, and raises `Superseded`,
and the change is applied again on what is there now."""

from collections.abc import Sequence
from typing import Any, Protocol

from bson import ObjectId
from pymongo import ASCENDING, ReplaceOne
from pymongo.errors import DuplicateKeyError

from services.engagement.audience import Audience, KnownAlumnus
from services.engagement.documents import audience_selector, known_from_document, known_to_document
from services.engagement.repository import KNOWN_ALUMNI
from shared.lookups import find_many
from shared.messaging.failures import Superseded
from shared.messaging.uow import UnitOfWork

WRITTEN = "w"
_ABSENT = object()


class KnownAlumni(Protocol):
    async def get(self, alumnus_id: str) -> KnownAlumnus | None: ...
    async def many(self, alumnus_ids: Sequence[str]) -> dict[str, KnownAlumnus]: ...
    async def save(self, alumnus: KnownAlumnus) -> None: ...
    async def save_if_unchanged(self, alumnus: KnownAlumnus) -> None:
        """Write `alumnus` as `get` read it and the handler changed it, unless the document was
        written since (`Superseded`); outside any transaction, atomic by itself."""
    async def add_if_absent(self, alumnus: KnownAlumnus) -> bool:
        """Insert `alumnus` unless its id is known (False): a first registration without a read."""
    async def save_many(self, alumni: Sequence[KnownAlumnus], *, new: bool) -> None:
        """Several at once (an import's chunk): `new`, none of them was known before."""
    async def invitable_in(self, audience: Audience, after: str, end: str | None, limit: int) -> list[str]:
        """Alumni the audience invites (consented, not erased), in id order, in (after, end]."""


def _stamped(alumnus: KnownAlumnus) -> dict[str, Any]:
    return known_to_document(alumnus) | {WRITTEN: ObjectId()}


class MongoKnownAlumni:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.collection = uow.db[KNOWN_ALUMNI]
        self.session = uow.session
        self._read: dict[str, Any] = {}  # alumnus id -> the token read (_ABSENT: no document)

    async def get(self, alumnus_id: str) -> KnownAlumnus | None:
        doc = await self.collection.find_one({"_id": alumnus_id}, session=self.session)
        self._read[alumnus_id] = doc.get(WRITTEN) if doc else _ABSENT
        return known_from_document(doc) if doc else None

    async def many(self, alumnus_ids: Sequence[str]) -> dict[str, KnownAlumnus]:
        return {d["_id"]: known_from_document(d) for d in await find_many(self.collection, "_id", alumnus_ids, session=self.session)}

    async def save(self, alumnus: KnownAlumnus) -> None:
        self.uow.replace_last(KNOWN_ALUMNI, {"_id": alumnus.alumnus_id}, _stamped(alumnus), upsert=True)

    async def save_if_unchanged(self, alumnus: KnownAlumnus) -> None:
        read = self._read[alumnus.alumnus_id]  # a KeyError: saved without being read
        if read is _ABSENT:
            try:
                await self.collection.insert_one(_stamped(alumnus), session=self.session)
            except DuplicateKeyError:
                raise Superseded(f"known alumnus {alumnus.alumnus_id} written since it was read") from None
            return
        result = await self.collection.replace_one({"_id": alumnus.alumnus_id, WRITTEN: read}, _stamped(alumnus), session=self.session)
        if result.matched_count == 0:
            raise Superseded(f"known alumnus {alumnus.alumnus_id} written since it was read")

    async def add_if_absent(self, alumnus: KnownAlumnus) -> bool:
        try:
            await self.collection.insert_one(_stamped(alumnus), session=self.session)
        except DuplicateKeyError:
            return False
        return True

    async def save_many(self, alumni: Sequence[KnownAlumnus], *, new: bool) -> None:
        if alumni and new:
            await self.collection.insert_many([_stamped(a) for a in alumni], session=self.session)
        elif alumni:
            await self.collection.bulk_write([ReplaceOne({"_id": a.alumnus_id}, _stamped(a), upsert=True) for a in alumni],
                                             ordered=False, session=self.session)

    async def invitable_in(self, audience: Audience, after: str, end: str | None, limit: int) -> list[str]:
        # A bounded range of the `alumnus_id` index, first: the local database rides the index of
        # the first clause that has one, walks a secondary index's range (it scans for an `_id`
        # range), and reads all of an unbounded one before the limit.
        selector = {"alumnus_id": {"$gt": after} | ({"$lte": end} if end is not None else {})} | audience_selector(audience)
        cursor = self.collection.find(selector, {"_id": 1}, sort=[("alumnus_id", ASCENDING)], limit=limit, session=self.session)
        return [d["_id"] async for d in cursor]
