"""The engagement service's rules: hosted events (meetups, webinars, talks) from draft to
published, changed or cancelled, the alumni's answers (capacity and waitlist), and the mailings
that tell an audience in bounded chunks. No I/O here."""

import zoneinfo
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from services.engagement.audience import Audience
from services.engagement.id_ranges import next_span
from shared.events.engagement import EventCancelled, EventHosted, HostedEventDetails

DRAFT, PUBLISHED, CANCELLED = "draft", "published", "cancelled"
GOING, WAITLISTED, MAYBE, DECLINED = "going", "waitlisted", "maybe", "declined"
STATUSES = (GOING, WAITLISTED, MAYBE, DECLINED)
# What a change of these tells those going (with a calendar file of a higher SEQUENCE).
TIME_AND_PLACE = ("starts_at", "ends_at", "timezone", "location", "online_url")
CHANGEABLE = ("title", "description", *TIME_AND_PLACE)
INVITATIONS, REMINDERS, UPDATES = "invitations", "reminders", "updates"


class EngagementError(Exception):
    """A rule of hosted events broken."""


class InvalidHostedEvent(EngagementError):
    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{f}: {m}" for f, m in errors))
        self.errors = errors


class UnknownHostedEvent(EngagementError):
    pass


class NotInAudience(EngagementError):
    pass


class EventClosed(EngagementError):
    """Cancelled, or already started: answers and changes are over."""


def check_timezone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InvalidHostedEvent([("timezone", f"{name!r} is not an IANA time zone")]) from None


def check_times(starts_at: datetime, ends_at: datetime, now: datetime, *, field_prefix: str = "") -> None:
    errors = []
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        errors.append((f"{field_prefix}starts_at", "times need a UTC offset (e.g. 2027-01-15T18:30:00+01:00)"))
    elif ends_at <= starts_at:
        errors.append((f"{field_prefix}ends_at", "the event ends before it starts"))
    elif starts_at <= now:
        errors.append((f"{field_prefix}starts_at", "the event starts in the past"))
    if errors:
        raise InvalidHostedEvent(errors)


@dataclass
class HostedEvent:
    event_id: str
    title: str
    kind: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    audience: Audience
    locale: str = "en"
    description: str | None = None
    location: str | None = None
    online_url: str | None = None
    capacity: int | None = None
    speaker_alumni_ids: tuple[str, ...] = ()
    status: str = DRAFT
    sequence: int = 0
    created_at: datetime | None = None
    published_at: datetime | None = None
    cancelled_at: datetime | None = None
    reminded: bool = False
    seats_taken: int = 0  # kept by the repository, with conditional updates

    @classmethod
    def draft(cls, event_id: str, values: dict[str, Any], audience: Audience, now: datetime) -> "HostedEvent":
        check_timezone(values["timezone"])
        check_times(values["starts_at"], values["ends_at"], now)
        return cls(event_id=event_id, audience=audience, created_at=now, **values)

    def details(self) -> HostedEventDetails:
        return HostedEventDetails(
            event_id=self.event_id, title=self.title, kind=self.kind, description=self.description, starts_at=self.starts_at,
            ends_at=self.ends_at, timezone=self.timezone, location=self.location, online_url=self.online_url,
            locale=self.locale, sequence=self.sequence,
        )

    def started(self, now: datetime) -> bool:
        return now >= self.starts_at

    def check_open(self, now: datetime) -> None:
        """Answers and changes are taken only while the event is published and not started."""
        if self.status == CANCELLED:
            raise EventClosed(f"event {self.event_id} is cancelled")
        if self.status == DRAFT:
            raise UnknownHostedEvent(f"no published event {self.event_id}")
        if self.started(now):
            raise EventClosed(f"event {self.event_id} has started")

    def publish(self, now: datetime) -> EventHosted | None:
        """The announcement, the first time; None when already published (a repeated call)."""
        if self.status == CANCELLED:
            raise EventClosed(f"event {self.event_id} is cancelled")
        if self.status == PUBLISHED:
            return None
        if self.started(now):
            raise EventClosed(f"event {self.event_id} has started")
        self.status, self.published_at = PUBLISHED, now
        return EventHosted(
            event_id=self.event_id, title=self.title, kind=self.kind, description=self.description, starts_at=self.starts_at,
            ends_at=self.ends_at, location=self.location, online_url=self.online_url, locale=self.locale, capacity=self.capacity,
            speaker_alumni_ids=list(self.speaker_alumni_ids), countries=list(self.audience.countries),
        )

    def change(self, changes: dict[str, Any], now: datetime) -> list[str]:
        """Apply `changes`; the fields of time or place that changed after publishing (those going
        are told, with a higher SEQUENCE)."""
        if self.status == CANCELLED or (self.status == PUBLISHED and self.started(now)):
            raise EventClosed(f"event {self.event_id} can no longer change")
        after = replace(self, **{k: v for k, v in changes.items() if k in CHANGEABLE})
        check_timezone(after.timezone)
        check_times(after.starts_at, after.ends_at, now)
        moved = [f for f in TIME_AND_PLACE if getattr(after, f) != getattr(self, f)]
        for name in CHANGEABLE:
            setattr(self, name, getattr(after, name))
        if moved and self.status == PUBLISHED:
            self.sequence += 1
            if "starts_at" in moved:
                self.reminded = False  # a reminder for the new time
            return moved
        return []

    def cancel(self, reason: str | None, now: datetime) -> EventCancelled | None:
        if self.status == CANCELLED:
            return None
        if self.status == PUBLISHED and self.started(now):
            raise EventClosed(f"event {self.event_id} has started")
        if self.status == DRAFT:
            self.status, self.cancelled_at = CANCELLED, now
            return None
        self.status, self.cancelled_at, self.sequence = CANCELLED, now, self.sequence + 1
        return EventCancelled(event_id=self.event_id, reason=reason, cancelled_at=now, hosted_event=self.details())

    def reminder_due(self, now: datetime, hours: float) -> bool:
        return self.status == PUBLISHED and not self.reminded and self.starts_at - timedelta(hours=hours) <= now < self.starts_at


@dataclass(frozen=True)
class Answer:
    event_id: str
    alumnus_id: str
    response: str
    status: str
    answered_at: datetime
    ticket: int | None = None  # the waitlist's arrival order


def answer_status(previous: Answer | None, response: str) -> str | None:
    """The status an answer gives, or None when it asks for a seat (a yes from someone neither
    going nor waitlisted: going if a seat is free, else waitlisted)."""
    if response == "yes":
        return previous.status if previous and previous.status in (GOING, WAITLISTED) else None
    return MAYBE if response == "maybe" else DECLINED


def frees_a_seat(previous: Answer | None, status: str | None) -> bool:
    return previous is not None and previous.status == GOING and status not in (GOING, None)


@dataclass
class Mailing:
    """Telling an audience in chunks, each chunk one event naming its alumni: every alumnus up to
    `after` was told (alumni go in id order), so a chunk is never sent twice, even by two
    instances; `span` is the share of the id space the next chunk's range covers (id_ranges.py)."""

    mailing_id: str
    event_id: str
    kind: str
    sequence: int = 0
    after: str = ""
    chunk: int = 0
    done: bool = False
    changed: tuple[str, ...] = ()
    span: float = 1.0

    @classmethod
    def of(cls, hosted: HostedEvent, kind: str, changed: tuple[str, ...] = ()) -> "Mailing":
        return cls(f"{hosted.event_id}|{kind}|{hosted.sequence}", hosted.event_id, kind, hosted.sequence, changed=changed)

    def advance(self, told: list[str], chunk_size: int, end: str | None = None) -> None:
        """`told`: the alumni after `after` and up to `end` (None: to the last), at most a chunk."""
        full, before = len(told) >= chunk_size, self.after
        self.after = told[-1] if full or (told and end is None) else (end or before)
        self.span = next_span(self.span, before, told, chunk_size)
        self.chunk += 1
        self.done = not full and end is None
