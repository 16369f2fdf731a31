"""In-memory stand-ins for the unit of work, for fast tests of a service's rules (the handlers
and the consumer's decisions) with no server. Never the proof that the system works: that is
the integration suite's job, on the real broker and database.

    store = InMemoryAlumni()                       # a service's in-memory repository
    transactions = FakeTransactions(state=store)   # its data rolls back with a failed unit of work
    await transactions.run(lambda uow: handler(event, uow), envelope=envelope)
    assert [type(e) for e in transactions.events] == [AlumnusRegistered]
"""

import copy
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from shared.clock import Clock
from shared.events import Envelope, Event
from shared.messaging.failures import Superseded

T = TypeVar("T")

FAKE_SOURCE = "/alumni/tests"


class DuplicateMarker(Exception):
    """The processed-event marker exists: the fake's duplicate-key error."""


class FakeUnitOfWork:
    """The unit of work's surface (`now`, `publish`, `withdraw`, `envelope`, `mark_processed`,
    `write_now`) over memory.
    `db` and `session` are None: code that reaches for them is not behind a repository yet."""

    db = None
    session = None

    def __init__(self, clock: Clock, envelope: Envelope | None = None, committed_markers: set[str] | None = None) -> None:
        self.now = clock
        self.envelope = envelope
        self.outbox: list[tuple[Event, Envelope]] = []
        self.marker: str | None = None
        self._committed_markers = committed_markers if committed_markers is not None else set()

    def publish(self, event: Event, *, subject: str | None = None, source: str | None = None) -> Envelope:
        envelope = Envelope(type=event.event_type.type, source=source or FAKE_SOURCE, subject=subject)
        self.outbox.append((event, envelope))
        return envelope

    def mark_processed(self, envelope: Envelope) -> None:
        self.marker = envelope.identity

    async def write_now(self) -> None:
        """A repeat fails here, on its marker, as on the database."""
        if self.marker is not None and self.marker in self._committed_markers:
            raise DuplicateMarker(self.marker)

    async def withdraw(self, envelope: Envelope) -> None:
        self.outbox = [(event, e) for event, e in self.outbox if e.id != envelope.id]

    @property
    def published(self) -> int:
        return len(self.outbox)


class FakeTransactions:
    """Runs units of work in memory, all or nothing: when `work` raises (or its marker is a
    repeat), what it published is dropped and `state` (the in-memory repositories' data, any
    object) is put back as it was."""

    def __init__(self, *, state: Any = None, clock: Clock | None = None) -> None:
        self.state = state
        self.clock = clock or (lambda: datetime(2026, 11, 22, 9, 0, tzinfo=UTC))
        self.committed: list[tuple[Event, Envelope]] = []
        self.markers: set[str] = set()
        self.runs = 0
        self.outside_runs = 0

    @property
    def events(self) -> list[Event]:
        """The events published by committed units of work, in order."""
        return [event for event, _ in self.committed]

    async def run(self, work: Callable[[FakeUnitOfWork], Awaitable[T]], *, envelope: Envelope | None = None) -> T:
        self.runs += 1
        saved = copy.deepcopy(vars(self.state)) if self.state is not None else None
        uow = FakeUnitOfWork(self.clock, envelope, self.markers)
        try:
            result = await work(uow)  # type: ignore[arg-type]
            if uow.marker is not None and uow.marker in self.markers:
                raise DuplicateMarker(uow.marker)
        except BaseException:
            if saved is not None:
                vars(self.state).clear()
                vars(self.state).update(saved)
            raise
        if uow.marker is not None:
            self.markers.add(uow.marker)
        self.committed.extend(uow.outbox)
        return result

    async def outside(self, work: Callable[[FakeUnitOfWork], Awaitable[T]], *, envelope: Envelope, attempts: int = 5) -> T:
        """As `Transactions.outside`: no rollback, no marker, nothing published."""
        self.outside_runs += 1
        for attempt in range(1, attempts + 1):
            uow = FakeUnitOfWork(self.clock, envelope, self.markers)
            try:
                result = await work(uow)  # type: ignore[arg-type]
            except Superseded:
                if attempt == attempts:
                    raise
                continue
            if uow.outbox or uow.marker is not None:
                raise RuntimeError("a handler run outside a transaction published events")
            return result
        raise AssertionError("unreachable")

    async def processed_before(self, envelope: Envelope) -> bool:
        return envelope.identity in self.markers


def envelope_for(event: Event, *, source: str = "/tests", event_id: str | None = None) -> Envelope:
    """An envelope as a producer would have written it for `event`."""
    envelope = Envelope(type=event.event_type.type, source=source, subject=event.key)
    return Envelope(type=envelope.type, source=source, id=event_id or envelope.id, time=envelope.time, subject=envelope.subject)


class InMemoryErasedPeople:
    """`shared.erasure.ErasedPeople` in memory: key -> {erased_at, readmitted_at, refusals}."""

    def __init__(self) -> None:
        self.people: dict[str, dict[str, Any]] = {}

    def __call__(self, uow: object) -> "InMemoryErasedPeople":
        return self

    async def remember(self, keys: list[str], at: datetime) -> None:
        for key in keys:
            self.people[key] = {"erased_at": at, "readmitted_at": None, "refusals": 0}

    async def refuses(self, key: str) -> bool:
        return key in self.people and self.people[key]["readmitted_at"] is None

    async def refusing(self, keys: list[str]) -> set[str]:
        return {key for key in keys if await self.refuses(key)}

    async def refused(self, key: str, at: datetime) -> None:
        self.people[key]["refusals"] += 1

    async def readmit(self, key: str, at: datetime) -> bool:
        if key not in self.people:
            return False
        self.people[key]["readmitted_at"] = at
        return True
