"""Dead-letter topics: a record that cannot be handled goes to `<topic>.dlq`, unchanged (key,
value, headers), with headers saying why and where it came from. `python -m shared.tools.dlq`
lists and replays them.

A dead letter is retried until written, with two exceptions that would otherwise hold the
partition for ever: a record too large to carry the dead-letter headers is written without its
value (`dlq_value_omitted`; the replay command reads the value back from the original topic), and
a dead-letter topic that does not exist is given up on after a few attempts, loudly: an error
log with the record's coordinates and the `alumni_dead_letters_failed` metric to alert on.
"""

import asyncio
import logging
from datetime import UTC, datetime

from aiokafka import ConsumerRecord
from aiokafka.errors import MessageSizeTooLargeError, TopicAuthorizationFailedError, UnknownTopicOrPartitionError
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
VALUE_OMITTED = "dlq_value_omitted"  # the value was too large to write here: read it at the original coordinates
# A missing or forbidden dead-letter topic: each attempt waits for metadata (~40 s) first.
MISSING_TOPIC_ATTEMPTS = 3


class Interrupted(Exception):
    """The service is stopping before the dead letter could be written: do not commit."""


class DeadLetterImpossible(Exception):
    """The dead letter can never be written (its topic is missing or forbidden): given up."""


def original_headers(record: ConsumerRecord) -> dict[str, str]:
    """The record's own headers, without the dead-letter bookkeeping of an earlier round."""
    return {k: (v or b"").decode(errors="replace") for k, v in record.headers if not k.startswith(PREFIX)}


class DeadLetters:
    def __init__(self, kafka: Publisher, service: str, stopping: asyncio.Event) -> None:
        self.kafka = kafka
        self.service = service
        self.stopping = stopping
        meter = metrics.get_meter("alumni.consumer")
        self._count = meter.create_counter("alumni.dead_letters", unit="{record}", description="Records sent to a dead-letter topic")
        self._failed = meter.create_counter(
            "alumni.dead_letters.failed", unit="{record}", description="Records whose dead letter could never be written: alert"
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
        value, topic = record.value or b"", dead_letter_topic(record.topic)
        delay, missing = 0.5, 0
        while True:  # a dead letter is not dropped: without it the record must not be committed
            try:
                await self.kafka.publish(value, topic, key=record.key, headers=headers)
                break
            except MessageSizeTooLargeError:
                value, headers = b"", headers | {VALUE_OMITTED: "too large with the dead-letter headers"}
                continue
            except (UnknownTopicOrPartitionError, TopicAuthorizationFailedError) as exc:
                missing += 1
                if missing >= MISSING_TOPIC_ATTEMPTS:
                    self._give_up(record, type(exc).__name__)
                    raise DeadLetterImpossible(f"{topic}: {type(exc).__name__}") from exc
                error = exc
            except Exception as exc:
                error = exc
            if self.stopping.is_set():
                raise Interrupted from error
            log.warning("cannot write a dead letter; retrying", extra={"topic": record.topic, "error": type(error).__name__})
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

    def _give_up(self, record: ConsumerRecord, reason: str) -> None:
        self._failed.add(1, {"topic": record.topic, "reason": reason})
        log.critical(
            "dead letter cannot be written: the record is passed over; it stays in its topic until retention ends",
            extra={"topic": record.topic, "partition": record.partition, "offset": record.offset, "reason": reason},
        )
