"""The kept members of a filter value, patched by the changes made since they were kept
(services/identity/directory_members.py): read back as the entries would be read, and not at
all when they cannot be trusted."""

import json

import pytest

from services.identity import directory_members
from services.identity.directory_members import CHANGES, MEMBERS, MOST_CHANGES


class Collection:
    """Documents in memory, found by equality of `f` (a list holds the value)."""

    def __init__(self, docs: list[dict]) -> None:
        self.docs = docs

    def find(self, selector: dict, projection=None, limit: int = 0, session=None) -> "Found":
        found = [d for d in self.docs if selector["f"] in (d["f"] if isinstance(d["f"], list) else [d["f"]])]
        return Found(found[:limit] if limit else found)


class Found:
    def __init__(self, docs: list[dict]) -> None:
        self.docs = docs

    def __aiter__(self):
        return self._each()

    async def _each(self):
        for d in reversed(self.docs):  # in no particular order
            yield d

    async def to_list(self, length=None) -> list[dict]:
        return list(self.docs)


SKILL = "skill:python"


def member(i: str, name: str, *facets: str) -> list:
    return [i, name, sorted({SKILL, *facets})]


def kept(members: list[list], stamp: int = 4) -> list[dict]:
    return [{"_id": f"{SKILL}#{n}", "f": SKILL, "i": n, "stamp": stamp, "m": json.dumps(members[n * 2:n * 2 + 2])}
            for n in range((len(members) + 1) // 2)]


def database(members: list[dict], changes: list[dict]) -> dict:
    return {MEMBERS: Collection(members), CHANGES: Collection(changes)}


MEMBERS_KEPT = [member("al-1", "adam"), member("al-2", "bernard"), member("al-3", "claude"), member("al-4", "denis")]


async def test_the_changes_since_they_were_kept_put_alumni_in_move_them_and_take_them_out() -> None:
    changes = [
        {"_id": "al-9", "f": [SKILL, "city:paris"], "e": member("al-9", "bruno", "city:paris")},  # joined
        {"_id": "al-1", "f": [SKILL], "e": member("al-1", "zoe")},  # renamed: moves to the end
        {"_id": "al-3", "f": [SKILL, "skill:go"], "e": ["al-3", "claude", ["skill:go"]]},  # left the skill
        {"_id": "al-7", "f": [SKILL], "e": ["al-7", "xavier", ["skill:go"]]},  # joined and left since
    ]
    found = await directory_members.read(database(kept(MEMBERS_KEPT), changes), SKILL, {"n": 4, "w": 4}, None)
    assert [m[0] for m in found] == ["al-2", "al-9", "al-4", "al-1"]  # bernard, bruno, denis, zoe
    assert found[1] == member("al-9", "bruno", "city:paris") and found[-1][1] == "zoe"


async def test_without_changes_they_are_read_as_kept() -> None:
    assert await directory_members.read(database(kept(MEMBERS_KEPT), []), SKILL, {"n": 4, "w": 4}, None) == MEMBERS_KEPT


@pytest.mark.parametrize("why, members, changes, counts", [
    ("nothing kept", [], [], {"n": 4, "w": 4}),
    ("kept before a withdrawal or an erasure moved `w`", kept(MEMBERS_KEPT, stamp=3), [], {"n": 4, "w": 4}),
    ("a part missing", kept(MEMBERS_KEPT)[1:], [], {"n": 4, "w": 4}),
    ("a change not seen: as many as the count says, or nothing", kept(MEMBERS_KEPT), [], {"n": 5, "w": 4}),
    ("more changes than are worth reading", kept(MEMBERS_KEPT),
     [{"_id": f"al-x{i}", "f": [SKILL], "e": member(f"al-x{i}", "x")} for i in range(MOST_CHANGES + 1)], {"n": 4 + MOST_CHANGES + 1, "w": 4}),
])
async def test_members_that_cannot_be_trusted_are_not_read(why: str, members: list, changes: list, counts: dict) -> None:
    assert await directory_members.read(database(members, changes), SKILL, counts, None) is None, why


def test_a_change_holds_the_entry_as_it_is_now_and_adds_the_values_it_was_or_is_under() -> None:
    update = directory_members.change({"_id": "al-1", "n": "zoe", "v": [SKILL]}, {"skill:go", SKILL}, "now")
    assert update == {"$set": {"e": ["al-1", "zoe", [SKILL]], "at": "now"}, "$addToSet": {"f": {"$each": ["skill:go", SKILL]}}}


def test_a_drop_takes_its_alumni_out_of_the_parts_kept_at_the_current_write_count_and_moves_them_on() -> None:
    parts = kept(MEMBERS_KEPT) + [{"_id": "city:paris#0", "f": "city:paris", "i": 0, "stamp": 1, "m": json.dumps([member("al-2", "bernard")])}]
    writes = directory_members.without(parts, {"al-2"}, {SKILL: 4, "city:paris": 2})
    assert writes == [
        ({"_id": f"{SKILL}#0", "stamp": 4}, {"$set": {"stamp": 5, "m": json.dumps([member("al-1", "adam")])}}),
        ({"_id": f"{SKILL}#1", "stamp": 4}, {"$set": {"stamp": 5}}),  # none of them there: only moved on
        ({"_id": "city:paris#0"}, None),  # behind its value's count already: never read, deleted
    ]
    assert "al-2" not in "".join(u["$set"].get("m", "") for _, u in writes if u)
    # Several drops of one import chunk move a value's count by as many.
    [(_, update), _] = directory_members.without(kept(MEMBERS_KEPT), {"al-1", "al-4"}, {SKILL: 4}, {SKILL: 2})
    assert update["$set"] == {"stamp": 6, "m": json.dumps([member("al-2", "bernard")])}
