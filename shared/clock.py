"""The services' clock. In production it is the system clock. For tests and demos,
`CLOCK_FILE` names a file holding an ISO 8601 instant: the service's "now" is read from it,
so a test can move time forward (a future-dated departure falls due) without sleeping."""

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def file_clock(path: Path) -> Clock:
    def now() -> datetime:
        instant = datetime.fromisoformat(path.read_text().strip())
        return instant if instant.tzinfo else instant.replace(tzinfo=UTC)

    return now


def clock_for(clock_file: str) -> Clock:
    return file_clock(Path(clock_file)) if clock_file else system_clock
