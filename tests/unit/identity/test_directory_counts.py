"""The directory's page counts (services/identity/directory.py): which facets and pairs an
alumnus is counted under, what a change does to the counts, and that a page located from them
holds exactly the alumni an offset and a limit over the whole ordered list would give."""

import json
import logging
import random

import pytest
from pymongo.errors import PyMongoError

from services.identity import directory, directory_search
from services.identity.directory import FACETS, COARSE, FINE, DirectoryQuery, Window, _holding, _past, deltas, facets, pairs
from services.identity.directory_members import CHANGES, MEMBERS
from services.identity.directory_search import ENTRIES, entry


def doc(name: str, *, listed: bool = True, skills=("python",), department="sales", country="FR", city="paris", years=(2021,), willing=("mentor",)) -> dict:
    return {
        "search": {"listed": listed, "name": name, "skills": list(skills), "department": department, "city": city, "departure_years": list(years)},
        "profile": {"country": country, "willing_to": list(willing)},
    }


def test_a_listed_alumnus_is_counted_under_every_value_the_directory_filters_on() -> None:
    assert facets(doc("dupont marie", skills=("python", "sql"), years=(2019, 2024))) == {
        "all", "skill:python", "skill:sql", "department:sales", "country:FR", "city:paris", "year:2019", "year:2024", "willing:mentor",
    }
    assert facets(doc("dupont marie", listed=False)) == set()
    assert facets(doc("x", department="", city="", country=None, skills=(), willing=())) == {"all", "year:2021"}


def test_a_listed_alumnus_is_counted_under_every_pair_of_values_of_two_kinds() -> None:
    assert pairs(doc("dupont marie", skills=("python", "sql"), years=(2019,))) == [
        "city:paris&country:FR", "city:paris&department:sales", "city:paris&skill:python", "city:paris&skill:sql",
        "city:paris&willing:mentor", "city:paris&year:2019", "country:FR&department:sales", "country:FR&skill:python",
        "country:FR&skill:sql", "country:FR&willing:mentor", "country:FR&year:2019", "department:sales&skill:python",
        "department:sales&skill:sql", "department:sales&willing:mentor", "department:sales&year:2019", "skill:python&willing:mentor",
        "skill:python&year:2019", "skill:sql&willing:mentor", "skill:sql&year:2019", "willing:mentor&year:2019",
    ]
    assert pairs(doc("dupont marie", listed=False)) == []
    assert pairs(doc("x", department="", city="", country=None, skills=(), willing=())) == []  # a year alone
    assert pairs(doc("x", department="", city="", country=None, skills=("a", "b"), willing=(), years=(2019, 2024))) == [
        "skill:a&year:2019", "skill:a&year:2024", "skill:b&year:2019", "skill:b&year:2024",
    ]


def test_a_query_names_its_facet_or_pair_and_none_for_three_filters() -> None:
    assert DirectoryQuery().facet() == "all"
    assert DirectoryQuery(skill=" Python ").facet() == "skill:python"
    assert DirectoryQuery(country="fr").facet() == "country:FR"
    assert DirectoryQuery(departure_year=2021).facet() == "year:2021"
    assert DirectoryQuery(willing_to="mentor").facet() == "willing:mentor"
    assert DirectoryQuery(skill=" Python", country="fr").facet() == "country:FR&skill:python"
    assert DirectoryQuery(departure_year=2019, city="Paris").facet() == "city:paris&year:2019"
    assert DirectoryQuery(skill="python", country="FR", city="paris").facet() is None


def test_a_query_of_two_filters_or_more_leads_with_the_narrowest() -> None:
    assert list(DirectoryQuery(skill="Python", country="fr").filter().items()) == [
        ("search.skills", "python"), ("profile.country", "FR"), ("search.listed", True)]
    assert list(DirectoryQuery(willing_to="mentor", department="Sales", city="Paris", departure_year=2019).filter().items()) == [
        ("search.city", "paris"), ("search.departure_years", 2019), ("search.department", "sales"), ("profile.willing_to", "mentor"),
        ("search.listed", True)]
    assert DirectoryQuery(department="sales").filter() == {"search.department": "sales", "search.listed": True}


def test_a_change_moves_only_what_changed_and_an_unchanged_save_writes_nothing() -> None:
    before = doc("dupont marie", skills=("python",))
    assert deltas(before, before) == {}
    moved = deltas(before, doc("dupont marie", skills=("sql",)))
    assert {k for k in moved if "&" not in k} == {"skill:python", "skill:python|dup", "skill:sql", "skill:sql|dup"}
    assert moved["skill:python"]["n"] == -1 and moved["skill:sql"]["n"] == 1
    withdrawn = deltas(before, doc("dupont marie", listed=False))
    assert all(n < 0 for fields in withdrawn.values() for n in fields.values())
    assert deltas(None, before) == {k: {p: -n for p, n in v.items()} for k, v in deltas(before, None).items()}


def test_a_change_moves_the_pairs_it_changes_which_have_coarse_counts_only() -> None:
    before = doc("dupont marie", skills=("python",))  # sales, FR, paris, 2021, mentor
    dup, mar = f"b.{'dup'.encode().hex()}", f"b.{'mar'.encode().hex()}"
    lost = {"city:paris&skill:python", "country:FR&skill:python", "department:sales&skill:python", "skill:python&willing:mentor",
            "skill:python&year:2021"}
    retrained = deltas(before, doc("dupont marie", skills=("sql",)))
    assert {k for k in retrained if "&" in k} == lost | {k.replace("python", "sql") for k in lost}
    assert all(retrained[k] == {"n": -1, dup: -1} for k in lost)
    assert retrained["city:paris&skill:sql"] == {"n": 1, dup: 1}
    moved = deltas(before, doc("dupont marie", country="BE"))
    assert {k for k in moved if "&" in k} == {
        "city:paris&country:FR", "country:FR&department:sales", "country:FR&skill:python", "country:FR&willing:mentor", "country:FR&year:2021",
        "city:paris&country:BE", "country:BE&department:sales", "country:BE&skill:python", "country:BE&willing:mentor", "country:BE&year:2021",
    }
    renamed = deltas(before, doc("martin marie", skills=("python",)))
    assert renamed["country:FR&skill:python"] == {dup: -1, mar: 1}  # the same total, another bucket
    assert not any("&" in k and "|" in k for k in (*retrained, *moved, *renamed))
    for gone in (doc("dupont marie", skills=("python",), listed=False), None):  # withdrawn, erased
        out = deltas(before, gone)
        assert {k for k in out if "&" in k} == set(pairs(before)) and len(pairs(before)) == 15
        assert all(out[k] == {"n": -1, dup: -1} for k in pairs(before))


def test_a_listed_alumnus_has_an_entry_of_its_name_and_facets_which_a_save_changes_only_when_they_do() -> None:
    listed = doc("dupont marie", skills=("sql", "python")) | {"_id": "al-1"}
    assert entry(listed) == {"_id": "al-1", "n": "dupont marie", "v": [
        "city:paris", "country:FR", "department:sales", "skill:python", "skill:sql", "willing:mentor", "year:2021"]}
    assert entry(doc("dupont marie", listed=False) | {"_id": "al-1"}) is None and entry(None) is None
    assert directory_search.entry_change(listed, dict(listed)) is None
    assert directory_search.entry_change(None, listed) == ("put", entry(listed))
    renamed = doc("martin marie", skills=("sql", "python")) | {"_id": "al-1"}
    assert directory_search.entry_change(listed, renamed) == ("put", entry(renamed))
    assert directory_search.entry_change(listed, doc("dupont marie", listed=False) | {"_id": "al-1"}) == ("drop", {"_id": "al-1"})
    assert directory_search.entry_change(listed, None) == ("drop", {"_id": "al-1"})
    assert directory_search.entry_change(None, doc("x", listed=False) | {"_id": "al-2"}) is None
    # Erased while not listed: an entry an earlier version left behind goes too.
    assert directory_search.entry_change(doc("x", listed=False) | {"_id": "al-2"}, None) == ("drop", {"_id": "al-2"})


class Writes:
    """A unit of work's last writes, as `keep_later` makes them."""

    def __init__(self) -> None:
        self.writes: list[tuple] = []

    def update_last(self, collection: str, selector: dict, update: dict, upsert: bool = False) -> None:
        self.writes.append(("update", collection, selector["_id"]))

    def replace_last(self, collection: str, selector: dict, document: dict, upsert: bool = False) -> None:
        self.writes.append(("replace", collection, selector["_id"], document, upsert))

    def delete_last(self, collection: str, selector: dict) -> None:
        self.writes.append(("delete", collection, selector["_id"]))

    def delete_many_last(self, collection: str, selector: dict) -> None:
        self.writes.append(("delete many", collection, selector))


def test_a_save_keeps_the_counts_the_entry_and_its_change_in_one_transaction_and_an_erasure_drops_them() -> None:
    listed = doc("dupont marie") | {"_id": "al-1"}
    saved, erased, unchanged = Writes(), Writes(), Writes()
    directory_search.keep_later(saved, None, listed)
    taken_out = [({"_id": "skill:go#0", "stamp": 3}, {"$set": {"stamp": 4, "m": "[]"}}), ({"_id": "skill:go#1"}, None)]
    directory_search.keep_later(erased, listed, None, {"skill:go"}, taken_out)  # its change was also under skill:go
    directory_search.keep_later(unchanged, listed, dict(listed))
    assert saved.writes[-2:] == [("replace", ENTRIES, "al-1", entry(listed), True), ("update", CHANGES, "al-1")]
    assert {w[2] for w in saved.writes if w[0] == "update" and w[1] == FACETS} == set(deltas(None, listed))
    assert not any(w[1] == MEMBERS for w in saved.writes)  # the kept members stay: the change patches them
    assert [w for w in erased.writes if w[1] == MEMBERS] == [("update", MEMBERS, "skill:go#0"), ("delete", MEMBERS, "skill:go#1")]
    assert {w[2] for w in erased.writes if w[1] == FACETS} >= set(entry(listed)["v"]) | {"skill:go"}
    assert erased.writes[-2:] == [("delete", ENTRIES, "al-1"), ("delete", CHANGES, "al-1")]
    assert unchanged.writes == []


def test_only_a_dropped_entry_moves_the_write_count_of_each_value_it_and_its_change_were_under() -> None:
    before = doc("dupont marie") | {"_id": "al-1"}
    moved = before | {"profile": before["profile"] | {"country": "DE"}}
    change = directory_search.entry_change(before, moved)
    assert directory_search._stale(before, moved, change, set()) == set()  # patched, not thrown away
    withdrawn = before | {"search": before["search"] | {"listed": False}}
    change = directory_search.entry_change(before, withdrawn)
    stale = directory_search._stale(before, withdrawn, change, {"country:DE"})
    assert stale == set(entry(before)["v"]) | {"country:DE"}
    updates = {s["_id"]: u["$inc"] for s, u in directory_search._count_updates(before, withdrawn, stale)}
    assert {f for f, inc in updates.items() if inc.get("w") == 1} == stale
    assert directory_search.touched(before, dict(before)) == set()
    assert directory_search.touched(before, moved) == set(entry(before)["v"]) | set(entry(moved)["v"])


def apply(counts: dict[str, dict], change: dict[str, dict[str, int]]) -> None:
    for _id, fields in change.items():
        target = counts.setdefault(_id, {"_id": _id})
        for path, n in fields.items():
            if path == "n":
                target["n"] = target.get("n", 0) + n
            else:
                target.setdefault("b", {})[path[2:]] = target.get("b", {}).get(path[2:], 0) + n


class Counts:
    """The `directory_facets` collection, in memory."""

    def __init__(self) -> None:
        self.docs: dict[str, dict] = {}

    def __getitem__(self, _name: str) -> "Counts":
        return self

    async def find(self, query: dict, session=None):
        for _id in query["_id"]["$in"]:
            if _id in self.docs:
                yield self.docs[_id]

    async def find_one(self, query: dict, projection=None, session=None):
        found = self.docs.get(query["_id"])
        return found if found and all(found.get(k) == v for k, v in query.items()) else None


def in_window(names: list[str], window: Window) -> list[str]:
    return [n for n in names if n >= window.low and (window.high is None or n < window.high)]


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_a_located_page_is_the_slice_of_the_ordered_alumni(seed: int) -> None:
    rng = random.Random(seed)
    stems = ["martin", "martinez", "bernard", "dubois", "durand", "le", "li", "o'neil", "élodie", "zoë", "ab"]
    names = sorted(f"{rng.choice(stems)} {rng.choice(['jean', 'marie', 'a', 'léa', 'jean-pierre'])}{rng.randrange(30)}" for _ in range(400))
    counts = Counts()
    counts.docs[directory.BUILT] = {"_id": directory.BUILT, "version": directory.VERSION}
    for n in names:
        apply(counts.docs, deltas(None, doc(n)))
    for offset, size in [(0, 20), (17, 5), (200, 100), (390, 20), (399, 1), (123, 1)]:
        total, window = await directory.locate(counts, "all", offset, size)
        assert total == len(names)
        assert in_window(names, window)[window.skip:window.skip + size] == names[offset:offset + size]
        assert len(in_window(names, window)) <= size + 2 * max(names.count(n) for n in names) + 60
    assert await directory.locate(counts, "all", 400, 20) == (400, None)
    assert await directory.locate(counts, "skill:none", 0, 20) == (0, None)
    counts.docs[directory.BUILT] = {"_id": directory.BUILT}  # counted before the pairs
    assert await directory.locate(counts, "all", 0, 20) is None
    del counts.docs[directory.BUILT]
    assert await directory.locate(counts, "all", 0, 20) is None


def test_the_end_of_a_bucket_is_above_all_its_names_and_below_the_next() -> None:
    assert _past("ab") == "ab\x00" and "ab" < _past("ab") < "ab " < "abc"
    full = "martin jean-pier"
    assert len(full) == FINE and all(full + rest < _past(full) for rest in ("", "re", "\U0010ffff"))
    assert _past(full) <= "martin jean-pies"
    assert _past("mar", COARSE) == "mas" and _past("a b"[:COARSE], COARSE) == "a c" and _past("ab", COARSE) == "ab\x00"
    with pytest.raises(ValueError):
        _holding([("a", 2)], 2)


class Entries:
    """`directory_entries` in memory, as `directory_search.page` asks it: `v` holds a facet, `n`
    in a range; with the selector of each find and how many entries it read."""

    def __init__(self, docs: list[dict]) -> None:
        self.docs = [e for d in docs if (e := entry(d))]
        self.found: list[tuple[dict, int]] = []

    async def find(self, selector: dict, batch_size: int = 0, session=None):
        names = selector.get("n", {})
        found = [e for e in self.docs if ("v" not in selector or selector["v"] in e["v"])
                 and e["n"] >= names.get("$gte", "") and ("$lt" not in names or e["n"] < names["$lt"])]
        self.found.append((selector, len(found)))
        for e in reversed(found):  # in no particular order
            yield e


class NoMembers:
    """`directory_members` with nothing kept, and a database that keeps nothing (its members
    are kept in a transaction: tests/integration/store/test_directory.py)."""

    async def find(self, selector: dict, session=None):
        for kept in ():
            yield kept


class Database(dict):
    class client:
        @staticmethod
        def start_session():
            raise PyMongoError("no transactions in memory")


class Alumni:
    """An alumni collection in memory: documents by id (a page's alumni, after their entries),
    and, for a page read from the alumni alone, equality (an array holds the value), the
    directory's order; with the selectors asked."""

    def __init__(self, docs: list[dict], counts: Counts) -> None:
        self.docs, self.entries = docs, Entries(docs)
        self.database = Database({FACETS: counts, ENTRIES: self.entries, MEMBERS: NoMembers()})
        self.found: list[tuple[dict, int]] = []
        self.by_id: list[int] = []
        self.counted: list[dict] = []

    @staticmethod
    def matches(doc: dict, selector: dict) -> bool:
        for path, wanted in selector.items():
            section, field = path.split(".")
            value = doc[section].get(field)
            if not (wanted in value if isinstance(value, list) else value == wanted):
                return False
        return True

    async def count_documents(self, selector: dict, session=None) -> int:
        self.counted.append(selector)
        return sum(self.matches(d, selector) for d in self.docs)

    def find(self, selector: dict, projection=None, sort=None, skip: int = 0, limit: int = 0, session=None) -> "Found":
        if "_id" in selector:
            assert selector["search.listed"] is True
            self.by_id.append(len(selector["_id"]["$in"]))
            return Found([d for d in self.docs[::-1] if d["_id"] in selector["_id"]["$in"] and d["search"]["listed"]])
        found = sorted((d for d in self.docs if self.matches(d, selector)), key=lambda d: (d["search"]["name"], d["_id"]))
        self.found.append((selector, len(found)))
        return Found(found[skip:skip + limit] if limit else found[skip:])


class Found:
    """A cursor over documents found: iterated, or listed at once."""

    def __init__(self, docs: list[dict]) -> None:
        self.docs = docs

    async def __aiter__(self):
        for d in self.docs:
            yield d

    async def to_list(self) -> list[dict]:
        return self.docs


# What each filter of the API means, written out apart from the code under test.
MEANS = {
    "skill": lambda d, v: v.strip().lower() in d["search"]["skills"], "department": lambda d, v: d["search"]["department"] == v.lower(),
    "country": lambda d, v: d["profile"]["country"] == v.upper(), "city": lambda d, v: d["search"]["city"] == v.lower(),
    "departure_year": lambda d, v: v in d["search"]["departure_years"], "willing_to": lambda d, v: v in d["profile"]["willing_to"],
}


def brute_force(docs: list[dict], params: dict) -> list[dict]:
    found = [d for d in docs if d["search"]["listed"] and all(MEANS[k](d, v) for k, v in params.items())]
    return sorted(found, key=lambda d: (d["search"]["name"], d["_id"]))


def generated(seed: int, n: int = 700) -> list[dict]:
    rng = random.Random(seed)
    stems = ["martin", "martinez", "marchand", "bernard", "dubois", "le", "li", "o'neil", "élodie", "zoë"]
    docs = []
    for i in range(n):
        d = doc(
            f"{rng.choice(stems)} {rng.choice(['jean', 'marie', 'a', 'léa'])}{rng.randrange(8)}", listed=rng.random() < 0.8,
            skills=rng.sample(["python", "sql", "go", "rust", "java", "excel"], rng.randint(1, 3)), department=rng.choice(["sales", "hr", "it"]),
            country=rng.choice(["FR", "BE", "DE"]), city=rng.choice(["paris", "lyon", "lille", "gent"]), years=rng.sample([2019, 2020, 2021], rng.randint(1, 2)),
            willing=rng.sample(["mentor", "speak_at_events", "refer_clients"], rng.randint(0, 2)),
        )
        d["_id"] = f"al-{i:04d}"
        docs.append(d)
    return docs


def built(docs: list[dict]) -> Counts:
    counts = Counts()
    counts.docs[directory.BUILT] = {"_id": directory.BUILT, "version": directory.VERSION}
    for d in docs:
        apply(counts.docs, deltas(None, d))
    return counts


async def every_page(alumni: Alumni, params: dict, page_size: int) -> tuple[set[int], list[str]]:
    """The totals of every page, and the ids of all of them, one page past the end included."""
    totals, ids, page = set(), [], 1
    while True:
        total, found = await directory_search.page(alumni, DirectoryQuery(**params, page=page, page_size=page_size))
        totals.add(total)
        ids += [d["_id"] for d in found]
        if not found:
            return totals, ids
        page += 1


@pytest.mark.parametrize("seed", [4, 5])
@pytest.mark.parametrize("params", [{"skill": "Python ", "country": "fr"}, {"city": "lille", "departure_year": 2020},
                                    {"department": "hr", "willing_to": "mentor"}])
async def test_every_page_of_two_filters_is_located_from_the_pair_counts(seed: int, params: dict) -> None:
    docs = generated(seed)
    alumni = Alumni(docs, built(docs))
    want = brute_force(docs, params)
    assert len(want) > 40
    facets = {f"{kind}:{value}" for kind, value in DirectoryQuery(**params).asked()}
    narrower = min(sum(f in e["v"] for e in alumni.entries.docs) for f in facets)
    for page_size in (7, 20):
        alumni.entries.found.clear(), alumni.by_id.clear()
        assert await every_page(alumni, params, page_size) == ({len(want)}, [d["_id"] for d in want])
        assert alumni.counted == [] and alumni.found == []  # the total is the pair's count, the alumni read by id
        for selector, _ in alumni.entries.found:  # one filter's entries, in a name range
            assert selector["v"] in facets and "n" in selector
        # Each page reads a share of the narrower filter's entries, not all of them, and its own alumni.
        assert sum(n for _, n in alumni.entries.found) / len(alumni.entries.found) < narrower / 2
        assert all(0 < n <= page_size for n in alumni.by_id)


async def test_three_filters_ride_the_narrowest_and_are_counted() -> None:
    docs = generated(6)
    alumni = Alumni(docs, built(docs))
    params = {"skill": "sql", "country": "BE", "willing_to": "mentor", "department": "it"}
    want = brute_force(docs, params)
    assert len(want) > 3
    assert await every_page(alumni, params, 2) == ({len(want)}, [d["_id"] for d in want])
    sizes = {f: sum(f in e["v"] for e in alumni.entries.docs) for f in ("skill:sql", "country:BE", "willing:mentor", "department:it")}
    assert {str(s) for s, _ in alumni.entries.found} == {str({"v": min(sizes, key=sizes.get)})}  # the narrowest, all of it
    assert alumni.found == [] and alumni.counted == []


async def test_a_page_of_two_filters_reads_the_entries_of_the_one_with_fewer_alumni_in_its_range() -> None:
    docs = generated(8, n=400)
    for i, d in enumerate(docs):  # every listed alumnus knows python; one in ten is in Belgium
        d["search"]["skills"], d["profile"]["country"] = ["python"], "BE" if i % 10 == 0 else "FR"
    alumni = Alumni(docs, built(docs))
    params = {"skill": "python", "country": "BE"}
    assert [kind for kind, _ in DirectoryQuery(**params).asked()] == ["skill", "country"]  # the skill first, by kind
    want = brute_force(docs, params)
    assert await every_page(alumni, params, 5) == ({len(want)}, [d["_id"] for d in want])
    assert {s["v"] for s, _ in alumni.entries.found} == {"country:BE"}


async def test_before_the_counts_are_built_with_pairs_two_filters_are_read_without_them(caplog: pytest.LogCaptureFixture) -> None:
    docs = generated(7)
    params = {"skill": "go", "city": "paris"}
    want = [d["_id"] for d in brute_force(docs, params)]
    old = built(docs)  # counted before the pairs: no version, no pair counts
    old.docs[directory.BUILT] = {"_id": directory.BUILT}
    old.docs = {k: v for k, v in old.docs.items() if "&" not in k}
    for counts in (old, Counts()):
        alumni = Alumni(docs, counts)
        assert await every_page(alumni, params, 9) == ({len(want)}, want)
        assert alumni.counted and all("search.name" not in s for s, _ in alumni.found) and alumni.entries.found == []
    counts = built(docs)
    counts.docs["city:paris&skill:go"]["b"] = {}  # out of step: a total without its buckets
    alumni = Alumni(docs, counts)
    with caplog.at_level(logging.WARNING):
        assert await every_page(alumni, params, 9) == ({len(want)}, want)
    # Out of step, the entries of the narrower filter are read whole, not every alumnus.
    assert "out of step" in caplog.text and not alumni.counted and not alumni.found
    assert {s["v"] for s, _ in alumni.entries.found} == {min(("city:paris", "skill:go"), key=lambda f: counts.docs[f]["n"])}


async def test_an_entry_left_behind_never_shows_an_alumnus_who_is_no_longer_listed(caplog: pytest.LogCaptureFixture) -> None:
    docs = generated(9, n=200)
    alumni = Alumni(docs, built(docs))
    withdrawn = next(d for d in docs if d["search"]["listed"])
    withdrawn["search"]["listed"] = False  # by an instance that kept no entries: the entry is still there
    with caplog.at_level(logging.WARNING):
        _, ids = await every_page(alumni, {}, 20)
    assert withdrawn["_id"] not in ids and "without a listed alumnus" in caplog.text


def test_kept_members_are_parted_by_count_and_by_size_and_read_back_in_order() -> None:
    from services.identity import directory_members

    small = [{"_id": f"al-{i:04d}", "n": f"name {i:04d}", "v": ["skill:python"]} for i in range(2500)]
    parts = directory_members._parts("skill:python", 7, small)
    assert [len(json.loads(p["m"])) for p in parts] == [1000, 1000, 500] and [p["i"] for p in parts] == [0, 1, 2]
    assert [m[0] for p in parts for m in json.loads(p["m"])] == [e["_id"] for e in small] and {p["stamp"] for p in parts} == {7}
    # 50 skills of 500 characters, accented: some 50 KB of JSON each, a few MB at most a part.
    large = [{"_id": f"al-{i}", "n": "é" * 40, "v": [f"skill:{'é' * 498}{k:02d}" for k in range(50)]} for i in range(300)]
    parts = directory_members._parts("skill:x", 0, large)
    assert len(parts) > 1 and all(len(p["m"].encode()) <= directory_members.PART_BYTES for p in parts)
    assert [m[0] for p in parts for m in json.loads(p["m"])] == [e["_id"] for e in large]
