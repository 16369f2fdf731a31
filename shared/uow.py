"""A unit of work: one MongoDB transaction holding a state change and the events announcing it."""

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pymongo import AsyncMongoClient, InsertOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from shared.clock import Clock
from shared.events import Envelope, Event
from shared.outbox import COLLECTION as OUTBOX, Outbox, OutboxRelay

T = TypeVar("T")

# MongoDB 8.0 (wire version 25) writes to several collections in one command (bulkWrite).
BULK_WRITE_WIRE_VERSION = 25


class UnitOfWork:
    """What a handler gets: the database and session of the open transaction, the clock, and
    `publish`, which records an event to be sent once (and only if) the transaction commits."""

    def __init__(self, db: AsyncDatabase, session: AsyncClientSession, outbox: Outbox, clock: Clock, *, bulk_write: bool = False) -> None:
        self.db = db
        self.session = session
        self.now = clock
        self._outbox = outbox
        self._bulk_write = bulk_write
        self._events: list[dict] = []
        self._last_inserts: list[tuple[str, dict[str, Any]]] = []

    def publish(self, event: Event, *, subject: str | None = None, source: str | None = None) -> Envelope:
        """`source` overrides the service's own `ce_source`, for an event received on behalf of
        another system (an HRIS webhook)."""
        envelope = Envelope(type=event.event_type.type, source=source or self._outbox.source, subject=subject)
        self._events.append(self._outbox.document(event, envelope))
        return envelope

    def insert_last(self, collection: str, document: dict[str, Any]) -> None:
        """Insert `document` at the end of the transaction, before the outbox: the platform's own
        bookkeeping (the processed-event marker), written in the same command as the outbox
        where the server allows it."""
        self._last_inserts.append((collection, document))

    @property
    def published(self) -> int:
        return len(self._events)

    async def _write_last(self) -> None:
        inserts = self._last_inserts + [(OUTBOX, doc) for doc in self._events]
        if not inserts:
            return
        if self._bulk_write and len({collection for collection, _ in inserts}) > 1:
            name = self.db.name
            await self.db.client.bulk_write(
                [InsertOne(doc, namespace=f"{name}.{collection}") for collection, doc in inserts], session=self.session, ordered=True
            )
            return
        for collection, doc in self._last_inserts:
            await self.db[collection].insert_one(doc, session=self.session)
        await self._outbox.add(self._events, self.session)


class Transactions:
    """Runs units of work: `await transactions.run(work)` where `work(uow)` changes state and
    publishes events. Transient transaction errors (write conflicts, a primary stepping down)
    are retried by the driver; the relay is woken once the transaction commits."""

    def __init__(
        self, client: AsyncMongoClient, db: AsyncDatabase, outbox: Outbox, relay: OutboxRelay, clock: Clock, *, bulk_write: bool = False
    ) -> None:
        self.client = client
        self.db = db
        self.outbox = outbox
        self.relay = relay
        self.clock = clock
        self.bulk_write = bulk_write

    async def run(self, work: Callable[[UnitOfWork], Awaitable[T]], *, uow_class: type[UnitOfWork] = UnitOfWork, **extra) -> T:
        holder: list[UnitOfWork] = []

        async def attempt(session: AsyncClientSession) -> T:
            holder[:] = [uow_class(self.db, session, self.outbox, self.clock, bulk_write=self.bulk_write, **extra)]
            result = await work(holder[0])
            await holder[0]._write_last()
            return result

        async with self.client.start_session() as session:
            result = await session.with_transaction(attempt)
        if holder and holder[0].published:
            self.relay.wake(holder[0]._events)
        return result


async def supports_bulk_write(client: AsyncMongoClient) -> bool:
    hello = await client.admin.command("hello")
    return hello.get("maxWireVersion", 0) >= BULK_WRITE_WIRE_VERSION
