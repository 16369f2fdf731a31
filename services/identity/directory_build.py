"""The directory's counts (services/identity/directory.py) and entries (directory_search.py) made
afresh: at identity's start-up on a store whose counts were never built in this `VERSION` (a new
store, or one from before the counts, the pairs or the entries); and by hand, should they drift
out of step."""

from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from services.identity.directory import BUILT, COUNTED, FACETS, VERSION, deltas, is_built
from services.identity.directory_members import CHANGES, MEMBERS
from services.identity.directory_search import ENTRIES, entry


async def ensure_built(db: AsyncDatabase, session: AsyncClientSession) -> int | None:
    """Count every alumnus once, on a database whose counts were never built in this version;
    how many were listed, None when built already."""
    if await is_built(db, session):
        return None
    return await rebuild(db, session=session)


async def rebuild(db: AsyncDatabase, alumni: str = "alumni", session: AsyncClientSession | None = None) -> int:
    """Counts every listed alumnus afresh and writes its entry (in `session`'s transaction when
    given); how many."""
    totals: dict[str, dict[str, int]] = {}
    entries: list[dict[str, Any]] = []
    async for doc in db[alumni].find({"search.listed": True}, COUNTED, session=session):
        entries.append(entry(doc))
        for _id, fields in deltas(None, doc).items():
            counts = totals.setdefault(_id, {})
            for path, by in fields.items():
                counts[path] = counts.get(path, 0) + by
    # Write counts carried on, one past: members kept from before the rebuild never match them.
    written = {d["_id"]: d["w"] async for d in db[FACETS].find({"w": {"$exists": True}}, {"w": 1}, session=session)}
    await db[FACETS].delete_many({}, session=session)
    await db[ENTRIES].delete_many({}, session=session)
    await db[MEMBERS].delete_many({}, session=session)
    await db[CHANGES].delete_many({}, session=session)
    documents: list[dict[str, Any]] = [
        {"_id": _id, **({"n": c["n"]} if "n" in c else {}), "b": {p[2:]: n for p, n in c.items() if p != "n"}, "w": written.get(_id, 0) + 1}
        for _id, c in totals.items()
    ]
    for i in range(0, len(documents), 1000):
        await db[FACETS].insert_many(documents[i:i + 1000], session=session)
    for i in range(0, len(entries), 1000):
        await db[ENTRIES].insert_many(entries[i:i + 1000], session=session)
    await db[FACETS].insert_one({"_id": BUILT, "version": VERSION}, session=session)
    return len(entries)
