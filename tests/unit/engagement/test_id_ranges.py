"""A mailing walks its audience by bounded ranges of the id space (services/engagement/id_ranges.py):
every alumnus is told once whatever the ids look like, no chunk is over the chunk size, and with
the platform's random ids nearly every range is bounded and holds about a chunk."""

import random
import uuid

from services.engagement.domain import Mailing
from services.engagement.id_ranges import position, range_end


def walk(ids: list[str], chunk_size: int, invited=lambda i: True) -> tuple[list[list[str]], int]:
    """The chunks a mailing tells, and how many of its queries had no end."""
    ordered, mailing, chunks, unbounded = sorted(ids), Mailing("m", "evt", "invitations"), [], 0
    for _ in range(100_000):
        end = range_end(mailing.after, mailing.span)
        unbounded += end is None
        told = [i for i in ordered if mailing.after < i and (end is None or i <= end) and invited(i)][:chunk_size]
        mailing.advance(told, chunk_size, end)
        if told:
            chunks.append(told)
        if mailing.done:
            return chunks, unbounded
    raise AssertionError("the walk never ended")


def random_ids(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    return [f"alm_{uuid.UUID(int=rng.getrandbits(128)).hex}" for _ in range(n)]


def test_every_alumnus_is_told_once_in_chunks_of_at_most_the_size() -> None:
    ids = random_ids(5_000)
    chunks, unbounded = walk(ids, 100)
    told = [i for c in chunks for i in c]
    assert sorted(told) == sorted(ids) and len(told) == len(set(told))
    assert max(map(len, chunks)) <= 100
    assert unbounded <= 2  # the first chunk, which finds the density, and the last
    assert len(chunks) <= 5_000 / 100 * 2  # ranges of about a chunk, not a crumb each


def test_a_filtered_audience_is_walked_whole_too() -> None:
    ids = random_ids(3_000, seed=11)
    invited = {i for i in ids if int(i[-1], 16) % 5 == 0}
    chunks, _ = walk(ids, 50, invited.__contains__)
    assert sorted(i for c in chunks for i in c) == sorted(invited)


def test_ids_of_any_shape_are_all_told_once() -> None:
    ids = ["alm_1", "alm_10", "alm_2", "alm_", "alm_zz", "alm_ffffffffffffffff", "a", "zzz", "", "alm_0", "ALM_9", "émile",
           *(f"alm_{n}" for n in range(300)), *(f"emp-{n}" for n in range(300))]
    ids = list(dict.fromkeys(ids))
    chunks, _ = walk([i for i in ids if i], 40)
    told = [i for c in chunks for i in c]
    assert sorted(told) == sorted(i for i in ids if i) and len(told) == len(set(told))
    assert max(map(len, chunks)) <= 40


def test_positions_follow_the_order_of_ids() -> None:
    ids = sorted(random_ids(1_000, seed=3))
    assert [position(i) for i in ids] == sorted(position(i) for i in ids)
    assert position("") == 0.0 and position("zzz") == 1.0
    assert range_end("alm_8", 1.0) is None and range_end("", 0.5) == "alm_800000000000"
