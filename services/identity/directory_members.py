"""The entries of one filter value, kept together for pages of three filters or more.

Three filters have no counts (services/identity/directory.py): a page reads every entry of the
narrowest filter and matches the others, some thousands of entries at 100,000 alumni, each read
and matched by the local database one by one (about 30 µs each). So once read, they are kept in
`directory_members` as a few documents of up to `CHUNK` members each, `{_id: <facet>#<i>, f:
<facet>, i, stamp, m: <JSON of [[<alumnus id>, <sort name>, [<facet>, ...]], ...]>}`, in name
order: the next such page with the same narrowest filter reads those few documents instead. The
members are one JSON string per document: one value for the database to store, send and decode
instead of a dozen per member (as BSON arrays, reading them cost 30 ms at 4,000 members).

They are right only as long as no entry of that filter changed:
- every change to an entry adds 1 to the `w` of each filter value it was or is listed under,
  and deletes their kept members, in the transaction that changes the entry
  (directory_search.keep_later, keep_many), so nothing of an erased or withdrawn alumnus stays
  here;
- members are kept with the `w` their entries were read at (`stamp`), and deleted again at
  once when `w` has moved on by the time they are written: a change committed in between found
  nothing to delete. Keeping never writes what the changes write, so pages never make a change
  (an import's chunk, say) start again;
- they are read back only when every part is there with the `stamp` of the `w` just read and
  there are as many as the count says.
A page after a change reads the entries again, and keeps them again.
"""

import json
import logging
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from bson.errors import InvalidDocument
from pymongo.errors import PyMongoError

from services.identity.directory import FACETS
from shared.events.chunks import parts

log = logging.getLogger(__name__)

MEMBERS = "directory_members"
CHUNK, PART_BYTES = 1000, 4 << 20  # members, and bytes of JSON, per document (16 MB at most)


async def ensure_indexes(db: AsyncDatabase) -> None:
    await db[MEMBERS].create_index([("f", ASCENDING)])


def stamp(counts: dict[str, Any] | None) -> int:
    return (counts or {}).get("w", 0)


async def read(db: AsyncDatabase, facet: str, counts: dict[str, Any], session: AsyncClientSession | None) -> list[list[Any]] | None:
    """The members of `facet` in name order, `[id, sort name, facets]`, as kept at its current
    `w`; None when they are not."""
    kept = [d async for d in db[MEMBERS].find({"f": facet}, session=session)]
    if not kept or any(p.get("stamp") != stamp(counts) for p in kept):
        return None
    kept.sort(key=lambda p: p["i"])
    if [p["i"] for p in kept] != list(range(len(kept))):
        return None
    members = [m for p in kept for m in json.loads(p["m"])]
    return members if len(members) == counts.get("n", 0) else None


def _parts(facet: str, at: int, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The documents of these members: up to `CHUNK` each, and `PART_BYTES` of JSON (an entry
    can be some tens of KB: 50 skills of 500 characters)."""
    members = [json.dumps([e["_id"], e["n"], e["v"]], ensure_ascii=False) for e in entries]
    parted = parts(members, most=CHUNK, budget=PART_BYTES - 2, size_of=lambda member: len(member.encode()))
    return [{"_id": f"{facet}#{i}", "f": facet, "i": i, "stamp": at, "m": f"[{','.join(p)}]"} for i, p in enumerate(parted)]


async def keep(db: AsyncDatabase, facet: str, counts: dict[str, Any], entries: list[dict[str, Any]]) -> bool:
    """Keep `entries` (all of `facet`'s, in name order, read with `counts`) for the next pages;
    False when a change came in between, or the database refused (the next page reads the
    entries again)."""
    if len(entries) != counts.get("n", 0):
        return False
    at = stamp(counts)
    try:
        async with db.client.start_session() as session:
            async with await session.start_transaction():
                await db[MEMBERS].delete_many({"f": facet}, session=session)
                await db[MEMBERS].insert_many(_parts(facet, at, entries), session=session)
        # A change committed meanwhile deleted nothing of these (they were not there yet): they
        # go now. Never read (their stamp is behind), they would only wait for the next keeping.
        if stamp(await db[FACETS].find_one({"_id": facet}, {"w": 1})) != at:
            await db[MEMBERS].delete_many({"f": facet, "stamp": at})
            return False
    except (PyMongoError, InvalidDocument) as exc:
        log.info("directory members not kept; read again next time", extra={"error_class": type(exc).__name__})
        return False
    return True
