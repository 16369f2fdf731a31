"""The outbox relay never lets an event the broker refuses for its size hold back the events
behind it: it is set aside, the others are published, and an outage is still retried."""

import asyncio
from datetime import UTC, datetime

import pytest
from aiokafka.errors import KafkaConnectionError, MessageSizeTooLargeError

from shared.messaging.relay import OutboxRelay


class Outbox:
    def __init__(self) -> None:
        self.set_aside_ids: list[str] = []

    async def set_aside(self, event_id: str, reason: str) -> None:
        self.set_aside_ids.append(event_id)


class Broker:
    """Refuses at once what is too large (the client's check), or later (the broker's answer)."""

    def __init__(self, *, refuse_at_once: set[str] = frozenset(), refuse_later: set[str] = frozenset(), down: set[str] = frozenset()) -> None:
        self.refuse_at_once, self.refuse_later, self.down = refuse_at_once, refuse_later, down
        self.acknowledged: list[str] = []

    async def publish(self, value: bytes, topic: str, *, key: bytes | None, headers: dict[str, str], confirm: bool = True):
        event_id = headers["ce_id"]
        if event_id in self.refuse_at_once:
            raise MessageSizeTooLargeError("over max_request_size")
        future = asyncio.get_running_loop().create_future()
        if event_id in self.refuse_later:
            future.set_exception(MessageSizeTooLargeError("the broker refused it"))
        elif event_id in self.down:
            future.set_exception(KafkaConnectionError())
        else:
            self.acknowledged.append(event_id)
            future.set_result(None)
        return future


def row(event_id: str) -> dict:
    return {"_id": event_id, "topic": "t", "key": "k", "value": b"{}", "headers": {"ce_id": event_id}, "created_at": datetime.now(UTC)}


async def test_an_event_too_large_is_set_aside_and_the_others_go_out() -> None:
    outbox, broker = Outbox(), Broker(refuse_at_once={"e2"}, refuse_later={"e4"})
    relay = OutboxRelay(outbox, broker)  # type: ignore[arg-type]
    await relay._publish([row(f"e{i}") for i in range(1, 6)])
    assert broker.acknowledged == ["e1", "e3", "e5"]
    assert outbox.set_aside_ids == ["e2", "e4"]
    assert set(relay._published) == {"e1", "e3", "e5"}


async def test_an_outage_is_retried_and_what_went_out_is_not_sent_again() -> None:
    outbox, broker = Outbox(), Broker(down={"e2"})
    relay = OutboxRelay(outbox, broker)  # type: ignore[arg-type]
    with pytest.raises(KafkaConnectionError):
        await relay._publish([row("e1"), row("e2"), row("e3")])
    assert set(relay._published) == {"e1", "e3"} and outbox.set_aside_ids == []
