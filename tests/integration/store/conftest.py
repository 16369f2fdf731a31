"""A database of its own for each test of the store, dropped after it."""

import uuid
from collections.abc import AsyncIterator

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from devstack.stack import LocalStack


@pytest.fixture
async def db(stack: LocalStack) -> AsyncIterator[AsyncDatabase]:
    client = AsyncMongoClient(stack.cfg.mongodb_uri, tz_aware=True)
    database = client[f"store_{uuid.uuid4().hex[:8]}"]
    yield database
    await client.drop_database(database.name)
    await client.close()
