"""Reading many documents by one field's values (ids, employee ids, addresses) at once.

The values are asked for in slices: the local database (SecantusDB) matches an `$in` list
against each document it finds, so a long list whose values are found costs the square of its
length (1,000 ids found: 3 s in one query, 0.3 s in slices of 50; values not found cost little
either way). MongoDB answers slices as fast as one list.
"""

from collections.abc import Iterable
from typing import Any

VALUES_PER_QUERY = 50


async def find_many(collection: Any, field: str, values: Iterable[Any], *, session: Any = None,
                    projection: dict[str, Any] | None = None, **selector: Any) -> list[dict[str, Any]]:
    """The documents whose `field` is one of `values` (and which match `selector`)."""
    unique = list(dict.fromkeys(values))
    found: list[dict[str, Any]] = []
    for start in range(0, len(unique), VALUES_PER_QUERY):
        query = {field: {"$in": unique[start:start + VALUES_PER_QUERY]}} | selector
        found += await collection.find(query, projection, session=session).to_list()
    return found
