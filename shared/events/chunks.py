"""What a chunk event names (leavers, alumni), split into parts that each fit in one event."""

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

# The items' share of one event: under the outbox's MAX_EVENT_BYTES (900 kB), with room for the
# event's own fields.
PART_BUDGET_BYTES = 800_000


def _json_size(item: Any) -> int:
    return len(item.model_dump_json())


def parts(items: Sequence[T], *, most: int, budget: int = PART_BUDGET_BYTES, size_of: Callable[[T], int] = _json_size) -> list[list[T]]:
    """`items` in order, in consecutive parts of at most `most` items whose serialised sizes
    (`size_of`, a pydantic model's JSON by default) add up to at most `budget` bytes. Usually
    one part: the bound matters for items at the contract's longest (a profile can be some tens
    of kilobytes)."""
    found: list[list[T]] = []
    current: list[T] = []
    used = 0
    for item in items:
        size = size_of(item) + 1
        if current and (len(current) == most or used + size > budget):
            found.append(current)
            current, used = [], 0
        current.append(item)
        used += size
    if current:
        found.append(current)
    return found
