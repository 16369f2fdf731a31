"""The event catalog as an AsyncAPI 3.0 document, generated from the code (`shared.topics` and
the event registry), for the teams that consume or produce the platform's events.

    python -m shared.tools.asyncapi            # writes docs/asyncapi.json
    python -m shared.tools.asyncapi --check    # exits 1 when the committed copy is stale
"""

import argparse
import json
import sys
from pathlib import Path

from pydantic.json_schema import models_json_schema

from shared.messaging import deadletters as dl
from shared.events import registry
from shared.events.envelope import CONTENT_TYPE
from shared.topics import CATALOG, DEAD_LETTER_PARTITIONS

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.json"
SCHEMAS = "#/components/schemas/{model}"


def _cloudevent_headers(ce_type: str | None) -> dict:
    header = {"type": "string"}
    return {
        "type": "object",
        "required": ["ce_specversion", "ce_id", "ce_source", "ce_type", "content-type"],
        "properties": {
            "ce_specversion": {"const": "1.0"},
            "ce_id": header | {"description": "Unique within ce_source; ce_source + ce_id identify the event."},
            "ce_source": header | {"description": "Who emitted the event, e.g. /alumni/offboarding."},
            "ce_type": {"const": ce_type} if ce_type else header,
            "ce_time": header | {"format": "date-time"},
            "ce_subject": header | {"description": "The aggregate the event is about."},
            "content-type": {"const": CONTENT_TYPE},
            "traceparent": header | {"description": "W3C trace context of the request or event that caused this one."},
        },
    }


def _dead_letter_headers() -> dict:
    fields = {
        dl.ERROR_CLASS: "Why: UndecodableValue, UndecodableHeader, InvalidEnvelope, UnknownEventType, SchemaViolation, PermanentError, or the class of the last error when retries ran out.",
        dl.ERROR_MESSAGE: "What went wrong, without the offending values.",
        dl.ORIGINAL_TOPIC: "Where the record was read.",
        dl.ORIGINAL_PARTITION: "Its partition there.",
        dl.ORIGINAL_OFFSET: "Its offset there.",
        dl.ATTEMPTS: "Handler attempts made (0: the record could not be read).",
        dl.FAILED_AT: "When it was dead-lettered (RFC 3339).",
        dl.GROUP: "The consumer group (service) that gave up on it.",
    }
    return {
        "type": "object",
        "description": "The original record's own headers are kept alongside these.",
        "properties": {name: {"type": "string", "description": text} for name, text in fields.items()},
        "required": list(fields),
    }


def build_document() -> dict:
    event_types = sorted(registry, key=lambda t: t.type)
    _, definitions = models_json_schema([(t.model, "validation") for t in event_types], ref_template=SCHEMAS)
    messages: dict[str, dict] = {
        "DeadLetter": {
            "name": "DeadLetter",
            "title": "A record that could not be handled",
            "summary": "The original key and value, unchanged; headers say why and where from. Replay with `python -m shared.tools.dlq`.",
            "headers": _dead_letter_headers(),
            "payload": {"description": "The original record's value, byte for byte."},
        }
    }
    for t in event_types:
        messages[t.name] = {
            "name": t.type,
            "title": t.name,
            "summary": t.summary,
            "contentType": CONTENT_TYPE,
            "headers": _cloudevent_headers(t.type),
            "payload": {"$ref": SCHEMAS.format(model=t.name)},
            "bindings": {"kafka": {"key": {"type": "string", "description": f"The payload's `{t.key}`."}}},
        }
    channels: dict[str, dict] = {}
    for topic in CATALOG:
        channels[topic.name] = {
            "address": topic.name,
            "description": topic.description,
            "messages": {
                t.name: {"$ref": f"#/components/messages/{t.name}"} for t in event_types if t.topic == topic.name
            },
            "bindings": {"kafka": {"partitions": topic.partitions, "replicas": 1}},
        }
        channels[topic.dead_letter] = {
            "address": topic.dead_letter,
            "description": f"Dead letters of {topic.name}.",
            "messages": {"DeadLetter": {"$ref": "#/components/messages/DeadLetter"}},
            "bindings": {"kafka": {"partitions": DEAD_LETTER_PARTITIONS, "replicas": 1}},
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Alumni platform events",
            "version": "1.0.0",
            "description": (
                "Every topic and event of the alumni platform. Events are CloudEvents 1.0 in Kafka binary "
                "content mode; the record key is the aggregate's id. Readers ignore fields they do not "
                "know; a breaking change is a new `ce_type` version. Fields marked `x-personal-data` are "
                "personal data: never log them."
            ),
        },
        "defaultContentType": CONTENT_TYPE,
        "channels": channels,
        "components": {"messages": messages, "schemas": definitions.get("$defs", {})},
    }


def render() -> str:
    return json.dumps(build_document(), indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="asyncapi", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if the committed document differs")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not DOCUMENT.exists() or DOCUMENT.read_text() != text:
            print(f"{DOCUMENT} is stale: run `python -m shared.tools.asyncapi` and commit it.", file=sys.stderr)
            return 1
        print(f"{DOCUMENT} matches the code.")
        return 0
    DOCUMENT.parent.mkdir(exist_ok=True)
    DOCUMENT.write_text(text)
    print(f"wrote {DOCUMENT} ({len(json.loads(text)['components']['messages'])} messages)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
