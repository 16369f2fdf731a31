"""What a chunk event names (leavers, alumni), split into parts that each fit in one event."""

from collections.abc import Sequence
from typing import TypeVar

from pydantic import BaseModel

T = TypeVar("T", bound=BaseModel)

# The items' share of one event: under the outbox's MAX_EVENT_BYTES (900 kB), with room for the
# event's own fields.
PART_BUDGET_BYTES = 800_000


def parts(items: Sequence[T], *, most: int, budget: int = PART_BUDGET_BYTES) -> list[list[T]]:
    """`items` in order, in consecutive parts of at most `most` items whose serialised sizes add
    up to at most `budget` bytes. Usually one part: the bound matters for items at the contract's
    longest (a profile can be some tens of kilobytes)."""
    found: list[list[T]] = []
    current: list[T] = []
    used = 0
    for item in items:
        size = len(item.model_dump_json()) + 1
        if current and (len(current) == most or used + size > budget):
            found.append(current)
            current, used = [], 0
        current.append(item)
        used += size
    if current:
        found.append(current)
    return found
