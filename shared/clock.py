"""The services' clock: the system clock in production; tests and demos may read "now" from a
file instead (shared/testing/clock.py, `CLOCK_FILE`)."""

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)
