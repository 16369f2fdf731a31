"""Reading a Kafka record as an event of the catalog. Anything that goes wrong while reading
(headers, envelope, bytes, nesting, schema, an unknown type) is a `PoisonRecord` with a reason
that names what is wrong, never the values: the consumer dead-letters it at once."""

import json

import pydantic
from aiokafka import ConsumerRecord

from shared.events import Envelope, Event, EventType, InvalidEnvelope
from shared.messaging.failures import PoisonRecord, describe
from shared.messaging.router import EventRouter


def record_headers(record: ConsumerRecord) -> dict[str, str]:
    headers: dict[str, str] = {}
    for key, value in record.headers:
        if value is None:
            raise PoisonRecord("UndecodableHeader", f"header {key!r} has no value")
        try:
            headers[key] = value.decode()
        except UnicodeDecodeError:
            raise PoisonRecord("UndecodableHeader", f"header {key!r} is not UTF-8") from None
    return headers


def decode(record: ConsumerRecord, router: EventRouter) -> tuple[Envelope, EventType, Event]:
    try:
        return _decode(record, router)
    except PoisonRecord:
        raise
    except Exception as exc:  # whatever else breaks while reading: a dead letter, never a silent skip
        raise PoisonRecord("UnreadableRecord", f"{type(exc).__name__} while reading the record") from None


def _decode(record: ConsumerRecord, router: EventRouter) -> tuple[Envelope, EventType, Event]:
    try:
        envelope = Envelope.from_headers(record_headers(record))
    except InvalidEnvelope as exc:
        raise PoisonRecord("InvalidEnvelope", str(exc)) from None
    if envelope.type not in router.handlers:
        raise PoisonRecord("UnknownEventType", f"{envelope.type!r} is not an event type this service reads on {record.topic}")
    event_type, _ = router.handlers[envelope.type]
    try:
        data = json.loads(record.value or b"")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PoisonRecord("UndecodableValue", f"the value is not JSON: {exc}") from None
    except RecursionError:
        raise PoisonRecord("UndecodableValue", "the value is JSON nested too deeply to read") from None
    try:
        event = event_type.model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise PoisonRecord("SchemaViolation", describe(exc)) from None
    except RecursionError:
        raise PoisonRecord("SchemaViolation", "the payload is nested too deeply") from None
    return envelope, event_type, event
