"""The directory's page counts: how many listed alumni each filter value, and each pair of
values, has by name, so that a page is read from a narrow name range instead of from every
alumnus the filters match (directory_search.py reads it).

Each value the directory filters on (a skill, a department, a country, a city, a departure year,
a willingness) is a *facet*, and `all` is the facet of every listed alumnus; two facets of
different kinds are a *pair* (directory_pairs.py). `directory_facets` keeps:
- `{_id: <facet or pair>, n, b}`: `n` listed alumni, `b` their count per coarse bucket (the
  first `COARSE` characters of the sort name, hex-encoded as a field name);
- for a facet only, `{_id: <facet>|<coarse bucket>, b}`: the count per fine bucket (the first
  `FINE` characters).
They change in the transaction that saves or erases the alumnus (`deltas`). A page (offset,
size) is located from them (`locate`): for one filter, the fine buckets holding its first and
last alumni give a name range and a skip inside it; for two, the pair's coarse buckets give the
name range of the page among the pair's alumni, and the alumni of one of the two filters in that
range are read and matched against the other. Three filters or more have no counts. Pairs cost
no index entry (an index of pair keys made the local database stall while alumni were written
in bulk), only a `$inc` per pair an alumnus joins or leaves (28 pairs on average in
bench/directory.py's alumni, 53 at most) and one count document per pair. `BUILT` marks counts
(and entries) that cover every alumnus, with their `VERSION`: a store never counted, or counted
in another version, is counted at start-up (directory_build.py); until then pages are read from
the alumni documents alone.

Why: the local database (SecantusDB) reads, decodes and sorts every document its index lookup
returns before it applies `skip` and `limit`, counts by reading them all, and rides the index
of the first clause of a query only; a page of a filter matching 80,000 alumni took seconds
there, two filters 0.9 s. MongoDB would walk the index, but the counts cost a few small writes
per change of a listed alumnus, wherever the directory runs.
"""

from dataclasses import dataclass
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from services.identity import directory_pairs
from services.identity.directory_pairs import Facet

FACETS = "directory_facets"
BUILT, VERSION = "~built", 3  # the marker of counts that cover every alumnus; 2: with pairs, 3: entries
COARSE, FINE = 3, 16  # characters of the sort name: a fine bucket is mostly namesakes
# The filter field of each facet kind, and the path it has in an alumnus document.
FIELDS = {
    "skill": "search.skills", "department": "search.department", "country": "profile.country",
    "city": "search.city", "year": "search.departure_years", "willing": "profile.willing_to",
}
COUNTED = {"search": 1, "profile.country": 1, "profile.willing_to": 1}  # what `values` reads
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

    def asked(self) -> list[Facet]:
        """The facet of each filter given, the most selective first."""
        given = [
            ("city", self.city.strip().lower() if self.city else None), ("skill", self.skill.strip().lower() if self.skill else None),
            ("year", self.departure_year or None), ("country", self.country.strip().upper() if self.country else None),
            ("department", self.department.strip().lower() if self.department else None), ("willing", self.willing_to or None),
        ]
        return [(kind, value) for kind, value in given if value is not None]

    def filter(self) -> dict[str, Any]:
        """A clause per filter, the most selective first (SecantusDB rides the first one's index)."""
        return {FIELDS[kind]: value for kind, value in self.asked()} | {"search.listed": True}

    def facet(self) -> str | None:
        """The facet, or pair, whose counts locate a page (`all` without a filter); None for three filters."""
        asked = self.asked()
        if len(asked) > 1:
            return directory_pairs.key(*asked) if len(asked) == 2 else None
        return directory_pairs.label(asked[0]) if asked else "all"


def values(doc: dict[str, Any] | None) -> set[Facet]:
    """The filter values an alumnus document is listed under, by kind (none when not listed)."""
    search = (doc or {}).get("search") or {}
    if not search.get("listed"):
        return set()
    profile = doc.get("profile") or {}
    found = {("skill", s) for s in search.get("skills", [])} | {("year", y) for y in search.get("departure_years", [])}
    found |= {("willing", w) for w in profile.get("willing_to", [])}
    for kind, value in (("department", search.get("department")), ("country", profile.get("country")), ("city", search.get("city"))):
        if value:
            found.add((kind, value))
    return found


def facets(doc: dict[str, Any] | None) -> set[str]:
    """The facets an alumnus document is listed under (none when not listed)."""
    listed = ((doc or {}).get("search") or {}).get("listed")
    return {"all"} | {directory_pairs.label(f) for f in values(doc)} if listed else set()


def pairs(doc: dict[str, Any] | None) -> list[str]:
    """The pairs an alumnus document is listed under."""
    return directory_pairs.pairs(values(doc))


def _hex(text: str) -> str:
    return text.encode().hex()


def _counts(facet: str, name: str, by: int, fine: bool) -> list[tuple[str, str, int]]:
    coarse = name[:COARSE]
    head = [(facet, "n", by), (facet, f"b.{_hex(coarse)}", by)]
    return head + [(f"{facet}|{coarse}", f"b.{_hex(name[:FINE])}", by)] if fine else head


def deltas(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, dict[str, int]]:
    """What the counts gain or lose when an alumnus document goes from `before` to `after`
    (None: absent), by count document and field."""
    def entries(doc: dict[str, Any] | None) -> set[tuple[str, str, bool]]:
        if not doc:
            return set()
        name = doc["search"]["name"]
        return {(f, name, True) for f in facets(doc)} | {(p, name, False) for p in pairs(doc)}

    old, new = entries(before), entries(after)
    out: dict[str, dict[str, int]] = {}
    for by, moved in ((-1, old - new), (1, new - old)):
        for facet, name, fine in moved:
            for _id, path, n in _counts(facet, name, by, fine):
                fields = out.setdefault(_id, {})
                fields[path] = fields.get(path, 0) + n
    return {_id: kept for _id, fields in out.items() if (kept := {p: n for p, n in fields.items() if n})}


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


def _past(bucket: str, width: int = FINE) -> str | None:
    """The least name above every name in `bucket` (of `width` characters): a short bucket holds
    only that name."""
    if len(bucket) < width:
        return bucket + "\x00"
    last = ord(bucket[-1])
    return bucket[:-1] + chr(last + 1) if last < 0x10FFFF else None


async def counted(db: AsyncDatabase, ids: list[str], session: AsyncClientSession | None = None) -> dict[str, dict[str, Any]] | None:
    """The count documents of these facets or pairs, by id, in one read; None when the counts
    were never built, or built in another `VERSION`."""
    found = {d["_id"]: d async for d in db[FACETS].find({"_id": {"$in": [BUILT, *ids]}}, session=session)}
    return found if found.get(BUILT, {}).get("version") == VERSION else None


def in_window(counts: dict[str, Any] | None, window: "Window") -> int:
    """How many alumni a facet's coarse counts hold within a window of coarse buckets."""
    return sum(n for k, n in _buckets((counts or {}).get("b", {})) if k >= window.low and (window.high is None or k < window.high))


async def locate(db: AsyncDatabase, facet: str, offset: int, size: int, session: AsyncClientSession | None = None,
                 fine: bool = True, found: dict[str, dict[str, Any]] | None = None) -> tuple[int, Window | None] | None:
    """The facet's total and the window of the page at `offset` (None past the end), in two
    reads, or one from coarse buckets alone (`fine` false: a pair), one fewer with the counts
    already `found` (`counted`); None when the counts were never built in this `VERSION`."""
    collection = db[FACETS]
    found = found if found is not None else await counted(db, [facet], session)
    if found is None:
        return None
    head = found.get(facet)
    total = head.get("n", 0) if head else 0
    if offset >= total:
        return total, None
    coarse = _buckets(head["b"])
    (first_bucket, first_before), (last_bucket, last_before) = _holding(coarse, offset), _holding(coarse, min(offset + size, total) - 1)
    if not fine:
        return total, Window(first_bucket, _past(last_bucket, COARSE), offset - first_before)
    inner = {d["_id"]: _buckets(d["b"]) async for d in collection.find({"_id": {"$in": [f"{facet}|{first_bucket}", f"{facet}|{last_bucket}"]}}, session=session)}
    if len(inner) < len({first_bucket, last_bucket}):
        raise LookupError(f"no fine counts under {facet}")
    first, inside = _holding(inner[f"{facet}|{first_bucket}"], offset - first_before)
    last, _ = _holding(inner[f"{facet}|{last_bucket}"], min(offset + size, total) - 1 - last_before)
    return total, Window(first, _past(last), offset - first_before - inside)


async def is_built(db: AsyncDatabase, session: AsyncClientSession | None = None) -> bool:
    return await counted(db, [], session) is not None
