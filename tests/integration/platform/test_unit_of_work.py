"""The unit of work against the real database: state, marker and outbox commit together, in one
bulkWrite where the server has it (MongoDB 8.0+, SecantusDB) or one insert per collection
where it does not; a repeated marker aborts everything the transaction wrote."""

import asyncio
import uuid

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from devstack.stack import LocalStack
from shared.clock import system_clock
from shared.events import Envelope
from shared.messaging.failures import Contended
from shared.messaging.outbox import Outbox
from shared.messaging.uow import Transactions, UnitOfWork, supports_bulk_write
from tests.integration.platform.orders_app import OrderShipped


class RelayInbox:
    """Where committed events are handed: the relay's `wake`, recorded."""

    def __init__(self) -> None:
        self.handed: list[dict] = []

    def wake(self, committed: list[dict] = ()) -> None:
        self.handed.extend(committed)


async def fresh_database(stack: LocalStack, *collections: str) -> tuple[AsyncMongoClient, AsyncDatabase]:
    """A client, and a database of its own holding these (empty) collections."""
    client = AsyncMongoClient(stack.cfg.mongodb_uri, tz_aware=True)
    db = client[f"uow_{uuid.uuid4().hex[:8]}"]
    for name in collections:
        await db.create_collection(name)
    return client, db


async def test_the_server_writes_several_collections_in_one_command(stack: LocalStack) -> None:
    client = AsyncMongoClient(stack.cfg.mongodb_uri)
    assert await supports_bulk_write(client)
    await client.close()


@pytest.mark.parametrize("bulk_write", [True, False], ids=["bulkWrite", "one insert per collection"])
async def test_state_marker_and_outbox_commit_together_and_a_repeat_aborts_all(stack: LocalStack, bulk_write: bool) -> None:
    client, db = await fresh_database(stack, "shipments", "processed_events", "outbox")
    relay = RelayInbox()
    transactions = Transactions(client, db, Outbox(db, source="/tests"), relay, system_clock, bulk_write=bulk_write)

    def ship(order_id: str):
        async def work(uow: UnitOfWork) -> None:
            await uow.db.shipments.insert_one({"_id": order_id}, session=uow.session)
            uow.mark_processed(Envelope(type="com.alumni.test.v1", source="/tests", id="the-event"))
            uow.publish(OrderShipped(order_id=order_id), subject=order_id)

        return work

    await transactions.run(ship("o-1"))
    assert await db.shipments.count_documents({}) == 1
    assert await db.processed_events.count_documents({"_id": "/tests the-event"}) == 1
    [event] = await db.outbox.find().to_list()
    assert event["key"] == "o-1" and [doc["_id"] for doc in relay.handed] == [event["_id"]]

    with pytest.raises(Exception) as repeat:
        await transactions.run(ship("o-2"))
    assert "duplicate key" in str(repeat.value).lower() or "E11000" in str(repeat.value)
    assert await db.shipments.count_documents({}) == 1  # o-2 rolled back with the marker
    assert await db.outbox.count_documents({}) == 1
    assert len(relay.handed) == 1
    await client.drop_database(db.name)
    await client.close()


@pytest.mark.parametrize("bulk_write", [True, False], ids=["bulkWrite", "one insert per collection"])
async def test_a_marker_held_by_a_transaction_left_open_is_contention_not_failure(stack: LocalStack, bulk_write: bool) -> None:
    """A process killed mid-transaction leaves it open on the server until the server's
    transaction lifetime; the instance that takes over its partitions handles the same record.
    What it writes is held: the unit of work says so (`Contended`, which the consumer waits out
    without spending its retry budget) or the driver waits it out; once the other transaction
    ends, the same work commits."""
    client, db = await fresh_database(stack, "shipments", "processed_events", "outbox")
    transactions = Transactions(client, db, Outbox(db, source="/tests"), RelayInbox(), system_clock, bulk_write=bulk_write)
    envelope = Envelope(type="com.alumni.test.v1", source="/tests", id="the-same-event")

    killed = client.start_session()
    await killed.start_transaction()
    await db.processed_events.insert_one({"_id": envelope.identity}, session=killed)  # and then its process died

    async def work(uow: UnitOfWork) -> None:
        await uow.db.shipments.insert_one({"_id": "o-1"}, session=uow.session)
        uow.mark_processed(envelope)
        uow.publish(OrderShipped(order_id="o-1"), subject="o-1")

    survivor = asyncio.create_task(transactions.run(work))
    done, _ = await asyncio.wait({survivor}, timeout=3)
    if done:  # the server reports the key as taken
        with pytest.raises(Contended):
            survivor.result()
    await killed.abort_transaction()  # as the server does once the transaction outlives its lifetime
    await killed.end_session()
    await (survivor if not done else transactions.run(work))
    assert await db.processed_events.count_documents({"_id": envelope.identity}) == 1
    assert await db.shipments.count_documents({}) == 1 and await db.outbox.count_documents({}) == 1
    await client.close()


@pytest.mark.parametrize("bulk_write", [True, False], ids=["bulkWrite", "one command per write"])
async def test_writes_held_for_the_end_commit_with_the_marker_or_not_at_all(stack: LocalStack, bulk_write: bool) -> None:
    """`insert_last`, `replace_last` and `update_last` go after the handler's own writes, before
    the marker and the outbox, in the same transaction: all of them commit, or a repeat's marker
    aborts them with the rest."""
    client, db = await fresh_database(stack, "shipments", "parcels", "processed_events", "outbox")
    await db.parcels.insert_one({"_id": "p-1", "weight": 1})
    transactions = Transactions(client, db, Outbox(db, source="/tests"), RelayInbox(), system_clock, bulk_write=bulk_write)

    def ship(order_id: str, weight: int):
        async def work(uow: UnitOfWork) -> None:
            uow.insert_last("shipments", {"_id": order_id})
            uow.replace_last("parcels", {"_id": f"p-{order_id}"}, {"order_id": order_id}, upsert=True)
            uow.update_last("parcels", {"_id": "p-1"}, {"$set": {"weight": weight}})
            # Held: a read in the same unit of work does not see them yet.
            assert await uow.db.shipments.find_one({"_id": order_id}, session=uow.session) is None
            uow.mark_processed(Envelope(type="com.alumni.test.v1", source="/tests", id="held-writes"))
            uow.publish(OrderShipped(order_id=order_id), subject=order_id)

        return work

    await transactions.run(ship("o-1", 2))
    assert await db.shipments.count_documents({}) == 1 and await db.outbox.count_documents({}) == 1
    assert await db.parcels.find_one({"_id": "p-o-1"}) == {"_id": "p-o-1", "order_id": "o-1"}
    assert (await db.parcels.find_one({"_id": "p-1"}))["weight"] == 2

    with pytest.raises(Exception):  # the same event again: its marker's key is taken
        await transactions.run(ship("o-2", 3))
    assert await db.shipments.count_documents({}) == 1 and await db.parcels.count_documents({}) == 2
    assert (await db.parcels.find_one({"_id": "p-1"}))["weight"] == 2 and await db.outbox.count_documents({}) == 1
    await client.drop_database(db.name)
    await client.close()


@pytest.mark.parametrize("bulk_write", [True, False], ids=["bulkWrite", "one command per write"])
async def test_writes_sent_now_stop_a_repeat_before_the_effect_they_guard(stack: LocalStack, bulk_write: bool) -> None:
    """`write_now` before an effect no transaction takes back (an email sent): what the work
    holds, the marker with it, is written there, so a repeat fails before the effect; the same
    event in a transaction still open elsewhere (a partition that moved in a rebalance) is held
    until that one commits, then is a repeat. An event written already can be withdrawn."""
    client, db = await fresh_database(stack, "shipments", "processed_events", "outbox")
    transactions = Transactions(client, db, Outbox(db, source="/tests"), RelayInbox(), system_clock, bulk_write=bulk_write)
    envelope = Envelope(type="com.alumni.test.v1", source="/tests", id="sent-once")
    effects: list[str] = []

    def ship(order_id: str, *, hold: asyncio.Event | None = None):
        async def work(uow: UnitOfWork) -> None:
            # A handler reads before it decides (and the local database refuses a bulkWrite
            # opening a transaction: it carries the transaction's readConcern).
            assert await uow.db.shipments.find_one({"_id": order_id}, session=uow.session) is None
            uow.mark_processed(envelope)
            uow.insert_last("shipments", {"_id": order_id})
            announced = uow.publish(OrderShipped(order_id=f"{order_id}-announced"), subject=order_id)
            await uow.write_now()
            assert await uow.db.shipments.find_one({"_id": order_id}, session=uow.session) == {"_id": order_id}
            effects.append(order_id)  # the mail server took it
            if hold is not None:
                await hold.wait()
            await uow.withdraw(announced)  # it did not go as planned, after all
            uow.publish(OrderShipped(order_id=order_id), subject=order_id)

        return work

    release = asyncio.Event()
    first = asyncio.create_task(transactions.run(ship("o-1", hold=release)))
    while not effects and not first.done():
        await asyncio.sleep(0.01)
    second = asyncio.create_task(transactions.run(ship("o-2")))
    done, _ = await asyncio.wait({second}, timeout=2)
    assert effects == ["o-1"]
    release.set()
    await first
    if done:  # the server reported the key as held: the consumer waits that out (Contended), then again
        with pytest.raises(Contended):
            second.result()
        second = asyncio.create_task(transactions.run(ship("o-2")))
    with pytest.raises(Exception) as repeat:
        await second
    assert "duplicate key" in str(repeat.value).lower() or "E11000" in str(repeat.value)
    assert effects == ["o-1"]  # the repeat never reached its effect
    assert [d["_id"] for d in await db.shipments.find().to_list()] == ["o-1"]
    assert await db.processed_events.count_documents({"_id": envelope.identity}) == 1
    assert [d["key"] for d in await db.outbox.find().to_list()] == ["o-1"]  # the withdrawn one is gone
    await client.drop_database(db.name)
    await client.close()
