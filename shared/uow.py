"""A unit of work: one MongoDB transaction holding a state change and the events announcing it."""

from collections.abc import Awaitable, Callable
from typing import TypeVar

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from shared.events import Envelope, Event
from shared.outbox import Outbox, OutboxRelay

from shared.clock import Clock

T = TypeVar("T")


class UnitOfWork:
    """What a handler gets: the database and session of the open transaction, the clock, and
    `publish`, which records an event to be sent once (and only if) the transaction commits."""

    def __init__(self, db: AsyncDatabase, session: AsyncClientSession, outbox: Outbox, clock: Clock) -> None:
        self.db = db
        self.session = session
        self.now = clock
        self._outbox = outbox
        self._events: list[dict] = []

    def publish(self, event: Event, *, subject: str | None = None, source: str | None = None) -> Envelope:
        """`source` overrides the service's own `ce_source`, for an event received on behalf of
        another system (an HRIS webhook)."""
        envelope = Envelope(type=event.event_type.type, source=source or self._outbox.source, subject=subject)
        self._events.append(self._outbox.document(event, envelope))
        return envelope

    @property
    def published(self) -> int:
        return len(self._events)

    async def _write_outbox(self) -> None:
        await self._outbox.add(self._events, self.session)


class Transactions:
    """Runs units of work: `await transactions.run(work)` where `work(uow)` changes state and
    publishes events. Transient transaction errors (write conflicts, a primary stepping down)
    are retried by the driver; the relay is woken once the transaction commits."""

    def __init__(self, client: AsyncMongoClient, db: AsyncDatabase, outbox: Outbox, relay: OutboxRelay, clock: Clock) -> None:
        self.client = client
        self.db = db
        self.outbox = outbox
        self.relay = relay
        self.clock = clock

    async def run(self, work: Callable[[UnitOfWork], Awaitable[T]], *, uow_class: type[UnitOfWork] = UnitOfWork, **extra) -> T:
        holder: list[UnitOfWork] = []

        async def attempt(session: AsyncClientSession) -> T:
            holder[:] = [uow_class(self.db, session, self.outbox, self.clock, **extra)]
            result = await work(holder[0])
            await holder[0]._write_outbox()
            return result

        async with self.client.start_session() as session:
            result = await session.with_transaction(attempt)
        if holder and holder[0].published:
            self.relay.wake(holder[0]._events)
        return result
