"""Parked events on the real database: a record parked once however often it is redelivered,
leased to one process at a time even when several claim at once, and every later change (its
removal in the handling transaction, a postponement) refused to a process whose lease passed."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import ConsumerRecord
from pymongo import AsyncMongoClient

from devstack.stack import LocalStack
from shared.messaging.parking import COLLECTION, LeaseLost, MongoParkedStore, MongoWaitingEvents, ParkedRecord
from tests.integration.platform.orders_app import OrderShipped


def parked(n: int, now: datetime, topic: str = "orders.shipped") -> ParkedRecord:
    value = OrderShipped(order_id=f"o-{n}").model_dump_json().encode()
    headers = [("ce_type", OrderShipped.event_type.type.encode()), ("ce_id", f"e-{n}".encode())]
    record = ConsumerRecord(topic, 0, n, 0, 0, f"o-{n}".encode(), value, None, 3, len(value), headers)
    return ParkedRecord.of(record, f"/tests e-{n}", OrderShipped.event_type.type, "the order is not known yet", now, now)


class Uow:
    """The part of a unit of work the store uses: its database and session."""

    def __init__(self, db, session) -> None:
        self.db, self.session = db, session


@pytest.fixture
async def db(stack: LocalStack):
    client = AsyncMongoClient(stack.cfg.mongodb_uri, tz_aware=True)
    database = client[f"parked_{uuid.uuid4().hex[:8]}"]
    await database.create_collection(COLLECTION)
    yield database
    await client.drop_database(database.name)
    await client.close()


async def test_a_record_is_parked_once_and_read_back_whole(db) -> None:
    store, now = MongoParkedStore(db), datetime.now(UTC)
    await store.ensure_indexes()
    assert await store.park(parked(1, now)) is True
    assert await store.park(parked(1, now)) is False  # a redelivery of the same record
    [claimed] = await store.claim("a", now, now + timedelta(seconds=60), 10)
    again = claimed.record()
    assert (again.topic, again.offset, again.key, again.headers) == ("orders.shipped", 1, b"o-1", parked(1, now).headers)
    assert OrderShipped.model_validate_json(again.value).order_id == "o-1"
    assert [e.order_id for e in await MongoWaitingEvents(Uow(db, None)).of("o-1", OrderShipped)] == ["o-1"]


async def test_processes_claiming_at_once_each_get_different_events(db) -> None:
    store, now = MongoParkedStore(db), datetime.now(UTC)
    for n in range(12):
        await store.park(parked(n, now))
    claims = await asyncio.gather(*(MongoParkedStore(db).claim(owner, now, now + timedelta(seconds=60), 12) for owner in "abc"))
    ids = [p.id for claim in claims for p in claim]
    assert sorted(ids) == sorted(f"/tests e-{n}" for n in range(12)) and len(ids) == len(set(ids))
    assert await store.claim("d", now, now + timedelta(seconds=60), 12) == []  # all leased


async def test_a_process_claims_only_the_events_of_the_topics_it_reads(db) -> None:
    """Two deployments of one service (notifications' two message streams) share the collection:
    each checks the events parked from its own topics."""
    store, now = MongoParkedStore(db), datetime.now(UTC)
    await store.park(parked(1, now))
    await store.park(parked(2, now, topic="orders.bulk"))
    [mine] = await store.claim("a", now, now + timedelta(seconds=60), 10, ["orders.shipped"])
    assert mine.topic == "orders.shipped"
    assert await store.claim("a", now, now + timedelta(seconds=60), 10, ["orders.shipped"]) == []
    [theirs] = await store.claim("b", now, now + timedelta(seconds=60), 10, ["orders.bulk"])
    assert theirs.topic == "orders.bulk"


async def test_a_process_whose_lease_passed_can_neither_settle_nor_postpone(db) -> None:
    store, now = MongoParkedStore(db), datetime.now(UTC)
    await store.park(parked(1, now))
    await store.claim("late", now, now + timedelta(seconds=1), 1)
    later = now + timedelta(seconds=2)
    [taken] = await store.claim("prompt", later, later + timedelta(seconds=60), 1)
    await store.postpone(taken.id, "late", later + timedelta(hours=1), 9, "stale")
    async with db.client.start_session() as session:
        with pytest.raises(LeaseLost):
            await session.with_transaction(lambda s: store.settle(Uow(db, s), taken.id, "late"))
        await session.with_transaction(lambda s: store.settle(Uow(db, s), taken.id, "prompt"))
    assert await db[COLLECTION].count_documents({}) == 0


async def test_a_related_event_makes_its_parked_events_due_now_and_stats_count_them(db) -> None:
    store, now = MongoParkedStore(db), datetime.now(UTC)
    for n in (1, 2):
        await store.park(parked(n, now))
        [p] = await store.claim("a", now, now + timedelta(seconds=60), 1)
        await store.postpone(p.id, "a", now + timedelta(hours=1), 1, "still not known")
    await store.check_soon(["o-2"], now)
    assert [p.aggregate for p in await store.claim("b", now, now + timedelta(seconds=60), 10)] == ["o-2"]
    count, oldest = await store.stats()
    assert count == 2 and abs((oldest - now).total_seconds()) < 1


async def test_an_event_waiting_for_other_aggregates_is_due_when_one_of_them_is_handled_and_exported_with_them(db) -> None:
    store, now = MongoParkedStore(db), datetime.now(UTC)
    await store.ensure_indexes()
    waiting = parked(1, now)
    waiting.waiting_for = ["al-1", "al-2"]
    await store.park(waiting)
    await store.park(parked(2, now))
    for _ in (1, 2):
        [p] = await store.claim("a", now, now + timedelta(seconds=60), 1)
        await store.postpone(p.id, "a", now + timedelta(hours=1), 1, "still not known", ["al-2"] if p.id == waiting.id else None)
    [doc] = await db[COLLECTION].find({"_id": waiting.id}).to_list()
    assert doc["waiting_for"] == ["al-2"]  # what it still waits for, as the last check found
    await store.check_soon(["al-1"], now)
    assert await store.claim("b", now, now + timedelta(seconds=60), 10) == []  # no longer waited for
    await store.check_soon(["al-2"], now)
    [due] = await store.claim("b", now, now + timedelta(seconds=60), 10)
    assert due.id == waiting.id and due.waiting_for == ["al-2"]

    async with db.client.start_session() as session:
        view = MongoWaitingEvents(Uow(db, session))
        [held] = await view.held(["al-2"])
        assert held["payload"] == {"order_id": "o-1"} and held["event_type"] == OrderShipped.event_type.type
        assert [h["payload"]["order_id"] for h in await view.held(["o-1", "al-2", "o-2"])] == ["o-1", "o-2"]  # each once
        assert await view.held(["al-1"]) == []
