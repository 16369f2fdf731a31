"""What the engagement service's handlers and HTTP API need from outside, built by app.py."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Dependencies:
    pass
