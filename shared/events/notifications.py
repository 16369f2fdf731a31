from datetime import datetime
from typing import Literal

from shared.events.base import Event, event_type
from shared.events.types import Identifier, NonEmpty

Channel = Literal["email", "slack", "teams", "discord"]
RecipientKind = Literal["alumnus", "team_channel", "community_channel", "recruiter"]


class DeliveryOutcome(Event):
    """One delivery: an event's message to one recipient through one channel."""

    delivery_id: Identifier
    source_event_id: Identifier
    source_event_type: NonEmpty
    recipient_kind: RecipientKind
    recipient_id: Identifier
    channel: Channel
    template: NonEmpty


@event_type("com.alumni.notification.delivered.v1", topic="alumni.notification.delivered", key="delivery_id")
class NotificationDelivered(DeliveryOutcome):
    """A message reached its channel."""

    delivered_at: datetime


@event_type("com.alumni.notification.failed.v1", topic="alumni.notification.failed", key="delivery_id")
class NotificationFailed(DeliveryOutcome):
    """A message could not be delivered: refused for good, or retries exhausted."""

    reason: NonEmpty
    permanent: bool
    attempts: int
    failed_at: datetime
