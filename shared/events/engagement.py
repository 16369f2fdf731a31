from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from shared.events.base import Event, event_type
from shared.events.types import CountryCode, Identifier, Locale, NonEmpty, Url

EventKind = Literal["meetup", "webinar", "brown_bag", "conference"]
RsvpStatus = Literal["going", "waitlisted", "maybe", "declined"]
# An IANA time zone name (checked against the zone database where an event is created).
TimeZoneName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_+\-/]+$")]
MAX_RECIPIENTS_PER_EVENT = 1000  # alumni named by one notice; a larger audience is several notices


class HostedEventDetails(BaseModel):
    """What a message about a hosted event shows and its calendar file holds: the same `event_id`
    is the calendar's UID, and `sequence` grows with every change of its time or place."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_id: Identifier
    title: NonEmpty
    kind: EventKind
    description: NonEmpty | None = None
    starts_at: datetime
    ends_at: datetime
    timezone: TimeZoneName = "UTC"
    location: NonEmpty | None = None
    online_url: Url | None = None
    locale: Locale = Locale.EN
    sequence: int = Field(default=0, ge=0, le=1_000_000)


@event_type("com.alumni.event.hosted.v1", topic="alumni.event.hosted", key="event_id")
class EventHosted(Event):
    """The company hosts an alumni event; alumni who consented to events are invited."""

    event_id: Identifier
    title: NonEmpty
    kind: EventKind
    description: NonEmpty | None = None
    starts_at: datetime
    ends_at: datetime
    location: NonEmpty | None = None
    online_url: Url | None = None
    locale: Locale = Locale.EN
    capacity: int | None = None
    speaker_alumni_ids: list[Identifier] = Field(default_factory=list, max_length=20)
    countries: list[CountryCode] = Field(default_factory=list, max_length=250)  # empty: every country

    @model_validator(mode="after")
    def _ends_after_start(self) -> "EventHosted":
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at is not after starts_at")
        return self


@event_type("com.alumni.event.rsvp-recorded.v1", topic="alumni.event.rsvp-recorded", key="event_id")
class RsvpRecorded(Event):
    """An alumnus answered an event invitation."""

    event_id: Identifier
    alumnus_id: Identifier
    response: Literal["yes", "no", "maybe"]
    recorded_at: datetime


@event_type("com.alumni.event.cancelled.v1", topic="alumni.event.cancelled", key="event_id")
class EventCancelled(Event):
    """A hosted event was cancelled; those who answered yes or maybe are told."""

    event_id: Identifier
    reason: NonEmpty | None = None
    cancelled_at: datetime
    # Added after v1 (optional, so every v1 event stays valid): the event's facts, SEQUENCE raised,
    # for the calendar file that removes it from the calendars.
    hosted_event: HostedEventDetails | None = None


# --- the facts engagement adds to the three above (new types: the v1 ones keep their meaning) ---

class _Notice(Event):
    event_id: Identifier
    hosted_event: HostedEventDetails
    alumnus_ids: list[Identifier] = Field(max_length=MAX_RECIPIENTS_PER_EVENT)


@event_type("com.alumni.event.invitations-issued.v1", topic="alumni.event.invitations-issued", key="event_id")
class EventInvitationsIssued(_Notice):
    """Engagement invited these alumni to a published event (they matched its audience, consented
    to events and are not erased); a large audience is invited in several such chunks, each alumnus once."""

    chunk: int = Field(ge=0)


@event_type("com.alumni.event.rsvp-confirmed.v1", topic="alumni.event.rsvp-confirmed", key="event_id")
class RsvpConfirmed(Event):
    """What an alumnus's answer made of them: going, waitlisted (with their place), maybe or declined."""

    event_id: Identifier
    alumnus_id: Identifier
    status: RsvpStatus
    waitlist_position: int | None = Field(default=None, ge=1)
    hosted_event: HostedEventDetails
    confirmed_at: datetime


@event_type("com.alumni.event.waitlist-promoted.v1", topic="alumni.event.waitlist-promoted", key="event_id")
class WaitlistPromoted(Event):
    """A seat freed up: the first waitlisted alumnus is now going."""

    event_id: Identifier
    alumnus_id: Identifier
    hosted_event: HostedEventDetails
    promoted_at: datetime


@event_type("com.alumni.event.updated.v1", topic="alumni.event.updated", key="event_id")
class EventUpdated(_Notice):
    """A published event's time or place changed (its `sequence` grew); these alumni, going, are told."""

    changed: list[Literal["starts_at", "ends_at", "timezone", "location", "online_url"]] = Field(max_length=5)


@event_type("com.alumni.event.reminder-due.v1", topic="alumni.event.reminder-due", key="event_id")
class EventReminderDue(_Notice):
    """An event starts soon (EVENT_REMINDER_HOURS): these alumni, going, are reminded."""


@event_type("com.alumni.event.attendance-recorded.v1", topic="alumni.event.attendance-recorded", key="event_id")
class AttendanceRecorded(Event):
    """These alumni came to the event (checked in)."""

    event_id: Identifier
    alumnus_ids: list[Identifier] = Field(max_length=MAX_RECIPIENTS_PER_EVENT)
    recorded_at: datetime
