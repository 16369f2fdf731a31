"""The real stack for integration tests: a Kafka broker and the database, started once per
test session through the same launcher as `./alumni up`, on the test stack's own ports."""

import shutil
import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from devstack.config import StackConfig
from devstack.stack import LocalStack


@pytest.fixture(scope="session")
async def stack() -> AsyncIterator[LocalStack]:
    cfg = StackConfig.from_env().for_tests()
    local = LocalStack(cfg)
    started_here = not local.infrastructure_running()
    if started_here:
        # Every session starts from empty data; the Kafka jars stay cached.
        shutil.rmtree(cfg.home, ignore_errors=True)
    await local.up_infrastructure(log=lambda line: None)
    yield local
    if started_here:
        local.down(log=lambda line: None)


async def _admin(stack: LocalStack, action) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.cfg.bootstrap_servers)
    await admin.start()
    try:
        await action(admin)
    finally:
        await admin.close()


@pytest.fixture
async def scratch_topic(stack: LocalStack) -> AsyncIterator[str]:
    """A topic of its own for one test (auto-creation is off, as in production)."""
    name = f"test.scratch.{uuid.uuid4().hex[:12]}"
    await _admin(stack, lambda admin: admin.create_topics([NewTopic(name, 3, replication_factor=1)]))
    yield name
    # A fresh client: the test may have restarted the broker under the first one.
    await _admin(stack, lambda admin: admin.delete_topics([name]))
