from datetime import datetime
from typing import Literal

from shared.events.base import Event, event_type
from shared.events.types import Identifier, NonEmpty

Channel = Literal["email", "slack", "teams", "discord"]
RecipientKind = Literal["alumnus", "team_channel", "community_channel", "recruiter"]


@event_type("com.alumni.notification.delivered.v1", topic="alumni.notification.delivered", key="delivery_id")
class NotificationDelivered(Event):
    """A message reached its channel."""

    delivery_id: Identifier
    source_event_id: Identifier
    source_event_type: NonEmpty
    recipient_kind: RecipientKind
    recipient_id: Identifier
    channel: Channel
    template: NonEmpty
    delivered_at: datetime


@event_type("com.alumni.notification.failed.v1", topic="alumni.notification.failed", key="delivery_id")
class NotificationFailed(Event):
    """A message could not be delivered: refused for good, or retries exhausted."""

    delivery_id: Identifier
    source_event_id: Identifier
    source_event_type: NonEmpty
    recipient_kind: RecipientKind
    recipient_id: Identifier
    channel: Channel
    template: NonEmpty
    reason: NonEmpty
    permanent: bool
    attempts: int
    failed_at: datetime
