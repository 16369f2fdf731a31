"""The directory's page counts (services/identity/directory.py): which facets an alumnus is
counted under, what a change does to the counts, and that a page located from them holds exactly
the alumni an offset and a limit over the whole ordered list would give."""

import random

import pytest

from services.identity import directory
from services.identity.directory import FINE, DirectoryQuery, Window, _holding, _past, deltas, facets


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


def test_a_query_names_its_one_facet_and_none_for_two_filters() -> None:
    assert DirectoryQuery().facet() == "all"
    assert DirectoryQuery(skill=" Python ").facet() == "skill:python"
    assert DirectoryQuery(country="fr").facet() == "country:FR"
    assert DirectoryQuery(departure_year=2021).facet() == "year:2021"
    assert DirectoryQuery(willing_to="mentor").facet() == "willing:mentor"
    assert DirectoryQuery(skill="python", country="FR").facet() is None


def test_a_change_moves_only_what_changed_and_an_unchanged_save_writes_nothing() -> None:
    before = doc("dupont marie", skills=("python",))
    assert deltas(before, before) == {}
    moved = deltas(before, doc("dupont marie", skills=("sql",)))
    assert set(moved) == {"skill:python", "skill:python|dup", "skill:sql", "skill:sql|dup"}
    assert moved["skill:python"]["n"] == -1 and moved["skill:sql"]["n"] == 1
    withdrawn = deltas(before, doc("dupont marie", listed=False))
    assert all(n < 0 for fields in withdrawn.values() for n in fields.values())
    assert deltas(None, before) == {k: {p: -n for p, n in v.items()} for k, v in deltas(before, None).items()}


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


def in_window(names: list[str], window: Window) -> list[str]:
    return [n for n in names if n >= window.low and (window.high is None or n < window.high)]


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_a_located_page_is_the_slice_of_the_ordered_alumni(seed: int) -> None:
    rng = random.Random(seed)
    stems = ["martin", "martinez", "bernard", "dubois", "durand", "le", "li", "o'neil", "élodie", "zoë", "ab"]
    names = sorted(f"{rng.choice(stems)} {rng.choice(['jean', 'marie', 'a', 'léa', 'jean-pierre'])}{rng.randrange(30)}" for _ in range(400))
    counts = Counts()
    counts.docs[directory.BUILT] = {"_id": directory.BUILT}
    for n in names:
        apply(counts.docs, deltas(None, doc(n)))
    for offset, size in [(0, 20), (17, 5), (200, 100), (390, 20), (399, 1), (123, 1)]:
        total, window = await directory.locate(counts, "all", offset, size)
        assert total == len(names)
        assert in_window(names, window)[window.skip:window.skip + size] == names[offset:offset + size]
        assert len(in_window(names, window)) <= size + 2 * max(names.count(n) for n in names) + 60
    assert await directory.locate(counts, "all", 400, 20) == (400, None)
    assert await directory.locate(counts, "skill:none", 0, 20) == (0, None)
    del counts.docs[directory.BUILT]
    assert await directory.locate(counts, "all", 0, 20) is None


def test_the_end_of_a_bucket_is_above_all_its_names_and_below_the_next() -> None:
    assert _past("ab") == "ab\x00" and "ab" < _past("ab") < "ab " < "abc"
    full = "martin jean-pier"
    assert len(full) == FINE and all(full + rest < _past(full) for rest in ("", "re", "\U0010ffff"))
    assert _past(full) <= "martin jean-pies"
    with pytest.raises(ValueError):
        _holding([("a", 2)], 2)
