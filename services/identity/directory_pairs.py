"""Pair facets of the directory: two filter values of different kinds (a skill and a country,
say) counted together, so that a query of two filters reads a narrow name range
(services/identity/directory.py).

Two values of the same kind are never asked together (the API takes one value per kind) and
make no pair. A key names its two facets in the alphabetical order of their kinds:
`country:FR&skill:skill-07`.
"""

from itertools import combinations
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection

Facet = tuple[str, Any]  # (kind, value): ("skill", "python"), ("year", 2021)


def key(a: Facet, b: Facet) -> str:
    first, second = sorted((a, b), key=lambda facet: facet[0])
    return f"{first[0]}:{first[1]}&{second[0]}:{second[1]}"


def pairs(values: set[Facet]) -> list[str]:
    """The keys of every pair of these facets (one alumnus's) of two different kinds, sorted."""
    return sorted(key(a, b) for a, b in combinations(values, 2) if a[0] != b[0])


async def window(
    alumni: AsyncCollection, selector: dict[str, Any], order: list[tuple[str, int]], skip: int, size: int, session: AsyncClientSession | None,
) -> list[dict[str, Any]]:
    """A page of a pair: the narrower filter's alumni in the name range, read through its index
    (the local database walks a range only when the index covers every clause: with the other
    filter among them, it read all of the narrower filter's alumni), the other matched here."""
    (narrow, value), (other, wanted) = list(selector.items())[:2]
    ridden = {narrow: value, "search.listed": True, "search.name": selector["search.name"]}
    found = [d async for d in alumni.find(ridden, sort=order, session=session) if _holds(d, other, wanted)]
    return found[skip:skip + size]


def _holds(doc: dict[str, Any], path: str, wanted: Any) -> bool:
    section, field = path.split(".")
    value = (doc.get(section) or {}).get(field)
    return wanted in value if isinstance(value, list) else value == wanted

