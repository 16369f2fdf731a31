"""Reading and writing raw records, as an HRIS connector or an operator would."""

import asyncio
import json
import uuid
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.topics import consumer_group
from shared.topics import topic_partitions


@dataclass
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, str]

    def json(self) -> dict:
        return json.loads(self.value)


def cloudevent_headers(ce_type: str, *, ce_id: str | None = None, source: str = "/tests/hris") -> list[tuple[str, bytes]]:
    headers = {
        "ce_specversion": "1.0",
        "ce_id": ce_id or str(uuid.uuid4()),
        "ce_source": source,
        "ce_type": ce_type,
        "ce_time": "2026-11-22T09:00:00Z",
        "content-type": "application/json",
    }
    return [(k, v.encode()) for k, v in headers.items()]


async def publish_event(bootstrap: str, event, *, source: str = "/tests", ce_id: str | None = None) -> str:
    """A catalog event as its producer would publish it: CloudEvents headers, JSON value, key."""
    from shared.events import Envelope

    envelope = Envelope(type=event.event_type.type, source=source, **({"id": ce_id} if ce_id else {}))
    headers = [(k, v.encode()) for k, v in envelope.headers().items()]
    await produce(bootstrap, event.event_type.topic, [(event.key.encode(), event.model_dump_json().encode(), headers)])
    return envelope.id


async def produce(bootstrap: str, topic: str, records: list[tuple[bytes | None, bytes | None, list[tuple[str, bytes | None]]]], *, partition: int | None = None) -> list:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    try:
        await producer.start()
        sent = [await producer.send(topic, value, key=key, headers=headers, partition=partition) for key, value, headers in records]
        return [await s for s in sent]
    finally:
        await producer.stop()


async def read_all(bootstrap: str, topic: str, *, expect: int | None = None, timeout: float = 30.0, settle: float = 1.0) -> list[Record]:
    """Every record of a topic from the beginning; waits until `expect` are there (then `settle`
    seconds more, to catch any extra), or until `timeout`."""
    return await wait_for(bootstrap, topic, lambda record: True, count=expect or 10**9, timeout=timeout, settle=settle)


async def wait_for(
    bootstrap: str, topic: str, match, *, count: int = 1, timeout: float = 30.0, settle: float = 0.5
) -> list[Record]:
    """The records of a topic (from its beginning) for which `match(record)` holds, once there
    are `count` of them and `settle` seconds passed with no more; or what was found by `timeout`."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or await _partitions(consumer, topic))]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        found: list[Record] = []
        loop = asyncio.get_running_loop()
        deadline, settled_at = loop.time() + timeout, None
        while loop.time() < deadline:
            for tp_records in (await consumer.getmany(timeout_ms=200)).values():
                for r in tp_records:
                    record = Record(r.topic, r.partition, r.offset, r.key, r.value, {k: (v or b"").decode(errors="replace") for k, v in r.headers})
                    if match(record):
                        found.append(record)
                        settled_at = None
            if len(found) >= count:
                settled_at = settled_at or loop.time()
                if loop.time() - settled_at >= settle:
                    break
        return found
    finally:
        await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    await consumer._client.force_metadata_update()
    return consumer.partitions_for_topic(topic) or set()


async def unconsumed(bootstrap: str, services: tuple[str, ...]) -> int:
    """Records the services' consumer groups have not committed yet, over all their topics."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        theirs = {consumer_group(service, topic): topic for service in services for topic in topic_partitions()}
        behind = 0
        for group in {g[0] for g in await admin.list_consumer_groups()} & theirs.keys():
            topic = theirs[group]
            partitions = [TopicPartition(topic, p) for p in await _partitions(consumer, topic)]
            committed = await admin.list_consumer_group_offsets(group, partitions=partitions)
            ends = await consumer.end_offsets(partitions)
            behind += sum(ends[tp] - (committed[tp].offset if tp in committed and committed[tp].offset >= 0 else 0) for tp in partitions)
        return behind
    finally:
        await consumer.stop()
        await admin.close()


async def wait_until_consumed(bootstrap: str, services: tuple[str, ...], timeout: float) -> int:
    """Waits until the services have consumed every record of their topics; what is left."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (left := await unconsumed(bootstrap, services)) and loop.time() < deadline:
        await asyncio.sleep(1)
    return left
