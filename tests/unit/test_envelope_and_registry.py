from datetime import UTC, datetime

import pytest

from shared.events import Envelope, InvalidEnvelope, UnknownEventType, registry
from shared.events.base import Event, Registry, event_type
from shared.topics import CATALOG


def test_envelope_round_trips_through_kafka_headers() -> None:
    sent = Envelope(type="com.alumni.employee.departed.v1", source="/hris/workday", subject="E-1", time=datetime(2026, 11, 22, 9, 0, tzinfo=UTC))
    headers = sent.headers()
    assert headers["ce_specversion"] == "1.0" and headers["content-type"] == "application/json"
    assert Envelope.from_headers(headers) == sent
    assert sent.identity == f"/hris/workday {sent.id}"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ce_id": ""}, "missing CloudEvents headers: ce_id"),
        ({"ce_specversion": "0.3"}, "unsupported ce_specversion"),
        ({"content-type": "application/avro"}, "is not application/json"),
        ({"ce_time": "yesterday"}, "not an RFC 3339 timestamp"),
    ],
)
def test_envelope_refuses_what_is_not_cloudevents_binary_mode(change: dict, message: str) -> None:
    headers = Envelope(type="t.v1", source="/s").headers() | change
    with pytest.raises(InvalidEnvelope, match=message):
        Envelope.from_headers(headers)


def test_the_registry_covers_every_topic_and_every_key_is_a_field() -> None:
    by_topic = {t.topic for t in registry}
    assert by_topic == {t.name for t in CATALOG}
    for t in registry:
        assert t.key in t.model.model_fields
        assert t.type.startswith("com.alumni.") and t.type.rsplit(".", 1)[1].startswith("v")
    with pytest.raises(UnknownEventType):
        registry.get("com.alumni.employee.departed.v9")


def test_a_registry_refuses_a_topic_outside_its_catalog_and_a_type_twice() -> None:
    catalog = Registry(topics={"known"})

    @event_type("com.alumni.test.thing.v1", topic="known", key="thing_id", catalog=catalog)
    class Thing(Event):
        thing_id: str

    with pytest.raises(ValueError, match="registered twice"):
        event_type("com.alumni.test.thing.v1", topic="known", key="thing_id", catalog=catalog)(Thing)
    with pytest.raises(ValueError, match="not a topic of this catalog"):
        event_type("com.alumni.test.other.v1", topic="unknown", key="thing_id", catalog=catalog)(Thing)
