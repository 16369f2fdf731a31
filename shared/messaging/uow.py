"""A unit of work: one MongoDB transaction holding a state change, the events announcing it and,
for an incoming event, the marker that says it was handled."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from pymongo import AsyncMongoClient, DeleteMany, DeleteOne, InsertOne, ReplaceOne, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import ClientBulkWriteException, PyMongoError

from shared.clock import Clock
from shared.messaging.failures import Contended, Superseded
from shared.events import Envelope, Event
from shared.messaging.outbox import COLLECTION as OUTBOX, Outbox

T = TypeVar("T")

PROCESSED = "processed_events"
# Kept well beyond Kafka's retention (7 days), so that any redelivery is still recognised.
PROCESSED_RETENTION_SECONDS = 30 * 86400
# MongoDB 8.0 (wire version 25) writes to several collections in one command (bulkWrite).
BULK_WRITE_WIRE_VERSION = 25


@dataclass(frozen=True)
class _Write:
    """A write held for the end of the transaction (see `UnitOfWork.write_last`)."""

    collection: str
    model: type[InsertOne | ReplaceOne | UpdateOne | DeleteOne | DeleteMany]
    args: tuple
    options: dict[str, Any] = field(default_factory=dict)

    def in_namespace(self, database: str) -> InsertOne | ReplaceOne | UpdateOne | DeleteOne | DeleteMany:
        return self.model(*self.args, namespace=f"{database}.{self.collection}", **self.options)

    def alone(self) -> InsertOne | ReplaceOne | UpdateOne | DeleteOne | DeleteMany:
        return self.model(*self.args, **self.options)


class Relay(Protocol):
    def wake(self, committed: list[dict] = ...) -> None: ...


class UnitOfWork:
    """What a handler gets: the database and session of the open transaction, the clock,
    `publish`, which records an event to be sent once (and only if) the transaction commits,
    and, for an incoming event, its `envelope` (None for an HTTP request)."""

    def __init__(
        self, db: AsyncDatabase, session: AsyncClientSession | None, outbox: Outbox, clock: Clock,
        *, envelope: Envelope | None = None, bulk_write: bool = False,
    ) -> None:
        self.db = db
        self.session = session
        self.now = clock
        self.envelope = envelope
        self._outbox = outbox
        self._bulk_write = bulk_write
        self._events: list[dict] = []
        self._marker: dict[str, Any] | None = None
        self._marker_written = False
        self._events_written = 0  # those already in the outbox (`write_now`)
        self._writes: list[_Write] = []

    def publish(self, event: Event, *, subject: str | None = None, source: str | None = None) -> Envelope:
        """`source` overrides the service's own `ce_source`, for an event received on behalf of
        another system (an HRIS webhook)."""
        envelope = Envelope(type=event.event_type.type, source=source or self._outbox.source, subject=subject)
        self._events.append(self._outbox.document(event, envelope))
        return envelope

    def mark_processed(self, envelope: Envelope) -> None:
        """Record that this incoming event is handled, with the held writes (last, or at
        `write_now`): a repeat fails on the marker's key, in the command that writes the
        outbox, and the whole transaction aborts."""
        self._marker = {"_id": envelope.identity, "type": envelope.type, "processed_at": self.now()}

    async def write_now(self) -> None:
        """Send what the work holds so far (its writes, the marker, its events) in one command now
        instead of at the end: before an effect the transaction cannot take back (an email handed
        to the mail server). A repeat then stops on its marker here, before the effect, and so
        does the same record handled at the same moment by another consumer (its partition moved
        in a rebalance): its marker conflicts with this one (the driver, then the consumer, wait
        that out) and then finds it committed. What the work
        holds after this is written at the end, as usual."""
        await self._write_last()
        self._writes, self._marker_written, self._events_written = [], self._marker is not None, len(self._events)

    async def withdraw(self, envelope: Envelope) -> None:
        """Take back an event published in this unit of work, written already (`write_now`) or not."""
        index = next(i for i, doc in enumerate(self._events) if doc["_id"] == envelope.id)
        if index < self._events_written:
            await self.db[OUTBOX].delete_one({"_id": envelope.id}, session=self.session)
            self._events_written -= 1
        del self._events[index]

    def insert_last(self, collection: str, document: dict[str, Any]) -> None:
        """Insert `document` at the end of the transaction (see `replace_last`)."""
        self._writes.append(_Write(collection, InsertOne, (document,)))

    def replace_last(self, collection: str, selector: dict[str, Any], document: dict[str, Any], *, upsert: bool = False) -> None:
        """A write whose result the work does not need, held for the end of the transaction: sent
        with the others, the marker and the outbox in one command (one round trip to the database
        instead of one each). Reads later in the same unit of work do not see it."""
        self._writes.append(_Write(collection, ReplaceOne, (selector, document), {"upsert": upsert}))

    def update_last(self, collection: str, selector: dict[str, Any], update: dict[str, Any], *, upsert: bool = False) -> None:
        """Update at the end of the transaction (see `replace_last`)."""
        self._writes.append(_Write(collection, UpdateOne, (selector, update), {"upsert": upsert}))

    def delete_last(self, collection: str, selector: dict[str, Any]) -> None:
        """Delete one document at the end of the transaction (see `replace_last`)."""
        self._writes.append(_Write(collection, DeleteOne, (selector,)))

    def delete_many_last(self, collection: str, selector: dict[str, Any]) -> None:
        """Delete every document `selector` matches at the end of the transaction."""
        self._writes.append(_Write(collection, DeleteMany, (selector,)))

    @property
    def published(self) -> int:
        return len(self._events)

    async def _write_last(self) -> None:
        # State first, the marker after it, the events last: an ordered command stops at the
        # first error, and the transaction aborts with everything in it.
        marker, events = self._marker if not self._marker_written else None, self._events[self._events_written:]
        writes = self._writes + ([_Write(PROCESSED, InsertOne, (marker,))] if marker else [])
        writes += [_Write(OUTBOX, InsertOne, (doc,)) for doc in events]
        if not writes:
            return
        if self._bulk_write and len({w.collection for w in writes}) > 1:
            name = self.db.name
            try:
                await self.db.client.bulk_write([w.in_namespace(name) for w in writes], session=self.session, ordered=True)
            except ClientBulkWriteException as exc:
                # A write conflict (with a transaction still open for a process that was killed,
                # say) carries the label on which the driver retries the whole transaction; the
                # bulk-write wrapper does not: hand the driver the error itself.
                if isinstance(exc.error, PyMongoError) and exc.error.has_error_label("TransientTransactionError"):
                    raise exc.error from exc
                raise
            return
        for write in self._writes:
            await self.db[write.collection].bulk_write([write.alone()], session=self.session)
        if marker:
            await self.db[PROCESSED].insert_one(marker, session=self.session)
        await self._outbox.add(events, self.session)


# An alias for handlers' signatures: the unit of work of one incoming event.
EventContext = UnitOfWork


class Transactions:
    """Runs units of work: `await transactions.run(work)` where `work(uow)` changes state and
    publishes events. Transient transaction errors (write conflicts, a primary stepping down)
    are retried by the driver; the relay is woken once the transaction commits."""

    def __init__(
        self, client: AsyncMongoClient, db: AsyncDatabase, outbox: Outbox, relay: Relay, clock: Clock, *, bulk_write: bool = False
    ) -> None:
        self.client = client
        self.db = db
        self.outbox = outbox
        self.relay = relay
        self.clock = clock
        self.bulk_write = bulk_write

    async def run(self, work: Callable[[UnitOfWork], Awaitable[T]], *, envelope: Envelope | None = None) -> T:
        holder: list[UnitOfWork] = []

        async def attempt(session: AsyncClientSession) -> T:
            holder[:] = [UnitOfWork(self.db, session, self.outbox, self.clock, envelope=envelope, bulk_write=self.bulk_write)]
            result = await work(holder[0])
            await holder[0]._write_last()
            return result

        try:
            async with self.client.start_session() as session:
                result = await session.with_transaction(attempt)
        except PyMongoError as exc:
            # A marker's key taken by a committed transaction is a repeat, not contention.
            marker = holder[0]._marker if holder else None
            if _held_by_another_transaction(exc) and not (marker and await self.db[PROCESSED].find_one({"_id": marker["_id"]}, {"_id": 1})):
                raise Contended(f"held by another open transaction ({type(exc).__name__})") from exc
            raise
        if holder and holder[0].published:
            self.relay.wake(holder[0]._events)
        return result

    async def outside(self, work: Callable[[UnitOfWork], Awaitable[T]], *, envelope: Envelope, attempts: int = 5) -> T:
        """Run `work` without a transaction (its unit of work has no session): for a handler whose
        one effect is a single conditional write of one document, which it makes itself. A write
        that finds the document changed since it was read (`Superseded`) is tried again at once
        on what is there now, `attempts` times in all, then left to the consumer's retries."""
        for attempt in range(1, attempts + 1):
            uow = UnitOfWork(self.db, None, self.outbox, self.clock, envelope=envelope, bulk_write=self.bulk_write)
            try:
                result = await work(uow)
            except Superseded:
                if attempt == attempts:
                    raise
                continue
            if uow._writes or uow._events or uow._marker:
                raise RuntimeError("a handler run outside a transaction held writes or published events")
            return result
        raise AssertionError("unreachable")

    async def processed_before(self, envelope: Envelope) -> bool:
        """Whether this event's marker is recorded (outside any transaction)."""
        return await self.db[PROCESSED].find_one({"_id": envelope.identity}, {"_id": 1}) is not None

    async def ensure_indexes(self) -> None:
        await self.db[PROCESSED].create_index("processed_at", expireAfterSeconds=PROCESSED_RETENTION_SECONDS)


WRITE_CONFLICT, DUPLICATE_KEY = 112, 11000


def _held_by_another_transaction(exc: PyMongoError) -> bool:
    """A write conflict, or the marker's key taken by a transaction not committed (some servers
    report an uncommitted insert of the same key as a duplicate; a committed one is a repeat,
    which the consumer recognises first)."""
    if getattr(exc, "code", None) == WRITE_CONFLICT or exc.has_error_label("TransientTransactionError"):
        return True
    if isinstance(exc, ClientBulkWriteException):
        return any(e.get("code") == DUPLICATE_KEY and f".{PROCESSED}" in str(e.get("errmsg", "")) for e in exc.write_errors or [])
    return getattr(exc, "code", None) == DUPLICATE_KEY and f".{PROCESSED}" in str(exc)


async def supports_bulk_write(client: AsyncMongoClient) -> bool:
    hello = await client.admin.command("hello")
    return hello.get("maxWireVersion", 0) >= BULK_WRITE_WIRE_VERSION
