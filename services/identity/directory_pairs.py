"""Pair facets of the directory: two filter values of different kinds (a skill and a country,
say) counted together, so that a query of two filters reads a narrow name range
(services/identity/directory.py).

Two values of the same kind are never asked together (the API takes one value per kind) and
make no pair. A key names its two facets in the alphabetical order of their kinds:
`country:FR&skill:skill-07`.
"""

from itertools import combinations
from typing import Any

Facet = tuple[str, Any]  # (kind, value): ("skill", "python"), ("year", 2021)


def label(facet: Facet) -> str:
    """A facet as counts and entries name it: `skill:python`."""
    return f"{facet[0]}:{facet[1]}"


def key(a: Facet, b: Facet) -> str:
    first, second = sorted((a, b), key=lambda facet: facet[0])
    return f"{label(first)}&{label(second)}"


def pairs(values: set[Facet]) -> list[str]:
    """The keys of every pair of these facets (one alumnus's) of two different kinds, sorted."""
    return sorted(key(a, b) for a, b in combinations(values, 2) if a[0] != b[0])

