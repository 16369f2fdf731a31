"""The event catalog: CloudEvents envelopes and the pydantic payload of every event type."""

from shared.events import alumni, engagement, hris, notifications, offboarding, referrals  # noqa: F401  (registers the catalog)
from shared.events.base import Event, EventType, UnknownEventType, registry
from shared.events.envelope import Envelope, InvalidEnvelope

__all__ = ["Envelope", "Event", "EventType", "InvalidEnvelope", "UnknownEventType", "registry"]
