"""Long polling on the real broker (shared/messaging/long_poll.py): an idle consumer's fetches
wait longer and longer, and the first record after the quiet spell, and those that follow it
one by one on the same partition, still come at once."""

import asyncio
import time
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.consumer.fetcher import Fetcher

from devstack.stack import LocalStack
from shared.messaging import long_poll

IDLE_MAX_MS = 2000


async def test_an_idle_consumer_fetches_rarely_and_a_record_after_the_quiet_spell_comes_at_once(stack: LocalStack, scratch_topic: str) -> None:
    long_poll.apply(IDLE_MAX_MS)  # as every service does at start-up
    fetches = 0
    patched = Fetcher._proc_fetch_request

    async def counted(self, *args):
        nonlocal fetches
        fetches += 1
        return await patched(self, *args)

    Fetcher._proc_fetch_request = counted
    consumer = AIOKafkaConsumer(scratch_topic, bootstrap_servers=stack.cfg.bootstrap_servers, group_id=f"test-{uuid.uuid4().hex[:8]}",
                                auto_offset_reset="earliest", enable_auto_commit=False, fetch_max_wait_ms=500)
    producer = AIOKafkaProducer(bootstrap_servers=stack.cfg.bootstrap_servers, acks="all")
    await asyncio.gather(consumer.start(), producer.start())
    try:
        await asyncio.sleep(2)  # joined and assigned
        before = fetches
        await asyncio.sleep(12)
        # 500 ms apart, 24 fetches in 12 s; doubling up to 2 s, seven or eight.
        assert fetches - before <= 9
        assert consumer._fetcher._fetch_max_wait_ms == IDLE_MAX_MS

        took = []
        for n in range(10):  # one by one, each after the one before was handled
            sent = time.monotonic()
            await producer.send_and_wait(scratch_topic, f"r{n}".encode(), key=b"one-partition")
            record = await asyncio.wait_for(consumer.getone(), 10)
            took.append(time.monotonic() - sent)
            assert record.value == f"r{n}".encode()
        # The first at once though a 2 s fetch was in flight; the next within the busy wait.
        assert took[0] < 0.5 and max(took) < 1.0, took
    finally:
        Fetcher._proc_fetch_request = patched
        await asyncio.gather(consumer.stop(), producer.stop())
