"""The directory's page counts: how many listed alumni each filter value has, by name, so that a
page is read from a narrow name range of an index instead of from every alumnus the filter matches.

Each value the directory filters on (a skill, a department, a country, a city, a departure year,
a willingness) is a *facet*, and `all` is the facet of every listed alumnus. `directory_facets`
keeps, for each facet:
- `{_id: <facet>, n, b}`: `n` listed alumni, `b` their count per coarse bucket (the first
  `COARSE` characters of the sort name, hex-encoded as a field name);
- `{_id: <facet>|<coarse bucket>, b}`: the count per fine bucket (the first `FINE` characters).
They change in the transaction that saves or erases the alumnus (`changes`). A page (offset,
size) of one facet is located from them (`locate`): the fine buckets holding its first and last
alumni give a name range, read through the index (<field>, search.listed, search.name) with a
skip inside that range only. A query with two filters or more has no counts and is answered
from the index of its narrowest filter alone.

Why: the local database (SecantusDB) reads, decodes and sorts every document its index lookup
returns before it applies `skip` and `limit`, and counts by reading them all; a page of a filter
matching 80,000 alumni took seconds there. MongoDB would walk the index, but the counts cost a
few small writes per change of a listed alumnus, wherever the directory runs.
"""

import logging
from dataclasses import dataclass
from typing import Any

from pymongo import ASCENDING, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

log = logging.getLogger(__name__)

FACETS = "directory_facets"
BUILT = "~built"  # present once the counts cover every alumnus
COARSE, FINE = 3, 16  # characters of the sort name: a fine bucket is mostly namesakes
# The filter field of each facet kind, and the path it has in an alumnus document.
FIELDS = {
    "skill": "search.skills", "department": "search.department", "country": "profile.country",
    "city": "search.city", "year": "search.departure_years", "willing": "profile.willing_to",
}
KINDS = {path: kind for kind, path in FIELDS.items()}
COUNTED = {"search": 1, "profile.country": 1, "profile.willing_to": 1}  # what `facets` reads
ORDER = [("search.name", ASCENDING), ("_id", ASCENDING)]


@dataclass(frozen=True)
class DirectoryQuery:
    skill: str | None = None
    department: str | None = None
    country: str | None = None
    city: str | None = None
    departure_year: int | None = None
    willing_to: str | None = None
    page: int = 1
    page_size: int = 20

    def filter(self) -> dict[str, Any]:
        """The most selective clause first: where a server rides one index for a query of several
        filters (SecantusDB takes the first clause that has one), it is the narrowest."""
        query: dict[str, Any] = {}
        if self.city:
            query["search.city"] = self.city.strip().lower()
        if self.skill:
            query["search.skills"] = self.skill.strip().lower()
        if self.departure_year:
            query["search.departure_years"] = self.departure_year
        if self.country:
            query["profile.country"] = self.country.strip().upper()
        if self.department:
            query["search.department"] = self.department.strip().lower()
        if self.willing_to:
            query["profile.willing_to"] = self.willing_to
        return query | {"search.listed": True}

    def facet(self) -> str | None:
        """The one facet asked for (`all` without a filter); None for two filters or more."""
        asked = [(KINDS[path], value) for path, value in self.filter().items() if path in KINDS]
        if len(asked) > 1:
            return None
        return f"{asked[0][0]}:{asked[0][1]}" if asked else "all"


def facets(doc: dict[str, Any] | None) -> set[str]:
    """The facets an alumnus document is listed under (none when not listed)."""
    search = (doc or {}).get("search") or {}
    if not search.get("listed"):
        return set()
    profile = doc.get("profile") or {}
    found = {"all"} | {f"skill:{s}" for s in search.get("skills", [])} | {f"year:{y}" for y in search.get("departure_years", [])}
    found |= {f"willing:{w}" for w in profile.get("willing_to", [])}
    for kind, value in (("department", search.get("department")), ("country", profile.get("country")), ("city", search.get("city"))):
        if value:
            found.add(f"{kind}:{value}")
    return found


def _hex(text: str) -> str:
    return text.encode().hex()


def _counts(facet: str, name: str, by: int) -> list[tuple[str, str, int]]:
    coarse, fine = name[:COARSE], name[:FINE]
    return [(facet, "n", by), (facet, f"b.{_hex(coarse)}", by), (f"{facet}|{coarse}", f"b.{_hex(fine)}", by)]


def deltas(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, dict[str, int]]:
    """What the counts gain or lose when an alumnus document goes from `before` to `after`
    (None: absent), by count document and field."""
    def entries(doc: dict[str, Any] | None) -> set[tuple[str, str]]:
        return {(f, doc["search"]["name"]) for f in facets(doc)} if doc else set()

    old, new = entries(before), entries(after)
    out: dict[str, dict[str, int]] = {}
    for by, moved in ((-1, old - new), (1, new - old)):
        for facet, name in moved:
            for _id, path, n in _counts(facet, name, by):
                fields = out.setdefault(_id, {})
                fields[path] = fields.get(path, 0) + n
    return {_id: kept for _id, fields in out.items() if (kept := {p: n for p, n in fields.items() if n})}


def changes(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[UpdateOne]:
    return [UpdateOne({"_id": _id}, {"$inc": fields}, upsert=True) for _id, fields in sorted(deltas(before, after).items())]


@dataclass(frozen=True)
class Window:
    """Where a page is: alumni with a sort name in [low, high), after skipping `skip` of them."""

    low: str
    high: str | None
    skip: int


def _buckets(counts: dict[str, int]) -> list[tuple[str, int]]:
    return sorted((bytes.fromhex(k).decode(), n) for k, n in counts.items() if n > 0)


def _holding(buckets: list[tuple[str, int]], offset: int) -> tuple[str, int]:
    """The bucket holding the `offset`-th alumnus, and how many come before that bucket."""
    before = 0
    for key, n in buckets:
        if offset < before + n:
            return key, before
        before += n
    raise ValueError(f"offset {offset} beyond the {before} counted")


def _past(bucket: str) -> str | None:
    """The least name above every name in `bucket`: a short bucket holds only that name."""
    if len(bucket) < FINE:
        return bucket + "\x00"
    last = ord(bucket[-1])
    return bucket[:-1] + chr(last + 1) if last < 0x10FFFF else None


async def locate(db: AsyncDatabase, facet: str, offset: int, size: int, session: AsyncClientSession | None = None) -> tuple[int, Window | None] | None:
    """The facet's total and the window of the page at `offset` (None past the end), in two
    reads; None when the counts were never built."""
    collection = db[FACETS]
    found = {d["_id"]: d async for d in collection.find({"_id": {"$in": [BUILT, facet]}}, session=session)}
    if BUILT not in found:
        return None
    head = found.get(facet)
    total = head["n"] if head else 0
    if offset >= total:
        return total, None
    coarse = _buckets(head["b"])
    (first_bucket, first_before), (last_bucket, last_before) = _holding(coarse, offset), _holding(coarse, min(offset + size, total) - 1)
    fine = {d["_id"]: _buckets(d["b"]) async for d in collection.find({"_id": {"$in": [f"{facet}|{first_bucket}", f"{facet}|{last_bucket}"]}}, session=session)}
    if len(fine) < len({first_bucket, last_bucket}):
        raise LookupError(f"no fine counts under {facet}")
    first, inside = _holding(fine[f"{facet}|{first_bucket}"], offset - first_before)
    last, _ = _holding(fine[f"{facet}|{last_bucket}"], min(offset + size, total) - 1 - last_before)
    return total, Window(first, _past(last), offset - first_before - inside)


def count_later(uow: Any, before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
    """Keep the counts in step with an alumnus document going from `before` to `after`, with the
    unit of work's last writes."""
    for _id, fields in sorted(deltas(before, after).items()):
        uow.update_last(FACETS, {"_id": _id}, {"$inc": fields}, upsert=True)


async def count_many(db: AsyncDatabase, moves: list[tuple[dict[str, Any] | None, dict[str, Any]]], session: AsyncClientSession) -> None:
    """The same for many alumni documents at once (an import's chunk), in one write."""
    if ops := [op for before, after in moves for op in changes(before, after)]:
        await db[FACETS].bulk_write(ops, ordered=False, session=session)


async def page(alumni: AsyncCollection, query: DirectoryQuery, session: AsyncClientSession | None = None) -> tuple[int, list[dict[str, Any]]]:
    """The total and the documents of one directory page, in name order."""
    selector, offset, facet = query.filter(), (query.page - 1) * query.page_size, query.facet()
    total, located = None, None
    if facet is not None:
        try:
            located = await locate(alumni.database, facet, offset, query.page_size, session)
        except (LookupError, ValueError):  # counts out of step: answer from the index alone
            log.warning("directory counts out of step for one facet; rebuild them (directory.rebuild)")
    if located is not None:
        total, window = located
        if window is None:
            return total, []
        selector["search.name"] = {"$gte": window.low} | ({"$lt": window.high} if window.high is not None else {})
        offset = window.skip
    else:
        total = await alumni.count_documents(selector, session=session)
    cursor = alumni.find(selector, sort=ORDER, skip=offset, limit=query.page_size, session=session)
    return total, [d async for d in cursor]


async def ensure_built(db: AsyncDatabase, session: AsyncClientSession) -> int | None:
    """Count every alumnus once, on a database whose counts were never built (a new one, or one
    from before the counts); how many were listed, None when built already."""
    if await is_built(db, session):
        return None
    return await rebuild(db, session=session)


async def is_built(db: AsyncDatabase, session: AsyncClientSession | None = None) -> bool:
    return await db[FACETS].find_one({"_id": BUILT}, {"_id": 1}, session=session) is not None


async def rebuild(db: AsyncDatabase, alumni: str = "alumni", session: AsyncClientSession | None = None) -> int:
    """Counts every listed alumnus afresh (in `session`'s transaction when given); how many."""
    totals: dict[str, dict[str, int]] = {}
    listed = 0
    async for doc in db[alumni].find({"search.listed": True}, {"search": 1, "profile.country": 1, "profile.willing_to": 1}, session=session):
        listed += 1
        for _id, fields in deltas(None, doc).items():
            counts = totals.setdefault(_id, {})
            for path, by in fields.items():
                counts[path] = counts.get(path, 0) + by
    await db[FACETS].delete_many({}, session=session)
    documents = [{"_id": _id, **({"n": c["n"]} if "n" in c else {}), "b": {p[2:]: n for p, n in c.items() if p != "n"}} for _id, c in totals.items()]
    for i in range(0, len(documents), 1000):
        await db[FACETS].insert_many(documents[i:i + 1000], session=session)
    await db[FACETS].insert_one({"_id": BUILT}, session=session)
    return listed
