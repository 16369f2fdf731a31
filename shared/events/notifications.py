from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from shared.events.base import Event, event_type, personal
from shared.events.types import Identifier, Locale, NonEmpty, Purpose

Channel = Literal["email", "slack", "teams", "discord"]
# `alumnus_address`: an address an alumnus gave, written to before it is confirmed (and before
# the projection may know it): a confirmation link.
RecipientKind = Literal["alumnus", "leaver", "alumnus_address", "team_channel", "community_channel", "recruiter"]


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


class DeliveryRequest(DeliveryOutcome):
    """One message to send: an event's template, to one recipient, through one channel. Its
    `delivery_id` derives from (event, recipient, channel), so it is sent once."""

    address: NonEmpty = personal()  # an email address, or the name of a configured chat channel
    locale: Locale = Locale.EN
    purpose: Purpose | None = None  # None: transactional, sent without a consent
    context: dict[str, Any] = personal(default_factory=dict)  # the template's variables

    def facts(self) -> dict[str, Any]:
        """The delivery's identity and what it is, as its outcome events and records say it."""
        return {name: getattr(self, name) for name in DeliveryOutcome.model_fields}


@event_type("com.alumni.notification.email-requested.v1", topic="alumni.notification.email", key="delivery_id")
class EmailRequested(DeliveryRequest):
    """A transactional email to send (invitation, welcome, confirmation, referral status)."""


@event_type("com.alumni.notification.bulk-email-requested.v1", topic="alumni.notification.email-bulk", key="delivery_id")
class BulkEmailRequested(DeliveryRequest):
    """A consent-gated email to send (event invitations, news)."""


# Deliveries one record of `alumni.notification.email-bulk` carries at most.
MAX_EMAILS_PER_BATCH = 100


@event_type("com.alumni.notification.bulk-emails-requested.v1", topic="alumni.notification.email-bulk", key="batch_id")
class BulkEmailsRequested(Event):
    """Consent-gated emails of one mailing to send together, over reused SMTP connections (an
    invitation chunk is planned as a few of these). A delivery whose send fails in a batch goes
    on alone, as a `BulkEmailRequested`, retried and reported like any other."""

    batch_id: Identifier
    requests: list[BulkEmailRequested] = Field(min_length=1, max_length=MAX_EMAILS_PER_BATCH)


@event_type("com.alumni.notification.chat-post-requested.v1", topic="alumni.notification.chat", key="delivery_id")
class ChatPostRequested(DeliveryRequest):
    """A post to a chat channel (Slack, Microsoft Teams, Discord webhook)."""


@event_type(
    "com.alumni.notification.unsubscribe-requested.v1", topic="alumni.notification.unsubscribe-requested", key="alumnus_id"
)
class UnsubscribeRequested(Event):
    """An alumnus unsubscribed from a purpose with the link of an email: identity withdraws the consent."""

    alumnus_id: Identifier
    purpose: Purpose
    requested_at: datetime
