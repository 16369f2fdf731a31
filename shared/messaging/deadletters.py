"""Dead-letter topics: a record that cannot be handled goes to `<topic>.dlq`, unchanged (key,
value, headers), with headers saying why and where it came from. `python -m shared.tools.dlq`
lists and replays them."""

import asyncio
import logging
from datetime import UTC, datetime

from aiokafka import ConsumerRecord
from opentelemetry import metrics

from shared.messaging.kafka import Publisher
from shared.topics import consumer_group, dead_letter_topic

log = logging.getLogger(__name__)

PREFIX = "dlq_"
ERROR_CLASS = "dlq_error_class"
ERROR_MESSAGE = "dlq_error_message"
ORIGINAL_TOPIC = "dlq_original_topic"
ORIGINAL_PARTITION = "dlq_original_partition"
ORIGINAL_OFFSET = "dlq_original_offset"
ATTEMPTS = "dlq_attempts"
FAILED_AT = "dlq_failed_at"
GROUP = "dlq_group"
REPLAYED_FROM = "dlq_replayed_from"  # set on a replayed record: `<dlq topic>:<offset>`


class Interrupted(Exception):
    """The service is stopping before the dead letter could be written: do not commit."""


def original_headers(record: ConsumerRecord) -> dict[str, str]:
    """The record's own headers, without the dead-letter bookkeeping of an earlier round."""
    return {k: v.decode(errors="replace") for k, v in record.headers if not k.startswith(PREFIX)}


class DeadLetters:
    def __init__(self, kafka: Publisher, service: str, stopping: asyncio.Event) -> None:
        self.kafka = kafka
        self.service = service
        self.stopping = stopping
        self._count = metrics.get_meter("alumni.consumer").create_counter(
            "alumni.dead_letters", unit="{record}", description="Records sent to a dead-letter topic"
        )

    async def send(self, record: ConsumerRecord, error_class: str, message: str, attempts: int) -> None:
        headers = original_headers(record) | {
            ERROR_CLASS: error_class,
            ERROR_MESSAGE: message[:1000],
            ORIGINAL_TOPIC: record.topic,
            ORIGINAL_PARTITION: str(record.partition),
            ORIGINAL_OFFSET: str(record.offset),
            ATTEMPTS: str(attempts),
            FAILED_AT: datetime.now(UTC).isoformat(),
            GROUP: consumer_group(self.service, record.topic),
        }
        delay = 0.5
        while True:  # a dead letter is never dropped: without it the record must not be committed
            try:
                await self.kafka.publish(record.value or b"", dead_letter_topic(record.topic), key=record.key, headers=headers)
                break
            except Exception as exc:
                if self.stopping.is_set():
                    raise Interrupted from exc
                log.warning("cannot write a dead letter; retrying", extra={"topic": record.topic, "error": type(exc).__name__})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
        self._count.add(1, {"topic": record.topic, "error_class": error_class})
        log.error(
            "record dead-lettered",
            extra={
                "topic": record.topic, "partition": record.partition, "offset": record.offset,
                "error_class": error_class, "error": message[:1000], "attempts": attempts,
            },
        )
