"""Offsets committed in batches.

A record's effect is durable when its transaction commits, and its processed-event marker makes
a redelivery a no-op: the offset commit only bounds how much is redelivered after a crash. So
offsets are not committed one request per record but gathered, per consumer, and committed
together every `interval` seconds (the newest handled offset of each partition: a partition is
handled in order). Once the service is stopping, each offset is committed at once, before the
consumers close. An interval of 0 commits every record as it is handled.
"""

import asyncio
import logging
from typing import Any

from aiokafka import TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError

log = logging.getLogger(__name__)


class OffsetCommits:
    def __init__(self, interval: float, stopping: asyncio.Event) -> None:
        self.interval = interval
        self.stopping = stopping
        # id(consumer) -> (consumer, partition -> next offset to read)
        self._pending: dict[int, tuple[Any, dict[TopicPartition, int]]] = {}
        self._task: asyncio.Task | None = None
        self._lock = asyncio.Lock()  # one flush at a time: a partition's commits never go backwards

    async def handled(self, consumer: Any, partition: TopicPartition, offset: int) -> None:
        """The record at `offset` of `partition` is handled: its successor is the next to read."""
        _, offsets = self._pending.setdefault(id(consumer), (consumer, {}))
        offsets[partition] = max(offsets.get(partition, 0), offset + 1)
        if self.interval <= 0 or self.stopping.is_set():
            await self.flush()
        elif self._task is None:
            self._task = asyncio.create_task(self._run(), name="offset-commits")

    async def flush(self) -> None:
        async with self._lock:
            await self._commit_pending()

    async def _commit_pending(self) -> None:
        pending, self._pending = self._pending, {}
        for consumer, offsets in pending.values():
            try:
                await consumer.commit(offsets)
            except (CommitFailedError, IllegalStateError) as exc:
                # A rebalance moved partitions away: their new owner redelivers from the last
                # committed offset, and drops what was handled here as repeats.
                log.warning(
                    "offsets not committed: the partitions moved to another consumer, which will drop the repeats",
                    extra={"partitions": _describe(offsets), "error_class": type(exc).__name__},
                )
            except KafkaError as exc:  # the coordinator unreachable for now: try again next time
                log.warning("offsets not committed; will retry", extra={"partitions": _describe(offsets), "error_class": type(exc).__name__})
                _, current = self._pending.setdefault(id(consumer), (consumer, {}))
                for partition, offset in offsets.items():
                    current[partition] = max(current.get(partition, 0), offset)

    async def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                await asyncio.wait_for(self.stopping.wait(), self.interval)
            except TimeoutError:
                pass
            try:
                await self.flush()
            except Exception as exc:  # never lose the loop: what is not committed is redelivered
                log.warning("offsets not committed", extra={"error": f"{type(exc).__name__}: {exc}"})
        self._task = None


def _describe(offsets: dict[TopicPartition, int]) -> str:
    return ", ".join(f"{tp.topic}[{tp.partition}]@{offset}" for tp, offset in offsets.items())
