"""The local stack is real: Kafka keeps records and committed offsets across a broker restart,
the database keeps documents across a restart and commits or aborts transactions as a whole."""

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from pymongo import AsyncMongoClient

from devstack.stack import LocalStack
from shared.messaging import aiokafka_fix
from shared.topics import topic_partitions


async def _produce(stack: LocalStack, topic: str, key: bytes, value: bytes):
    producer = AIOKafkaProducer(bootstrap_servers=stack.cfg.bootstrap_servers, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        return await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


async def _consume_one(stack: LocalStack, topic: str, group: str, *, commit: bool):
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=stack.cfg.bootstrap_servers,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        record = await asyncio.wait_for(consumer.getone(), timeout=30)
        if commit:
            await consumer.commit()
        return record
    finally:
        await consumer.stop()


async def _committed(stack: LocalStack, group: str, partition: TopicPartition) -> int | None:
    consumer = AIOKafkaConsumer(bootstrap_servers=stack.cfg.bootstrap_servers, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        return await consumer.committed(partition)
    finally:
        await consumer.stop()


async def test_every_catalog_topic_exists_with_its_partitions(stack: LocalStack) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=stack.cfg.bootstrap_servers)
    await admin.start()
    try:
        described = await admin.describe_topics(list(topic_partitions()))
    finally:
        await admin.close()
    found = {t["topic"]: len(t["partitions"]) for t in described if t["error_code"] == 0}
    assert found == topic_partitions()


async def test_record_is_consumed_by_a_group_and_its_offset_committed(stack: LocalStack, scratch_topic: str) -> None:
    sent = await _produce(stack, scratch_topic, b"employee-1", b'{"hello": "kafka"}')
    group = f"test-{uuid.uuid4().hex[:8]}"

    record = await _consume_one(stack, scratch_topic, group, commit=True)

    assert (record.key, record.value) == (b"employee-1", b'{"hello": "kafka"}')
    assert (record.partition, record.offset) == (sent.partition, sent.offset)
    assert await _committed(stack, group, TopicPartition(scratch_topic, sent.partition)) == sent.offset + 1


async def test_records_and_committed_offsets_survive_a_broker_restart(stack: LocalStack, scratch_topic: str) -> None:
    aiokafka_fix.apply()  # as every service does at start-up
    first = await _produce(stack, scratch_topic, b"k", b"first")
    second = await _produce(stack, scratch_topic, b"k", b"second")
    group = f"test-{uuid.uuid4().hex[:8]}"
    await _consume_one(stack, scratch_topic, group, commit=True)  # commits past `first`
    # More groups, so that the broker has offsets to load when it restarts.
    others = [f"test-{uuid.uuid4().hex[:8]}" for _ in range(30)]
    await asyncio.gather(*(_consume_one(stack, scratch_topic, other, commit=True) for other in others))
    broker_pid = stack.kafka.process.pid()

    assert stack.kafka.stop()
    assert stack.kafka.start()
    await stack.kafka.wait_ready()

    assert stack.kafka.process.pid() != broker_pid
    partition = TopicPartition(scratch_topic, first.partition)
    # Read at once, all together: a read that lands while the broker still loads the groups must
    # wait for the real offsets, not take "loading" for "nothing committed" (shared/messaging/aiokafka_fix.py).
    committed = await asyncio.gather(*(_committed(stack, g, partition) for g in [group, *others]))
    assert list(committed) == [first.offset + 1] * (1 + len(others))
    # The same group resumes after its commit; a new group still finds both records.
    resumed = await _consume_one(stack, scratch_topic, group, commit=False)
    assert (resumed.value, resumed.offset) == (b"second", second.offset)
    replayed = await _consume_one(stack, scratch_topic, f"test-{uuid.uuid4().hex[:8]}", commit=False)
    assert replayed.value == b"first"


@pytest.fixture
async def mongo(stack: LocalStack):
    client = AsyncMongoClient(stack.cfg.mongodb_uri, serverSelectionTimeoutMS=20000)
    yield client[f"test_{uuid.uuid4().hex[:8]}"]
    await client.close()


async def test_a_document_survives_a_database_restart(stack: LocalStack, mongo) -> None:
    await mongo.alumni.insert_one({"_id": "alumnus-1", "first_name": "Élodie"})
    db_pid = stack.database.process.pid()

    assert stack.database.stop()
    assert stack.database.start()
    await stack.database.wait_ready()

    assert stack.database.process.pid() != db_pid
    assert await mongo.alumni.find_one({"_id": "alumnus-1"}) == {"_id": "alumnus-1", "first_name": "Élodie"}


async def test_a_transaction_over_two_collections_commits_as_a_whole(mongo) -> None:
    await mongo.create_collection("cases")
    await mongo.create_collection("outbox")
    async with mongo.client.start_session() as session:
        async with await session.start_transaction():
            await mongo.cases.insert_one({"_id": "case-1"}, session=session)
            await mongo.outbox.insert_one({"_id": "event-1"}, session=session)

    assert await mongo.cases.count_documents({}) == 1
    assert await mongo.outbox.count_documents({}) == 1


async def test_a_transaction_over_two_collections_aborts_as_a_whole(mongo) -> None:
    await mongo.create_collection("cases")
    await mongo.create_collection("outbox")

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with mongo.client.start_session() as session:
            async with await session.start_transaction():
                await mongo.cases.insert_one({"_id": "case-1"}, session=session)
                await mongo.outbox.insert_one({"_id": "event-1"}, session=session)
                raise Boom

    assert await mongo.cases.count_documents({}) == 0
    assert await mongo.outbox.count_documents({}) == 0
