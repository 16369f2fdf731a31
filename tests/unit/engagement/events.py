"""Identity's events as engagement reads them, for the engagement tests."""

from datetime import UTC, date, datetime

from shared.events.alumni import AlumnusErased, AlumnusProfile, AlumnusRegistered, AlumnusUpdated, ConsentChanged, Stint
from shared.events.types import Purpose

AT = datetime(2026, 11, 22, 9, tzinfo=UTC)


def profile(**fields) -> AlumnusProfile:
    return AlumnusProfile.model_validate({"first_name": "Inès", "last_name": "Moreau", "locale": "en"} | fields)


def registered(alumnus_id: str, *, version: int = 1, events: bool = True, left: int = 2024, boomerang: bool = False, **fields) -> AlumnusRegistered:
    return AlumnusRegistered(
        alumnus_id=alumnus_id, version=version, boomerang=boomerang,
        stint=Stint(employee_id=f"E-{alumnus_id}-{left}", hire_date=date(2015, 1, 5), departure_date=date(left, 6, 30)),
        profile=profile(**fields), consents={Purpose.EVENTS: events},
    )


def updated(alumnus_id: str, version: int, **fields) -> AlumnusUpdated:
    return AlumnusUpdated(alumnus_id=alumnus_id, version=version, changed=sorted(fields), profile=profile(**fields))


def consent(alumnus_id: str, version: int, granted: bool) -> ConsentChanged:
    return ConsentChanged(alumnus_id=alumnus_id, version=version, purpose=Purpose.EVENTS, granted=granted, source="alumnus", changed_at=AT)


def erased(alumnus_id: str, version: int = 9) -> AlumnusErased:
    return AlumnusErased(alumnus_id=alumnus_id, employee_ids=[f"E-{alumnus_id}"], version=version, erased_at=AT)
