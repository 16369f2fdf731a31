from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr

from shared.events.base import Event, event_type, personal
from shared.events.types import (
    CountryCode,
    DepartureReason,
    E164Phone,
    Identifier,
    Locale,
    NonEmpty,
    Purpose,
    Url,
    Willingness,
)


class Leaver(BaseModel):
    """Who left: carried only by eligible outcomes, which identity needs to create the alumnus."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    first_name: NonEmpty = personal()
    last_name: NonEmpty = personal()
    work_email: EmailStr = personal()
    personal_email: EmailStr | None = personal(default=None)
    phone: E164Phone | None = personal(default=None)
    department: NonEmpty | None = None
    job_title: NonEmpty | None = None
    country: CountryCode | None = None
    city: NonEmpty | None = None
    locale: Locale = Locale.EN


class ExitProfile(BaseModel):
    """What the leaver told the exit form (empty when they did not answer it in time)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    linkedin_url: Url | None = personal(default=None)
    profile_urls: list[Url] = personal(default_factory=list)
    skills: list[NonEmpty] = []
    willing_to: list[Willingness] = []
    consents: dict[Purpose, bool] = {}


@event_type("com.alumni.offboarding.completed.v1", topic="alumni.offboarding.completed", key="employee_id")
class OffboardingCompleted(Event):
    """An exit case ended: the leaver is eligible to join the alumni network, or excluded."""

    case_id: Identifier
    employee_id: Identifier
    hire_date: date
    departure_date: date
    departure_reason: DepartureReason
    rehire_eligible: bool | None = None
    outcome: Literal["eligible", "excluded"]
    exclusion_reason: NonEmpty | None = None
    leaver: Leaver | None = None
    profile: ExitProfile | None = None
