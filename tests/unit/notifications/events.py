"""Events as identity and engagement send them, for the notifications tests."""

from datetime import UTC, date, datetime, timedelta

from shared.events.alumni import (
    AlumniImported, AlumnusErased, AlumnusProfile, AlumnusRegistered, AlumnusUpdated, ConsentChanged, ImportedAlumnus, Stint,
)
from shared.events.engagement import EventCancelled, EventHosted, EventInvitationsIssued, HostedEventDetails, RsvpRecorded
from shared.events.types import Purpose

AT = datetime(2026, 11, 22, 9, tzinfo=UTC)


def profile(alumnus_id: str, **fields) -> AlumnusProfile:
    return AlumnusProfile.model_validate(
        {"first_name": "Inès", "last_name": "Moreau", "personal_email": f"{alumnus_id}@home.example", "locale": "en"} | fields
    )


def registered(alumnus_id: str = "alm_1", *, version: int = 1, consents: dict[str, bool] | None = None, **fields) -> AlumnusRegistered:
    return AlumnusRegistered(
        alumnus_id=alumnus_id, version=version, boomerang=False,
        stint=Stint(employee_id=f"E-{alumnus_id}", hire_date=date(2019, 1, 7), departure_date=date(2026, 11, 20)),
        profile=profile(alumnus_id, **fields), consents=consents or {},
    )


def updated(alumnus_id: str, version: int, **fields) -> AlumnusUpdated:
    return AlumnusUpdated(alumnus_id=alumnus_id, version=version, changed=sorted(fields), profile=profile(alumnus_id, **fields))


def consent_changed(alumnus_id: str, version: int, purpose: str, granted: bool) -> ConsentChanged:
    return ConsentChanged(alumnus_id=alumnus_id, version=version, purpose=Purpose(purpose), granted=granted, source="alumnus", changed_at=AT)


def erased(alumnus_id: str, version: int = 2) -> AlumnusErased:
    return AlumnusErased(alumnus_id=alumnus_id, employee_ids=[f"E-{alumnus_id}"], version=version, erased_at=AT)


def hosted(hosted_event_id: str = "evt_1", *, countries: list[str] | None = None) -> EventHosted:
    starts = datetime(2027, 1, 15, 18, 30, tzinfo=UTC)
    return EventHosted(
        event_id=hosted_event_id, title="Afterwork des anciens", kind="meetup", starts_at=starts, ends_at=starts + timedelta(hours=2),
        location="Lyon", countries=countries or [],
    )


def rsvp(hosted_event_id: str, alumnus_id: str, response: str) -> RsvpRecorded:
    return RsvpRecorded(event_id=hosted_event_id, alumnus_id=alumnus_id, response=response, recorded_at=AT)


def cancelled(hosted_event_id: str) -> EventCancelled:
    return EventCancelled(event_id=hosted_event_id, reason="The venue is closed.", cancelled_at=AT)


def invited(hosted_event_id: str, alumnus_ids: list[str], *, chunk: int = 0) -> EventInvitationsIssued:
    """Engagement's invitations: the audience it decided, named."""
    starts = datetime(2027, 1, 15, 18, 30, tzinfo=UTC)
    details = HostedEventDetails(
        event_id=hosted_event_id, title="Afterwork des anciens", kind="meetup", starts_at=starts, ends_at=starts + timedelta(hours=2),
        timezone="Europe/Paris", location="Lyon", description="Apéritif & retrouvailles <3",
    )
    return EventInvitationsIssued(event_id=hosted_event_id, hosted_event=details, alumnus_ids=alumnus_ids, chunk=chunk)


def imported(*alumni: AlumnusRegistered, import_id: str = "import-0001", batch: int = 0) -> AlumniImported:
    """An import's chunk as identity announces it: registrations, many at a time."""
    return AlumniImported(import_id=import_id, batch=batch, alumni=[ImportedAlumnus.of(a) for a in alumni])
