"""The entries of one filter value, kept together for pages of three filters or more.

Three filters have no counts (services/identity/directory.py): a page reads every entry of the
narrowest filter and matches the others, some thousands of entries at 100,000 alumni, each read
and matched by the local database one by one (about 30 µs each). So once read, they are kept in
`directory_members` as a few documents of up to `CHUNK` members each, `{_id: <facet>#<i>, f:
<facet>, i, stamp, m: <JSON of [[<alumnus id>, <sort name>, [<facet>, ...]], ...]>}`, in name
order: the next such page with the same narrowest filter reads those few documents instead. The
members are one JSON string per document: one value for the database to store, send and decode
instead of a dozen per member (as BSON arrays, reading them cost 30 ms at 4,000 members).

A change to an entry does not throw them away: it writes the alumnus's *change* in the same
transaction, `{_id: <alumnus id>, e: [<id>, <sort name>, [<facet>, ...]], f: [<facet>, ...],
at}` in `directory_member_changes` (directory_search.keep_later, keep_many): the entry as it is
now, and every value it was or is listed under since (`$addToSet`). A page reads the kept
members and the changes under its value, and puts each changed alumnus in or out (`read`): the
first page after a change costs one small read more, not every entry again. Keeping a value's
members afresh takes that value off the changes older than `SETTLED` (committed before its
entries were read), and deletes the changes left under no value (`_settle`).

Taken out, not patched: an alumnus who is erased or leaves the directory is taken out of the
kept members of every value their entry and their change were under, and their change deleted,
in the transaction that drops the entry (`without`), so that nothing of them stays here. Those
values' `w` moves on, and the parts rewritten take it with them; a keeping writes the value's
counts where the drop moves `w`, so that of the two one waits for the other, and members read
before a drop are never kept after it.

Members are read back only when every part is there with the `stamp` of the `w` just read,
there are at most `MOST_CHANGES` changes under their value, and, the changes applied, there
are as many as the count says.
"""

import json
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from bson.errors import InvalidDocument
from pymongo.errors import PyMongoError

from services.identity.directory import FACETS
from shared.events.chunks import parts
from shared.lookups import VALUES_PER_QUERY, find_many

log = logging.getLogger(__name__)

MEMBERS, CHANGES = "directory_members", "directory_member_changes"
CHUNK, PART_BYTES = 1000, 4 << 20  # members, and bytes of JSON, per document (16 MB at most)
MOST_CHANGES = 500  # beyond, a value's entries are read again (and kept, which settles them)
SETTLED = timedelta(minutes=5)  # longer than a transaction lives: committed before a keeping began
SETTLED_AT_ONCE = 2 * MOST_CHANGES  # changes a keeping settles (it is in a page's request); the rest at the next


async def ensure_indexes(db: AsyncDatabase) -> None:
    await db[MEMBERS].create_index([("f", ASCENDING)])
    await db[CHANGES].create_index([("f", ASCENDING)])


def change(entry: dict[str, Any], under: Iterable[str], at: datetime) -> dict[str, Any]:
    """The update of an alumnus's change: `entry` as it is now, `under` the values it was or is
    listed under."""
    return {"$set": {"e": [entry["_id"], entry["n"], entry["v"]], "at": at}, "$addToSet": {"f": {"$each": sorted(under)}}}


async def changed_under(db: AsyncDatabase, alumnus_ids: Iterable[str], session: AsyncClientSession | None) -> dict[str, set[str]]:
    """The values the changes of these alumni are under, by alumnus (read before their entries
    are dropped: their kept members go with them)."""
    return {d["_id"]: set(d.get("f", [])) for d in await find_many(db[CHANGES], "_id", alumnus_ids, session=session, projection={"f": 1})}


async def parts_under(db: AsyncDatabase, under: Iterable[str], session: AsyncClientSession | None) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The kept parts of these values, and the values' `w` (read before an entry is dropped)."""
    kept = await db[MEMBERS].find({"f": {"$in": sorted(under)}}, session=session).to_list()
    facets = await find_many(db[FACETS], "_id", {p["f"] for p in kept}, session=session, projection={"w": 1}) if kept else []
    return kept, {d["_id"]: stamp(d) for d in facets}


def without(kept: list[dict[str, Any]], gone: set[str], written: dict[str, int], moves: dict[str, int] | None = None) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """The writes that take the `gone` alumni out of these parts, as `(selector, update)`, None
    to delete: each part of the `w` (`written`) its value had moves on with it, by what the drop
    adds to it (`moves`, 1 unless told); one already behind is deleted."""
    writes: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
    for part in kept:
        at = written.get(part["f"], 0)
        if part.get("stamp") != at:
            writes.append(({"_id": part["_id"]}, None))
            continue
        members = json.loads(part["m"])
        left = [m for m in members if m[0] not in gone]
        moved: dict[str, Any] = {"stamp": at + (moves or {}).get(part["f"], 1)}
        if len(left) != len(members):
            moved["m"] = json.dumps(left, ensure_ascii=False)
        writes.append(({"_id": part["_id"], "stamp": at}, {"$set": moved}))
    return writes


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
    changes = await db[CHANGES].find({"f": facet}, {"e": 1}, limit=MOST_CHANGES + 1, session=session).to_list()
    if len(changes) > MOST_CHANGES:
        return None
    members = {m[0]: m for p in kept for m in json.loads(p["m"])}  # in name order
    for c in changes:
        if c["e"] and facet in c["e"][2]:
            members[c["_id"]] = c["e"]
        else:
            members.pop(c["_id"], None)
    if len(members) != counts.get("n", 0):
        return None
    return sorted(members.values(), key=lambda m: (m[1], m[0])) if changes else list(members.values())


def _parts(facet: str, at: int, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The documents of these members: up to `CHUNK` each, and `PART_BYTES` of JSON (an entry
    can be some tens of KB: 50 skills of 500 characters)."""
    members = [json.dumps([e["_id"], e["n"], e["v"]], ensure_ascii=False) for e in entries]
    parted = parts(members, most=CHUNK, budget=PART_BYTES - 2, size_of=lambda member: len(member.encode()))
    return [{"_id": f"{facet}#{i}", "f": facet, "i": i, "stamp": at, "m": f"[{','.join(p)}]"} for i, p in enumerate(parted)]


class _Moved(Exception):
    """`w` moved on since the entries were read: an entry was dropped meanwhile."""


async def keep(db: AsyncDatabase, facet: str, counts: dict[str, Any], entries: list[dict[str, Any]], read_at: datetime) -> bool:
    """Keep `entries` (all of `facet`'s, in name order, read with `counts` from `read_at` on)
    for the next pages; False when an entry was dropped in between, or the database refused
    (the next page reads the entries again)."""
    if len(entries) != counts.get("n", 0):
        return False
    at = stamp(counts)
    try:
        async with db.client.start_session() as session:
            async with await session.start_transaction():
                # A write to the value's counts, where a drop moves `w`: of two at once, one waits
                # for the other (a write conflict) and sees what it did.
                unmoved = {"w": at} if at else {"w": {"$in": [0, None]}}
                if not (await db[FACETS].update_one({"_id": facet, **unmoved}, {"$set": {"k": read_at}}, session=session)).matched_count:
                    raise _Moved
                await db[MEMBERS].delete_many({"f": facet}, session=session)
                await db[MEMBERS].insert_many(_parts(facet, at, entries), session=session)
        await _settle(db, facet, read_at - SETTLED)
    except _Moved:
        return False
    except (PyMongoError, InvalidDocument) as exc:
        log.info("directory members not kept; read again next time", extra={"error_class": type(exc).__name__})
        return False
    return True


async def _settle(db: AsyncDatabase, facet: str, before: datetime) -> None:
    """Take `facet` off up to `SETTLED_AT_ONCE` of the changes made `before` (in the members just
    kept), and delete those left under no value; a change made since adds its values again, and
    stays. More than that (an import's) are settled by the keepings that follow: each page that
    finds over `MOST_CHANGES` reads the entries and keeps them again."""
    old = {"f": facet, "at": {"$lt": before}}  # no change enters it: a change made since is not old
    settled = await db[CHANGES].find(old, {"f": 1}, sort=[("_id", ASCENDING)], limit=SETTLED_AT_ONCE).to_list()
    if not settled:
        return
    await db[CHANGES].update_many(old | {"_id": {"$lte": settled[-1]["_id"]}}, {"$pull": {"f": facet}})
    gone = [c["_id"] for c in settled if set(c["f"]) == {facet}]
    for start in range(0, len(gone), VALUES_PER_QUERY):
        await db[CHANGES].delete_many({"_id": {"$in": gone[start:start + VALUES_PER_QUERY]}, "f": {"$size": 0}})
