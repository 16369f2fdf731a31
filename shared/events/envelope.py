"""CloudEvents 1.0 in Kafka binary content mode: attributes in `ce_*` headers, the payload as
JSON in the record value, `content-type: application/json`."""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"
REQUIRED = ("ce_id", "ce_source", "ce_type", "ce_specversion")


class InvalidEnvelope(Exception):
    """The record's headers are not a CloudEvents 1.0 binary-mode envelope."""


@dataclass(frozen=True)
class Envelope:
    type: str
    source: str
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    time: datetime = field(default_factory=lambda: datetime.now(UTC))
    subject: str | None = None

    @property
    def identity(self) -> str:
        """`ce_source` + `ce_id`: the same pair twice is the same event."""
        return f"{self.source} {self.id}"

    def headers(self) -> dict[str, str]:
        headers = {
            "ce_specversion": SPEC_VERSION,
            "ce_id": self.id,
            "ce_source": self.source,
            "ce_type": self.type,
            "ce_time": self.time.isoformat(),
            "content-type": CONTENT_TYPE,
        }
        if self.subject is not None:
            headers["ce_subject"] = self.subject
        return headers

    @classmethod
    def from_headers(cls, headers: dict[str, str]) -> "Envelope":
        missing = [name for name in REQUIRED if not headers.get(name)]
        if missing:
            raise InvalidEnvelope(f"missing CloudEvents headers: {', '.join(missing)}")
        if headers["ce_specversion"] != SPEC_VERSION:
            raise InvalidEnvelope(f"unsupported ce_specversion {headers['ce_specversion']!r}")
        content_type = headers.get("content-type", CONTENT_TYPE).split(";")[0].strip()
        if content_type != CONTENT_TYPE:
            raise InvalidEnvelope(f"content-type {content_type!r} is not {CONTENT_TYPE}")
        time = datetime.now(UTC)
        if raw_time := headers.get("ce_time"):
            try:
                time = datetime.fromisoformat(raw_time)
            except ValueError:
                raise InvalidEnvelope(f"ce_time {raw_time!r} is not an RFC 3339 timestamp") from None
        return cls(
            type=headers["ce_type"],
            source=headers["ce_source"],
            id=headers["ce_id"],
            time=time,
            subject=headers.get("ce_subject"),
        )
