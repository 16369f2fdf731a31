"""The dead-letter writer's decisions with a publisher that fails as the real one was seen to
(MessageSizeTooLargeError at once for an oversized record, UnknownTopicOrPartitionError after
~40 s for a missing topic). On the real broker: tests/integration/platform/test_dead_letters.py."""

import asyncio

import pytest
from aiokafka import ConsumerRecord
from aiokafka.errors import KafkaConnectionError, MessageSizeTooLargeError, UnknownTopicOrPartitionError

from shared.messaging import deadletters as dl
from shared.messaging.deadletters import DeadLetterImpossible, DeadLetters, Interrupted

LIMIT = 1_048_576


class Broker:
    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.written: list[tuple[str, bytes, dict[str, str]]] = []

    async def publish(self, value: bytes, topic: str, *, key: bytes | None, headers: dict[str, str], confirm: bool = True) -> None:
        if self.failures:
            raise self.failures.pop(0)
        if len(value) + sum(len(k) + len(v) for k, v in headers.items()) > LIMIT:
            raise MessageSizeTooLargeError("too large")
        self.written.append((topic, value, headers))


def record(value: bytes, headers: list[tuple[str, bytes | None]] = ()) -> ConsumerRecord:
    return ConsumerRecord("hris.employee.departed", 2, 41, 0, 0, b"E-1", value, None, 3, len(value), list(headers))


def writer(broker: Broker) -> DeadLetters:
    letters = DeadLetters(broker, "offboarding", asyncio.Event())  # type: ignore[arg-type]
    return letters


async def test_a_dead_letter_keeps_the_record_and_says_why_and_where_from() -> None:
    broker = Broker()
    await writer(broker).send(record(b"{}", [("ce_id", b"e-1"), ("traceparent", None)]), "SchemaViolation", "employee_id: missing", 0)
    [(topic, value, headers)] = broker.written
    assert (topic, value) == ("hris.employee.departed.dlq", b"{}")
    assert headers["ce_id"] == "e-1" and headers["traceparent"] == ""
    assert (headers[dl.ORIGINAL_TOPIC], headers[dl.ORIGINAL_PARTITION], headers[dl.ORIGINAL_OFFSET]) == ("hris.employee.departed", "2", "41")
    assert headers[dl.GROUP] == "offboarding.hris.employee.departed"


async def test_a_record_too_large_for_the_headers_is_written_without_its_value() -> None:
    broker = Broker()
    await writer(broker).send(record(b"x" * (LIMIT - 100)), "SchemaViolation", "too big", 0)
    [(_, value, headers)] = broker.written
    assert value == b"" and headers[dl.VALUE_OMITTED] and headers[dl.ORIGINAL_OFFSET] == "41"


async def test_an_outage_is_retried_until_the_dead_letter_is_written(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(asyncio, "sleep", _no_wait)
    broker = Broker(KafkaConnectionError(), KafkaConnectionError(), KafkaConnectionError())
    await writer(broker).send(record(b"{}"), "TransientError", "down", 5)
    assert len(broker.written) == 1


async def test_a_missing_dead_letter_topic_is_given_up_loudly_instead_of_holding_the_partition(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(asyncio, "sleep", _no_wait)
    broker = Broker(*[UnknownTopicOrPartitionError()] * dl.MISSING_TOPIC_ATTEMPTS)
    with pytest.raises(DeadLetterImpossible):
        await writer(broker).send(record(b"{}"), "SchemaViolation", "x", 0)
    assert broker.written == []


async def test_stopping_while_the_broker_is_away_leaves_the_record_uncommitted() -> None:
    broker = Broker(KafkaConnectionError())
    letters = writer(broker)
    letters.stopping.set()
    with pytest.raises(Interrupted):
        await letters.send(record(b"{}"), "TransientError", "down", 5)


async def _no_wait(seconds: float) -> None:
    return None
