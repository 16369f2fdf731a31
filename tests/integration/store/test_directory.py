"""The directory on the real database, with its entries, their indexes and its page counts: every filter the API
offers and their combinations (pairs, and three filters or more), every page, give the alumni an
in-memory filter and sort of the same documents gives, in the same order, through consent
withdrawals, profile changes and erasures; counts kept change by change equal counts rebuilt
from scratch; and a store from before the pairs is upgraded once at start-up."""

import json
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from pymongo import AsyncMongoClient

from bench.directory import sample_alumnus
from devstack.stack import LocalStack
from services.identity import directory, directory_build, repository
from services.identity.directory import FACETS, DirectoryQuery
from services.identity import directory_members
from services.identity.directory_members import MEMBERS
from services.identity.directory_search import ENTRIES
from services.identity.domain import Alumnus, Consent
from shared.clock import system_clock
from shared.messaging.outbox import Outbox
from shared.messaging.uow import Transactions
from shared.events.types import Purpose, Willingness

QUERIES = [
    {}, {"skill": "SKILL-07 "}, {"department": "sales"}, {"country": "fr"}, {"city": "city-42"}, {"departure_year": 2016},
    {"willing_to": "mentor"}, {"skill": "skill-07", "country": "FR"}, {"skill": "skill-07", "city": "City-42"},
    {"department": "sales", "willing_to": "mentor"}, {"country": "fr", "departure_year": 2016},
    {"city": "city-00", "department": "hr", "willing_to": "mentor"}, {"skill": "skill-07", "city": "city-42", "willing_to": "mentor"},
]


def namesakes_queries(alumnus: Alumnus) -> list[dict]:
    """Pairs and a triple of the values of the alumnus the namesakes copy: their pages crowd
    into one coarse bucket."""
    p = alumnus.profile
    return [{"skill": p.skills[0], "country": p.country}, {"department": p.department, "city": p.city},
            {"department": p.department, "skill": p.skills[-1], "city": p.city}]


class NoRelay:
    def wake(self, committed: list[dict] = ()) -> None: ...


@pytest.fixture
async def identity(stack: LocalStack) -> AsyncIterator[Transactions]:
    client = AsyncMongoClient(stack.cfg.mongodb_uri, tz_aware=True)
    db = client[f"identity_directory_{uuid.uuid4().hex[:8]}"]
    await repository.ensure_indexes(db)
    transactions = Transactions(client, db, Outbox(db, source="/tests"), NoRelay(), system_clock)
    await transactions.run(lambda uow: directory_build.ensure_built(uow.db, uow.session))
    yield transactions
    await client.drop_database(db.name)
    await client.close()


def expected(alumni: dict[str, Alumnus], query: DirectoryQuery) -> list[str]:
    docs = [repository.alumnus_document(a) for a in alumni.values()]
    selector = query.filter()

    def matches(doc: dict) -> bool:
        for path, wanted in selector.items():
            section, field = path.split(".")
            value = doc[section][field]
            if not (wanted in value if isinstance(value, list) else value == wanted):
                return False
        return True

    return [d["_id"] for d in sorted(filter(matches, docs), key=lambda d: (d["search"]["name"], d["_id"]))]


async def save(transactions: Transactions, alumni: list[Alumnus]) -> None:
    async def work(uow) -> None:
        for a in alumni:
            await repository.MongoAlumni(uow).save(a)

    await transactions.run(work)


async def check_every_page(transactions: Transactions, alumni: dict[str, Alumnus], page_size: int, more: list[dict] = ()) -> None:
    for params in [*QUERIES, *more]:
        want = expected(alumni, DirectoryQuery(**params))
        pages = max(1, -(-len(want) // page_size)) + 1  # and one past the end
        got: list[str] = []
        for page in range(1, pages + 1):
            query = DirectoryQuery(**params, page=page, page_size=page_size)
            total, found = await transactions.run(lambda uow: repository.MongoAlumni(uow).directory(query))
            assert total == len(want), params
            got += [a.alumnus_id for a in found]
        assert got == want, params


async def counts(transactions: Transactions) -> dict[str, dict]:
    """The counts, less those gone to zero (kept as zeros by the changes, absent from a rebuild)."""
    docs = await transactions.db[FACETS].find({}).to_list()
    found = {d["_id"]: {"n": d.get("n", 0), "b": {k: v for k, v in d.get("b", {}).items() if v}} for d in docs}
    return {k: v for k, v in found.items() if v["n"] or v["b"] or k == directory.BUILT}


async def test_every_filter_and_page_is_the_ordered_slice_through_changes(identity: Transactions) -> None:
    rng, now = random.Random(7), datetime.now(UTC)
    made = [sample_alumnus(n, rng, now) for n in range(400)]
    # Namesakes: the order among them is their id's, on every page.
    made += [replace(sample_alumnus(400 + n, rng, now), profile=made[0].profile.model_copy(update={"personal_email": None})) for n in range(30)]
    for i in range(0, len(made), 50):
        await save(identity, made[i:i + 50])
    alumni = {a.alumnus_id: a for a in made}
    crowded = namesakes_queries(made[0])
    await check_every_page(identity, alumni, page_size=7, more=crowded)
    await check_every_page(identity, alumni, page_size=100, more=crowded)
    assert await identity.db[MEMBERS].count_documents({}) >= 2  # the narrowest of the three-filter pages (two cities), kept

    changed = rng.sample(sorted(alumni), 60)
    for alumnus_id in changed[:20]:  # consent withdrawn, or granted
        a = alumni[alumnus_id]
        a.consents[Purpose.DIRECTORY] = Consent(not a.consents_to(Purpose.DIRECTORY), now, "alumnus")
    for alumnus_id in changed[20:40]:  # moved, retrained, renamed
        a = alumni[alumnus_id]
        a.profile = a.profile.model_copy(update={"city": "City-42", "skills": ["skill-07"], "last_name": "Aaron"})
    await save(identity, [alumni[i] for i in changed[:40]])
    for alumnus_id in changed[40:]:
        await identity.run(lambda uow, alumnus_id=alumnus_id: repository.MongoAlumni(uow).erase(alumnus_id, now))
        del alumni[alumnus_id]
    kept = {m[0] async for part in identity.db[MEMBERS].find({}) for m in json.loads(part["m"])}
    assert not kept & set(changed[40:])  # nothing of the erased stays among the kept members
    await check_every_page(identity, alumni, page_size=7, more=crowded)
    assert len(expected(alumni, DirectoryQuery(skill="skill-07", city="city-42"))) >= 10

    # A located page of two filters asks for one filter's entries in the name range, which the
    # entries' index covers (the other filter is matched by identity): the local database rides it.
    selector = {"v": "city:city-42", "n": {"$gte": "a", "$lt": "b"}}
    plan = await identity.db.command("explain", {"find": ENTRIES, "filter": selector})
    assert '"indexName": "v_1_n_1"' in json.dumps(plan["queryPlanner"]["winningPlan"])

    kept, entries = await counts(identity), await identity.db[ENTRIES].find({}, sort=[("_id", 1)]).to_list()
    assert sum("&" in k for k in kept) > 1000  # the pairs are counted
    assert len(entries) == len(expected(alumni, DirectoryQuery()))  # one per listed alumnus
    await directory_build.rebuild(identity.db)
    assert await counts(identity) == kept
    assert await identity.db[ENTRIES].find({}, sort=[("_id", 1)]).to_list() == entries


async def test_the_directory_answers_from_the_index_alone_until_its_counts_are_built(identity: Transactions) -> None:
    rng, now = random.Random(3), datetime.now(UTC)
    alumni = {a.alumnus_id: a for a in (sample_alumnus(n, rng, now) for n in range(60))}
    await save(identity, list(alumni.values()))
    await identity.db[FACETS].delete_many({})  # a store from before the counts
    await check_every_page(identity, alumni, page_size=9)
    assert await identity.run(lambda uow: directory_build.ensure_built(uow.db, uow.session)) == len(expected(alumni, DirectoryQuery()))
    assert await identity.run(lambda uow: directory_build.ensure_built(uow.db, uow.session)) is None
    await check_every_page(identity, alumni, page_size=9)


async def test_a_store_from_before_the_pairs_is_upgraded_once_and_answers_the_same(identity: Transactions) -> None:
    rng, now = random.Random(11), datetime.now(UTC)
    made = [sample_alumnus(n, rng, now) for n in range(150)]
    made += [replace(sample_alumnus(150 + n, rng, now), profile=made[0].profile.model_copy(update={"personal_email": None})) for n in range(20)]
    alumni = {a.alumnus_id: a for a in made}
    await save(identity, made)
    crowded = namesakes_queries(made[0])
    # As the store was: no pair counts, no entries, a marker without a version.
    await identity.db[FACETS].delete_many({"_id": {"$regex": "&"}})
    await identity.db[FACETS].replace_one({"_id": directory.BUILT}, {})
    await identity.db[ENTRIES].delete_many({})
    before = await counts(identity)
    assert not await directory.is_built(identity.db) and before and not any("&" in k for k in before)
    await check_every_page(identity, alumni, page_size=7, more=crowded)  # read as before the pairs, until the upgrade

    listed = len(expected(alumni, DirectoryQuery()))
    assert await identity.run(lambda uow: directory_build.ensure_built(uow.db, uow.session)) == listed
    assert await identity.db[ENTRIES].count_documents({}) == listed
    upgraded = await counts(identity)
    assert {k: v for k, v in upgraded.items() if "&" not in k} == before
    assert sum("&" in k for k in upgraded) > 500
    await check_every_page(identity, alumni, page_size=7, more=crowded)
    assert await identity.run(lambda uow: directory_build.ensure_built(uow.db, uow.session)) is None
    await directory_build.rebuild(identity.db)
    assert await counts(identity) == upgraded


async def test_three_filters_are_read_from_the_kept_members_patched_by_the_changes_since(identity: Transactions) -> None:
    rng, now = random.Random(11), datetime.now(UTC)
    made = [sample_alumnus(n, rng, now) for n in range(300)]
    for a in made[:12]:  # listed in the three: a page of them and some
        a.profile = a.profile.model_copy(update={"city": "city-42", "skills": ["skill-07"], "willing_to": [Willingness.MENTOR]})
        a.consents[Purpose.DIRECTORY] = Consent(True, now, "alumnus")
    await save(identity, made)
    alumni = {a.alumnus_id: a for a in made}
    query = DirectoryQuery(skill="skill-07", city="city-42", willing_to="mentor", page_size=20)
    narrowest = "city:city-42"  # 1 of 80 cities, against 1 to 5 of 60 skills and a willingness
    db = identity.db

    async def page() -> tuple[int, list[str]]:
        total, found = await identity.run(lambda uow: repository.MongoAlumni(uow).directory(query))
        return total, [a.alumnus_id for a in found]

    async def kept() -> list[list]:
        return [m for part in await db[MEMBERS].find({"f": narrowest}, sort=[("i", 1)]).to_list() for m in json.loads(part["m"])]

    # Saved long enough ago that the members kept by the first page settle their changes.
    await db[directory_members.CHANGES].update_many({}, {"$set": {"at": now - 2 * directory_members.SETTLED}})
    want = expected(alumni, query)
    assert await page() == (len(want), want)
    assert await db[directory_members.CHANGES].count_documents({"f": narrowest}) == 0
    assert await db[directory_members.CHANGES].count_documents({}) > 0  # those under other values only
    [part] = await db[MEMBERS].find({"f": narrowest}).to_list()
    facet = await db[FACETS].find_one({"_id": narrowest})
    assert part["stamp"] == facet.get("w", 0) and len(json.loads(part["m"])) == facet["n"]
    # Read from the kept members: shown as they are, the entries' own place is not read.
    members = [m for m in json.loads(part["m"]) if m[0] != want[0]] + [["al-not-counted", "~", []]]
    await db[MEMBERS].replace_one({"_id": part["_id"]}, part | {"m": json.dumps(members)})
    assert (await page())[1][0] == want[1]
    await db[MEMBERS].replace_one({"_id": part["_id"]}, part)

    # Changes that keep their alumni listed patch the kept members: they stay as they were kept.
    before = await kept()
    mover, renamed, joiner = alumni[want[1]], alumni[want[2]], next(a for a in made[12:] if a.consents_to(Purpose.DIRECTORY))
    mover.profile = mover.profile.model_copy(update={"city": "city-01"})
    renamed.profile = renamed.profile.model_copy(update={"last_name": "Aaaron"})
    joiner.profile = joiner.profile.model_copy(update={"city": "city-42", "skills": ["skill-07"], "willing_to": [Willingness.MENTOR]})
    await save(identity, [mover, renamed, joiner])
    want = expected(alumni, query)
    assert want[0] == renamed.alumnus_id and joiner.alumnus_id in want and mover.alumnus_id not in want
    assert await page() == (len(want), want)
    assert await kept() == before  # the page came from them and the three changes
    changes = {c["_id"]: c async for c in db[directory_members.CHANGES].find({"f": narrowest})}
    assert set(changes) >= {mover.alumnus_id, renamed.alumnus_id, joiner.alumnus_id}
    assert "city:city-01" in changes[mover.alumnus_id]["f"] and narrowest not in changes[mover.alumnus_id]["e"][2]

    # Leaving the directory takes the alumnus out of the kept members, and its change: nothing of
    # them stays, and the next page is read from what is left.
    async def held(alumnus_id: str) -> list[str]:
        return [p["_id"] async for p in db[MEMBERS].find({}) if alumnus_id in p["m"]]

    withdrawn, also = alumni[want[-1]], alumni[want[-2]]  # two in one transaction
    assert await held(withdrawn.alumnus_id) and await held(also.alumnus_id)
    for a in (withdrawn, also):
        a.consents[Purpose.DIRECTORY] = Consent(False, now, "alumnus")
    await save(identity, [withdrawn, also])
    assert await held(withdrawn.alumnus_id) == [] and await held(also.alumnus_id) == []
    assert await db[directory_members.CHANGES].find_one({"_id": withdrawn.alumnus_id}) is None
    before = [m for m in before if m[0] not in (withdrawn.alumnus_id, also.alumnus_id)]
    assert await kept() == before
    want = expected(alumni, query)
    assert await page() == (len(want), want)
    assert await kept() == before  # read from them, not from the entries
    # So does an erasure: out of the members of every value its entry and its change were under
    # (the mover's old city, which its entry is no longer under).
    assert await held(mover.alumnus_id)
    await identity.run(lambda uow: repository.MongoAlumni(uow).erase(mover.alumnus_id, now))
    del alumni[mover.alumnus_id]
    assert await held(mover.alumnus_id) == []
    assert not [c async for c in db[directory_members.CHANGES].find({"_id": mover.alumnus_id})]
    before = [m for m in before if m[0] != mover.alumnus_id]
    want = expected(alumni, query)
    assert await page() == (len(want), want)
    assert await kept() == before

    # Keeping the members afresh settles the changes made before it: off this value, and gone
    # when under no other.
    counts = await db[FACETS].find_one({"_id": narrowest})
    entries = [{"_id": m[0], "n": m[1], "v": m[2]} for m in await directory_members.read(db, narrowest, counts, None)]
    assert await directory_members.keep(db, narrowest, counts, entries, datetime.now(UTC) + directory_members.SETTLED * 2)
    assert await kept() == [[e["_id"], e["n"], e["v"]] for e in entries]
    assert await db[directory_members.CHANGES].count_documents({"f": narrowest}) == 0
    assert "city:city-42" not in (await db[directory_members.CHANGES].find_one({"_id": joiner.alumnus_id}) or {"f": []})["f"]
    assert await page() == (len(want), want)

    # Members read before an entry was dropped are not kept after it.
    counts = await db[FACETS].find_one({"_id": narrowest})
    entries = [{"_id": m[0], "n": m[1], "v": m[2]} for m in await kept()]
    renamed.consents[Purpose.DIRECTORY] = Consent(False, now, "alumnus")
    await save(identity, [renamed])
    assert await directory_members.keep(db, narrowest, counts, entries, datetime.now(UTC)) is False
    assert await held(renamed.alumnus_id) == []
    want = expected(alumni, query)
    assert await page() == (len(want), want)


async def test_a_keeping_settles_a_bounded_number_of_changes_and_the_keepings_after_it_the_rest(
    identity: Transactions, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A page that keeps members settles some of the changes in its own request, never all of an
    # import's at once.
    monkeypatch.setattr(directory_members, "SETTLED_AT_ONCE", 3)
    db, facet, now = identity.db, "city:city-99", datetime.now(UTC)
    old = now - 2 * directory_members.SETTLED
    await db[FACETS].insert_one({"_id": facet, "n": 1})
    await db[directory_members.CHANGES].insert_many(
        [{"_id": f"al-{i}", "e": None, "f": [facet] + (["country:fr"] if i % 2 else []), "at": old} for i in range(7)]
        + [{"_id": "al-recent", "e": None, "f": [facet], "at": now}]
    )
    counts = await db[FACETS].find_one({"_id": facet})
    left = []
    for _ in range(4):
        assert await directory_members.keep(db, facet, counts, [{"_id": "al-kept", "n": "a", "v": [facet]}], datetime.now(UTC))
        left.append(await db[directory_members.CHANGES].count_documents({"f": facet}))
    assert left == [5, 2, 1, 1]  # three at a time; the change made since stays
    remaining = {d["_id"]: d["f"] for d in await db[directory_members.CHANGES].find({}).to_list()}
    assert remaining == {"al-1": ["country:fr"], "al-3": ["country:fr"], "al-5": ["country:fr"], "al-recent": [facet]}
