"""How a directory page is read, and kept in step: the page counts (services/identity/directory.py)
locate a page's name range, the *entries* give the alumni in that range, and only the page's
own alumni documents are read whole, by id.

An entry is one small document per listed alumnus, `{_id: <alumnus id>, n: <sort name>, v:
[<facet>, ...]}` (`skill:python`, `country:FR`, ...), in `directory_entries`, written in the
transaction that saves or erases the alumnus, with the counts; an alumnus who is not listed has
none. One multikey index (v, n) serves every filter, and (n) the directory without one.

Why: the local database (SecantusDB) reads and decodes every document its index lookup returns
and matches every clause of the query on it, about 90 µs for an alumnus document of 800 bytes.
A page of two filters reads the narrower filter's alumni in the pair's name range, some
hundreds of them (page size / pair size of that filter's alumni): as entries, a tenth of the
size with two fields, they cost half as much (bench/directory.py). Which of the two filters is
read is chosen from the counts: the one with fewer alumni in the range. Three filters or more
have no counts: the entries of the narrowest filter are all read, and the others matched here;
once read, they are kept together, patched by the changes since (directory_members.py).
"""

import logging
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DeleteOne, ReplaceOne, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from services.identity import directory, directory_members, directory_pairs
from services.identity.directory import FACETS, ORDER, DirectoryQuery, Window
from shared.lookups import find_many

log = logging.getLogger(__name__)

ENTRIES = "directory_entries"


def entry(doc: dict[str, Any] | None) -> dict[str, Any] | None:
    """The entry of an alumnus document (None when not listed)."""
    search = (doc or {}).get("search") or {}
    if not search.get("listed"):
        return None
    return {"_id": doc["_id"], "n": search["name"], "v": sorted(directory_pairs.label(f) for f in directory.values(doc))}


def entry_change(before: dict[str, Any] | None, after: dict[str, Any] | None) -> tuple[str, dict[str, Any]] | None:
    """What an alumnus document going from `before` to `after` does to its entry: `("put",
    <entry>)`, `("drop", <selector>)`, or nothing (None). An erased alumnus's entry is dropped
    even when it was not listed: an instance of an earlier version may have left one."""
    if before is not None and after is None:
        return "drop", {"_id": before["_id"]}
    old, new = entry(before), entry(after)
    if new == old:
        return None
    return ("put", new) if new else ("drop", {"_id": old["_id"]})


def touched(before: dict[str, Any] | None, after: dict[str, Any] | None) -> set[str]:
    """The filter values whose kept members (directory_members.py) a change of an alumnus
    document from `before` to `after` concerns: those its entry was or is listed under, when the
    entry changes."""
    old, new = entry(before), entry(after)
    return set() if old == new else set((old or {}).get("v", [])) | set((new or {}).get("v", []))


def _count_updates(before: dict[str, Any] | None, after: dict[str, Any] | None, stale: set[str]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """The counts' `$inc`s, with 1 more written to each of the `stale` values (`_stale`)."""
    fields = directory.deltas(before, after)
    for facet in stale:
        fields.setdefault(facet, {})["w"] = 1
    return [({"_id": _id}, {"$inc": inc}) for _id, inc in sorted(fields.items())]


def _stale(before: dict[str, Any] | None, after: dict[str, Any] | None, change: tuple[str, dict[str, Any]] | None, changed_under: set[str]) -> set[str]:
    """The values whose kept members a change rewrites: when it drops the entry, every value the
    entry and the alumnus's change (`changed_under`) were under; none when it puts one (the
    change is written instead, directory_members.py)."""
    return touched(before, after) | changed_under if change and change[0] == "drop" else set()


async def keep_in_step(uow: Any, before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
    """`keep_later`, with what it needs read first when the entry is dropped: the values of the
    alumnus's change, and the kept members it is taken out of."""
    change = entry_change(before, after)
    if not (change and change[0] == "drop"):
        return keep_later(uow, before, after)
    # What the work holds goes first (an earlier drop in it rewrote these parts): read as written.
    await uow.write_now()
    under = set().union(*(await directory_members.changed_under(uow.db, [change[1]["_id"]], uow.session)).values())
    kept, written = await directory_members.parts_under(uow.db, _stale(before, after, change, under), uow.session)
    keep_later(uow, before, after, under, directory_members.without(kept, {change[1]["_id"]}, written))


def keep_later(uow: Any, before: dict[str, Any] | None, after: dict[str, Any] | None, changed_under: set[str] = frozenset(),
               members: list[tuple[dict[str, Any], dict[str, Any] | None]] = ()) -> None:
    """Keep the counts, the entry and the kept members in step with an alumnus document going
    from `before` to `after` (None: absent), with the unit of work's last writes; `members`:
    the kept members' writes of a drop (`directory_members.without`)."""
    change = entry_change(before, after)
    stale = _stale(before, after, change, set(changed_under))
    for selector, update in _count_updates(before, after, stale):
        uow.update_last(FACETS, selector, update, upsert=True)
    for selector, update in members:
        if update is None:
            uow.delete_last(directory_members.MEMBERS, selector)
        else:
            uow.update_last(directory_members.MEMBERS, selector, update)
    if change:
        kind, doc = change
        if kind == "put":
            uow.replace_last(ENTRIES, {"_id": doc["_id"]}, doc, upsert=True)
            uow.update_last(directory_members.CHANGES, {"_id": doc["_id"]},
                            directory_members.change(doc, touched(before, after), datetime.now(UTC)), upsert=True)
        else:
            uow.delete_last(ENTRIES, doc)
            uow.delete_last(directory_members.CHANGES, {"_id": doc["_id"]})


async def keep_many(db: AsyncDatabase, moves: list[tuple[dict[str, Any] | None, dict[str, Any]]], session: AsyncClientSession) -> None:
    """The same for many alumni documents at once (an import's chunk), in a few writes."""
    changes = [entry_change(b, a) for b, a in moves]
    dropped = [c[1]["_id"] for c in changes if c and c[0] == "drop"]
    under = await directory_members.changed_under(db, dropped, session) if dropped else {}
    stale_by_move = [_stale(b, a, c, under.get(c[1]["_id"], set()) if c else set()) for (b, a), c in zip(moves, changes)]
    counts = [UpdateOne(selector, update, upsert=True) for (b, a), stale in zip(moves, stale_by_move) for selector, update in _count_updates(b, a, stale)]
    if stale := set().union(*stale_by_move):
        # Before the counts move `w` on: the parts are rewritten from the `w` they were kept at.
        kept, written = await directory_members.parts_under(db, stale, session)
        by_value = Counter(facet for values in stale_by_move for facet in values)
        if members := directory_members.without(kept, set(dropped), written, by_value):
            await db[directory_members.MEMBERS].bulk_write(
                [DeleteOne(s) if u is None else UpdateOne(s, u) for s, u in members], ordered=False, session=session)
    if counts:
        await db[FACETS].bulk_write(counts, ordered=False, session=session)
    now, made = datetime.now(UTC), [(move, c) for move, c in zip(moves, changes) if c]
    if entries := [ReplaceOne({"_id": d["_id"]}, d, upsert=True) if kind == "put" else DeleteOne(d) for _, (kind, d) in made]:
        await db[ENTRIES].bulk_write(entries, ordered=False, session=session)
        await db[directory_members.CHANGES].bulk_write([
            UpdateOne({"_id": d["_id"]}, directory_members.change(d, touched(*move), now), upsert=True) if kind == "put" else DeleteOne({"_id": d["_id"]})
            for move, (kind, d) in made
        ], ordered=False, session=session)


async def ensure_indexes(db: AsyncDatabase) -> None:
    await db[ENTRIES].create_index([("v", ASCENDING), ("n", ASCENDING)])
    await db[ENTRIES].create_index("n")
    await directory_members.ensure_indexes(db)


async def page(alumni: AsyncCollection, query: DirectoryQuery, session: AsyncClientSession | None = None) -> tuple[int, list[dict[str, Any]]]:
    """The total and the alumni documents of one directory page, in name order."""
    db, asked = alumni.database, query.asked()
    offset, size, facet, singles = (query.page - 1) * query.page_size, query.page_size, query.facet(), [directory_pairs.label(f) for f in asked]
    found = await directory.counted(db, [facet, *singles] if facet else singles, session)
    if found is None:
        return await _scanned(alumni, query, session)
    if facet is None:  # three filters or more
        return await _matched(alumni, singles, found, offset, size, session)
    try:
        located = await directory.locate(db, facet, offset, size, session, fine=len(asked) < 2, found=found)
    except (LookupError, ValueError):  # counts out of step: answer from the entries alone
        log.warning("directory counts out of step for one facet; rebuild them (directory_build.rebuild)")
        return await _matched(alumni, singles, found, offset, size, session)
    total, window = located
    if window is None:
        return total, []
    ridden = singles[0] if singles else "all"
    if len(singles) == 2:  # the filter with fewer alumni in the range, the other matched here
        ridden, other = sorted(singles, key=lambda f: directory.in_window(found.get(f), window))
        matched = [e for e in await _entries(db, ridden, window, session) if other in e["v"]]
    else:
        matched = await _entries(db, ridden, window, session)
    return total, await _whole(alumni, matched[window.skip:window.skip + size], session)


async def _matched(alumni: AsyncCollection, singles: list[str], found: dict[str, Any], offset: int, size: int,
                   session: AsyncClientSession | None) -> tuple[int, list[dict[str, Any]]]:
    """A page without a window: every entry of the narrowest filter (by its count), the others
    matched here."""
    ridden = min(singles, key=lambda f: found.get(f, {}).get("n", 0)) if singles else "all"
    counts = found.get(ridden) if len(singles) > 2 else None  # kept members serve three filters or more
    members = await directory_members.read(alumni.database, ridden, counts, session) if counts else None
    if members is None:
        read_at = datetime.now(UTC)
        entries = await _entries(alumni.database, ridden, None, session)
        if counts:
            await directory_members.keep(alumni.database, ridden, counts, entries, read_at)
        members = [(e["_id"], e["n"], e["v"]) for e in entries]
    matched = [{"_id": i, "n": n, "v": v} for i, n, v in members if all(f in v for f in singles)]
    return len(matched), await _whole(alumni, matched[offset:offset + size], session)


async def _entries(db: AsyncDatabase, facet: str, window: Window | None, session: AsyncClientSession | None) -> list[dict[str, Any]]:
    selector: dict[str, Any] = {} if facet == "all" else {"v": facet}
    if window is not None:
        selector["n"] = {"$gte": window.low} | ({"$lt": window.high} if window.high is not None else {})
    found = [e async for e in db[ENTRIES].find(selector, batch_size=1000, session=session)]  # one round trip for most
    return sorted(found, key=lambda e: (e["n"], e["_id"]))  # sorted here: the local database's sort costs more


async def _whole(alumni: AsyncCollection, entries: list[dict[str, Any]], session: AsyncClientSession | None) -> list[dict[str, Any]]:
    ids = [e["_id"] for e in entries]
    # Listed still: an entry left behind (by an instance of an earlier version) never shows an
    # alumnus who withdrew.
    docs = {d["_id"]: d for d in await find_many(alumni, "_id", ids, session=session, **{"search.listed": True})}
    if len(docs) < len(ids):
        log.warning("%d directory entries without a listed alumnus; rebuild them (directory_build.rebuild)", len(ids) - len(docs))
    return [docs[i] for i in ids if i in docs]


async def _scanned(alumni: AsyncCollection, query: DirectoryQuery, session: AsyncClientSession | None) -> tuple[int, list[dict[str, Any]]]:
    """A page read from the alumni documents alone, every alumnus read: until the counts and
    entries are built (identity's start-up)."""
    selector, offset = query.filter(), (query.page - 1) * query.page_size
    total = await alumni.count_documents(selector, session=session)
    cursor = alumni.find(selector, sort=ORDER, skip=offset, limit=query.page_size, session=session)
    return total, [d async for d in cursor]
