"""The batches of imports done (`import_batches`): one document per batch, its id
`<import_id>/<n>`, with what became of its rows (counts, and the lines not imported with why;
nothing personal). Written in the batch's transaction, so a batch is done once: a replay finds
it and changes nothing. Kept IMPORT_BATCH_RETENTION_DAYS; after that, a file sent again is
sorted again, and every leaver of it is known."""

from datetime import datetime
from typing import Any, Protocol

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from shared.messaging.uow import UnitOfWork

IMPORT_BATCHES = "import_batches"


class BatchDoneMeanwhile(Exception):
    """Another request did this batch while this one was at it: its answer is the replay's."""


async def ensure_indexes(db: AsyncDatabase, *, retention_days: int) -> None:
    await db[IMPORT_BATCHES].create_index("done_at", expireAfterSeconds=retention_days * 86400)


class ImportBatchRepository(Protocol):
    async def get(self, import_id: str, number: int) -> dict[str, Any] | None:
        """The batch's result as recorded, or None when it was not done."""
    async def add(self, import_id: str, number: int, result: dict[str, Any], at: datetime) -> None:
        """Raises `BatchDoneMeanwhile` when another request recorded the batch first."""
    async def of_import(self, import_id: str) -> list[dict[str, Any]]:
        """Every batch of the import done, without their lines, by number."""


def _id(import_id: str, number: int) -> str:
    return f"{import_id}/{number}"


class MongoImportBatches:
    def __init__(self, uow: UnitOfWork) -> None:
        self.collection = uow.db[IMPORT_BATCHES]
        self.session = uow.session

    async def get(self, import_id: str, number: int) -> dict[str, Any] | None:
        return await self.collection.find_one({"_id": _id(import_id, number)}, {"_id": 0}, session=self.session)

    async def add(self, import_id: str, number: int, result: dict[str, Any], at: datetime) -> None:
        doc = {"_id": _id(import_id, number), "import_id": import_id, "batch": number, "done_at": at} | result
        try:
            await self.collection.insert_one(doc, session=self.session)
        except DuplicateKeyError:
            raise BatchDoneMeanwhile(doc["_id"]) from None

    async def of_import(self, import_id: str) -> list[dict[str, Any]]:
        # `/` sorts just before `0`: the ids of this import's batches are a range of the primary key.
        selector = {"_id": {"$gt": f"{import_id}/", "$lt": f"{import_id}0"}}
        cursor = self.collection.find(selector, {"_id": 0, "lines": 0}, session=self.session)
        return sorted(await cursor.to_list(), key=lambda d: d["batch"])
