"""Events of the alumnus aggregate (identity). `version` increases with every change of one
alumnus, so a projection can ignore a stale or repeated change."""

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, EmailStr

from shared.events.base import Event, event_type, personal
from shared.events.types import CountryCode, E164Phone, Identifier, Locale, NonEmpty, Purpose, Url, Willingness


class Stint(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    employee_id: Identifier
    hire_date: date
    departure_date: date


class AlumnusProfile(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    first_name: NonEmpty = personal()
    last_name: NonEmpty = personal()
    personal_email: EmailStr | None = personal(default=None)
    phone: E164Phone | None = personal(default=None)
    linkedin_url: Url | None = personal(default=None)
    profile_urls: list[Url] = personal(default_factory=list)
    department: NonEmpty | None = None
    job_title: NonEmpty | None = None
    country: CountryCode | None = None
    city: NonEmpty | None = None
    locale: Locale = Locale.EN
    skills: list[NonEmpty] = []
    willing_to: list[Willingness] = []


@event_type("com.alumni.alumnus.registered.v1", topic="alumni.alumnus.registered", key="alumnus_id")
class AlumnusRegistered(Event):
    """A new alumnus, or a new employment stint for one who left before (a boomerang)."""

    alumnus_id: Identifier
    version: int
    boomerang: bool
    stint: Stint
    profile: AlumnusProfile
    consents: dict[Purpose, bool] = {}


@event_type("com.alumni.alumnus.updated.v1", topic="alumni.alumnus.updated", key="alumnus_id")
class AlumnusUpdated(Event):
    """An alumnus's profile changed; `profile` is the whole profile after the change."""

    alumnus_id: Identifier
    version: int
    changed: list[str]
    profile: AlumnusProfile


@event_type("com.alumni.alumnus.consent-changed.v1", topic="alumni.alumnus.consent-changed", key="alumnus_id")
class ConsentChanged(Event):
    """An alumnus granted or withdrew consent for one purpose."""

    alumnus_id: Identifier
    version: int
    purpose: Purpose
    granted: bool
    source: NonEmpty
    changed_at: datetime


@event_type("com.alumni.alumnus.erased.v1", topic="alumni.alumnus.erased", key="alumnus_id")
class AlumnusErased(Event):
    """An alumnus was erased (GDPR): every service deletes what it keeps about them, found by
    the alumnus id or by the employee ids of their stints."""

    alumnus_id: Identifier
    employee_ids: list[Identifier]
    version: int
    erased_at: datetime
