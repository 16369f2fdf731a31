"""Offset batching rules, with a recording stand-in for one aiokafka consumer (the integration
tests prove the commits against the real broker: tests/integration/platform)."""

import asyncio

from aiokafka import TopicPartition
from aiokafka.errors import CommitFailedError, KafkaConnectionError

from shared.messaging.offsets import OffsetCommits

A, B = TopicPartition("t", 0), TopicPartition("t", 1)


class RecordingConsumer:
    def __init__(self, failures: list[Exception] | None = None) -> None:
        self.commits: list[dict[TopicPartition, int]] = []
        self.failures = failures or []

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.commits.append(dict(offsets))


async def test_handled_records_are_committed_together_newest_offset_per_partition() -> None:
    stopping = asyncio.Event()
    commits = OffsetCommits(0.05, stopping)
    consumer = RecordingConsumer()
    for offset in range(5):
        await commits.handled(consumer, A, offset)
    await commits.handled(consumer, B, 7)
    assert consumer.commits == []  # nothing yet: the interval has not passed
    await asyncio.sleep(0.12)
    assert consumer.commits == [{A: 5, B: 8}]
    stopping.set()


async def test_interval_zero_commits_each_record_at_once() -> None:
    commits = OffsetCommits(0, asyncio.Event())
    consumer = RecordingConsumer()
    await commits.handled(consumer, A, 0)
    await commits.handled(consumer, A, 1)
    assert consumer.commits == [{A: 1}, {A: 2}]


async def test_once_stopping_each_record_commits_at_once() -> None:
    stopping = asyncio.Event()
    commits = OffsetCommits(60, stopping)
    consumer = RecordingConsumer()
    await commits.handled(consumer, A, 3)
    stopping.set()
    await commits.flush()
    await commits.handled(consumer, A, 4)
    assert consumer.commits == [{A: 4}, {A: 5}]


async def test_an_unreachable_coordinator_keeps_the_offsets_for_the_next_flush() -> None:
    commits = OffsetCommits(60, asyncio.Event())
    consumer = RecordingConsumer(failures=[KafkaConnectionError()])
    await commits.handled(consumer, A, 3)
    await commits.flush()
    assert consumer.commits == []
    await commits.flush()
    assert consumer.commits == [{A: 4}]


async def test_a_rebalance_drops_the_offsets_that_moved_away() -> None:
    commits = OffsetCommits(60, asyncio.Event())
    consumer = RecordingConsumer(failures=[CommitFailedError()])
    await commits.handled(consumer, A, 3)
    await commits.flush()
    await commits.flush()
    assert consumer.commits == []  # the new owner redelivers and drops the repeats
    await commits.handled(consumer, A, 9)
    await commits.flush()
    assert consumer.commits == [{A: 10}]
