"""Messages about hosted events, in memory: an invitation to the alumni engagement names carries
one-click links engagement can read (made at send time, never in an event) and a calendar file
(UID from the event, SEQUENCE, the event's time zone); times are shown in the event's zone and
the recipient's language."""

from datetime import UTC, datetime, timedelta

import icalendar

from services.notifications.hosted_events import calendar_file, local_time
from shared.events.engagement import HostedEventDetails, RsvpConfirmed
from tests.unit.notifications.events import invited, registered
from tests.unit.notifications.fakes import ENGAGEMENT_URL, RSVP_LINKS, InMemoryNotifications

STARTS = datetime(2027, 1, 15, 18, 30, tzinfo=UTC)


def test_times_are_shown_in_the_event_s_zone_and_the_recipient_s_language() -> None:
    hosted = {"starts_at": STARTS.isoformat(), "timezone": "Europe/Paris"}
    assert local_time(hosted, "fr") == "vendredi 15 janvier 2027, 19 h 30 (Europe/Paris)"
    assert local_time(hosted, "en") == "Friday 15 January 2027, 19:30 (Europe/Paris)"
    assert local_time({"starts_at": STARTS.isoformat(), "timezone": "America/New_York"}, "en").startswith("Friday 15 January 2027, 13:30")


def test_the_calendar_file_keeps_the_uid_and_carries_the_sequence_and_the_zone() -> None:
    details = HostedEventDetails(event_id="evt_1", title="Afterwork; des anciens", kind="meetup", starts_at=STARTS,
                                 ends_at=STARTS + timedelta(hours=2), timezone="Europe/Paris", location="Lyon", sequence=3)
    calendar = icalendar.Calendar.from_ical(calendar_file(details.model_dump(mode="json"), "alumni.example", STARTS))
    [entry] = calendar.walk("VEVENT")
    assert (str(entry["UID"]), int(entry["SEQUENCE"]), str(entry["SUMMARY"])) == ("evt_1@alumni.example", 3, "Afterwork; des anciens")
    assert entry.decoded("DTSTART") == STARTS and str(entry["DTSTART"].params["TZID"]) == "Europe/Paris"
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/Paris"]


async def test_an_invitation_carries_links_engagement_reads_and_its_calendar_file() -> None:
    service = InMemoryNotifications()
    await service.receive(registered("alm_1", consents={"events": True}, locale="fr"))
    await service.receive(invited("evt_1", ["alm_1"]))
    await service.deliver()

    [invitation] = [m for m in service.mailer.sent if m.email.subject.startswith("Vous êtes invité")]
    links = [line.split(" : ", 1)[1] for line in invitation.email.text.splitlines() if line.startswith(("Oui :", "Non :", "Peut-être :"))]
    assert [RSVP_LINKS.read(u.removeprefix(f"{ENGAGEMENT_URL}/rsvp/"), STARTS - timedelta(days=1)) for u in links] == [
        ("evt_1", "alm_1", "yes"), ("evt_1", "alm_1", "maybe"), ("evt_1", "alm_1", "no"),
    ]
    assert not any("rsvp" in str(r.context) for r in service.requests)  # no event carries a link's token
    [attachment] = invitation.email.attachments
    assert attachment.content_type == "text/calendar; method=REQUEST"
    assert int(icalendar.Calendar.from_ical(attachment.data).walk("VEVENT")[0]["SEQUENCE"]) == 0


async def test_a_declined_or_waitlisted_answer_has_no_calendar_file() -> None:
    service = InMemoryNotifications()
    await service.receive(registered("alm_1"))
    hosted = invited("evt_1", ["alm_1"]).hosted_event
    for status in ("going", "waitlisted", "declined"):
        await service.receive(RsvpConfirmed(event_id="evt_1", alumnus_id="alm_1", status=status, waitlist_position=2 if status == "waitlisted" else None,
                                            hosted_event=hosted, confirmed_at=STARTS - timedelta(days=3)))
    await service.deliver()
    confirmations = [m.email for m in service.mailer.sent if "Afterwork" in m.email.subject]
    assert [(e.subject.split(":")[0], len(e.attachments)) for e in confirmations] == [
        ("Your seat is booked", 1), ("You are on the waiting list", 0), ("Your answer is recorded", 0),
    ]
    assert "number 2 on the waiting list" in confirmations[1].text
