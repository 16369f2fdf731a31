"""What a message about a hosted event gets from the event itself, when it is sent: its time in
the event's time zone and the recipient's language, the one-click answer links of an
invitation (signed with the secret engagement checks them with, so no event carries a token),
and its calendar file (RFC 5545: the event id is the UID, `sequence` the SEQUENCE, the event's
time zone a VTIMEZONE). Everything comes from the event's `hosted_event` facts, never from
engagement's data."""

import json
import zoneinfo
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import icalendar

from shared.events.engagement import EventCancelled, EventInvitationsIssued
from shared.links import RsvpLinks

INVITATIONS = EventInvitationsIssued.event_type.type
CANCELLATION = EventCancelled.event_type.type
CALENDAR_PRODID = "-//Alumni network//Hosted events//EN"
# The calendar file of one event is the same for all its recipients but for its DTSTAMP (when
# it was made): made once and reused for this long by a mailing's thousands of messages.
CALENDAR_REUSE = timedelta(minutes=10)
CALENDARS_KEPT = 64

_DAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
}
_MONTHS = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"),
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"),
}


def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def _instant(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def local_time(hosted_event: dict[str, Any], locale: str = "en") -> str:
    """When the event starts, in its time zone and `locale`: "Friday 15 January 2027, 19:30
    (Europe/Paris)", "vendredi 15 janvier 2027, 19 h 30 (Europe/Paris)"."""
    language = locale if locale in _DAYS else "en"
    zone = hosted_event.get("timezone") or "UTC"
    start = _instant(hosted_event["starts_at"]).astimezone(_zone(zone))
    day = f"{_DAYS[language][start.weekday()]} {start.day} {_MONTHS[language][start.month - 1]} {start.year}"
    clock = f"{start.hour} h {start.minute:02d}" if language == "fr" else f"{start.hour:02d}:{start.minute:02d}"
    return f"{day}, {clock} ({zone})"


def calendar_file(hosted_event: dict[str, Any], uid_domain: str, stamp: datetime, *, method: str = "REQUEST") -> bytes:
    zone = _zone(hosted_event.get("timezone") or "UTC")
    start, end = _instant(hosted_event["starts_at"]).astimezone(zone), _instant(hosted_event["ends_at"]).astimezone(zone)
    calendar = icalendar.Calendar()
    calendar.add("prodid", CALENDAR_PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", method)
    entry = icalendar.Event()
    entry.add("uid", f"{hosted_event['event_id']}@{uid_domain}")
    entry.add("sequence", int(hosted_event.get("sequence") or 0))
    entry.add("dtstamp", stamp)
    entry.add("dtstart", start)
    entry.add("dtend", end)
    entry.add("summary", hosted_event["title"])
    if hosted_event.get("description"):
        entry.add("description", hosted_event["description"])
    if hosted_event.get("location"):
        entry.add("location", hosted_event["location"])
    if hosted_event.get("online_url"):
        entry.add("url", hosted_event["online_url"])
    entry.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    calendar.add_component(entry)
    if str(zone) != "UTC":
        first = start.date() - timedelta(days=366)
        calendar.add_missing_timezones(first_date=first, last_date=max(end.date(), first) + timedelta(days=366))
    return calendar.to_ical()


@dataclass(frozen=True)
class HostedEventMessages:
    engagement_base_url: str  # where engagement serves the one-click answers
    rsvp_links: RsvpLinks
    uid_domain: str
    _calendars: OrderedDict[str, tuple[datetime, bytes]] = field(default_factory=OrderedDict, compare=False, repr=False)

    def add_to(self, source_event_type: str, event: dict[str, Any], alumnus_id: str) -> dict[str, Any]:
        """The event as a template sees it: an invitation with its `rsvp_urls` (yes, no, maybe)."""
        if source_event_type != INVITATIONS or "hosted_event" not in event:
            return event
        hosted = event["hosted_event"]
        starts_at = _instant(hosted["starts_at"])
        base = self.engagement_base_url.rstrip("/")
        urls = {r: f"{base}/rsvp/{self.rsvp_links.token(hosted['event_id'], alumnus_id, r, starts_at)}" for r in RsvpLinks.RESPONSES}
        return event | {"rsvp_urls": urls}

    def calendar(self, source_event_type: str, event: dict[str, Any], stamp: datetime) -> tuple[str, bytes] | None:
        """The calendar file a message about a hosted event carries, with its METHOD (REQUEST, or
        CANCEL for a cancellation); None for a message without one (an event without its facts,
        a declined or waitlisted answer: no seat to put in a calendar)."""
        if not event.get("hosted_event") or event.get("status") in ("declined", "waitlisted"):
            return None
        method = "CANCEL" if source_event_type == CANCELLATION else "REQUEST"
        key = method + json.dumps(event["hosted_event"], sort_keys=True, default=str)
        made = self._calendars.get(key)
        if made is None or not timedelta(0) <= stamp - made[0] < CALENDAR_REUSE:
            made = (stamp, calendar_file(event["hosted_event"], self.uid_domain, stamp, method=method))
            self._calendars[key] = made
            while len(self._calendars) > CALENDARS_KEPT:
                self._calendars.popitem(last=False)
        return method, made[1]
