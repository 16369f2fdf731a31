from datetime import datetime
from typing import Literal

from pydantic import Field, model_validator

from shared.events.base import Event, event_type
from shared.events.types import CountryCode, Identifier, Locale, NonEmpty, Url

EventKind = Literal["meetup", "webinar", "brown_bag", "conference"]


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
