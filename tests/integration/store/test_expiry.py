"""What should expire does, on the real database: each service's TTL indexes, made by its own
`ensure_indexes`, take away the documents past their expiry and keep the others. The launcher's
expiry pass (devstack/secantusd.py) runs every 60 seconds, as MongoDB's TTL monitor does, so the
test waits for up to two passes."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import DESCENDING, AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from devstack.stack import LocalStack
from services.identity import repository as identity
from services.notifications import repository as notifications
from services.offboarding import repository as offboarding
from services.referrals import repository as referrals
from shared.clock import system_clock
from shared.messaging.outbox import Outbox
from shared.messaging.uow import PROCESSED, Transactions

TOLERANCE = 300  # seconds: webhook signatures' freshness


class NoRelay:
    def wake(self, committed: list[dict] = ()) -> None: ...


@pytest.fixture
async def databases(stack: LocalStack) -> AsyncIterator[dict[str, AsyncDatabase]]:
    client = AsyncMongoClient(stack.cfg.mongodb_uri, tz_aware=True)
    run = uuid.uuid4().hex[:8]
    dbs = {name: client[f"expiry_{name}_{run}"] for name in ("identity", "offboarding", "referrals", "notifications")}
    yield dbs
    for db in dbs.values():
        await client.drop_database(db.name)
    await client.close()


async def test_documents_past_their_expiry_go_and_the_others_stay(stack: LocalStack, databases: dict[str, AsyncDatabase]) -> None:
    await identity.ensure_indexes(databases["identity"])
    await offboarding.ensure_indexes(databases["offboarding"], webhook_tolerance_seconds=TOLERANCE)
    await referrals.ensure_indexes(databases["referrals"], webhook_tolerance_seconds=TOLERANCE, unmatched_retention_days=30)
    await notifications.ensure_indexes(databases["notifications"], delivery_retention_days=31)
    for db in databases.values():
        await Transactions(db.client, db, Outbox(db, source="/tests"), NoRelay(), system_clock).ensure_indexes()

    now = datetime.now(UTC)
    day = timedelta(days=1)
    # (database, collection, field, a value past the expiry, a value within it)
    cases = [(name, PROCESSED, "processed_at", now - 31 * day, now - 29 * day) for name in databases] + [
        ("notifications", "deliveries", "created_at", now - 32 * day, now - 30 * day),
        ("identity", "email_confirmations", "expires_at", now - 31 * day, now - 29 * day),
        ("offboarding", "webhook_requests", "received_at", now - timedelta(seconds=2 * TOLERANCE + 60), now),
        ("referrals", "webhook_requests", "expires_at", now - timedelta(minutes=1), now + day),
        ("referrals", "unmatched_applications", "last_seen_at", now - 31 * day, now - 29 * day),
    ]
    for db, collection, field, past, within in cases:
        await databases[db][collection].insert_many([{"_id": "past", field: past}, {"_id": "within", field: within}])

    deadline = time.monotonic() + 150
    while time.monotonic() < deadline:
        left = [(db, c) for db, c, *_ in cases if await databases[db][c].find_one({"_id": "past"})]
        if not left:
            break
        await asyncio.sleep(2)
    assert not left, f"past their expiry and still there after 150 s: {left}"
    for db, collection, *_ in cases:
        assert await databases[db][collection].find_one({"_id": "within"}), f"{db}.{collection} lost a document within its expiry"


async def test_unmatched_applications_trade_their_index_for_one_that_expires(databases: dict[str, AsyncDatabase]) -> None:
    db = databases["referrals"]
    await db["unmatched_applications"].create_index([("last_seen_at", DESCENDING)])  # as it was made before
    await referrals.ensure_indexes(db, webhook_tolerance_seconds=TOLERANCE, unmatched_retention_days=90)
    await referrals.ensure_indexes(db, webhook_tolerance_seconds=TOLERANCE, unmatched_retention_days=120)  # a changed setting
    indexes = {ix["name"]: ix async for ix in await db["unmatched_applications"].list_indexes()}
    assert "last_seen_at_-1" not in indexes
    assert indexes["last_seen_at_1"]["expireAfterSeconds"] == 120 * 86400
