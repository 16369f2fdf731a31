"""A clock for tests and demos: `CLOCK_FILE` names a file holding an ISO 8601 instant, and the
service's "now" is read from it, so that a test can move time forward (a future-dated departure
falls due) without sleeping. Never set in production."""

from datetime import UTC, datetime
from pathlib import Path

from shared.clock import Clock, system_clock


def file_clock(path: Path) -> Clock:
    def now() -> datetime:
        instant = datetime.fromisoformat(path.read_text().strip())
        return instant if instant.tzinfo else instant.replace(tzinfo=UTC)

    return now


def clock_for(clock_file: str) -> Clock:
    return file_clock(Path(clock_file)) if clock_file else system_clock
