"""What the HTTP API accepts, every value bounded, unknown fields refused; a request that breaks
a rule is answered 422 naming each field and rule, never the value given (api.py)."""

from datetime import datetime
from typing import Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from shared.events.engagement import EventKind, TimeZoneName
from shared.events.types import CountryCode, Identifier, Locale, NonEmpty, Url, Willingness

MAX_CAPACITY = 100_000
MAX_CHECK_INS = 1000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AudienceRequest(_Strict):
    countries: list[CountryCode] = Field(default_factory=list, max_length=250)
    departure_years: list[int] = Field(default_factory=list, max_length=100)
    departments: list[NonEmpty] = Field(default_factory=list, max_length=100)
    skills: list[NonEmpty] = Field(default_factory=list, max_length=100)
    willing_to: list[Willingness] = Field(default_factory=list, max_length=len(Willingness))
    boomerangs_only: bool = False

    @pydantic.field_validator("departure_years")
    @classmethod
    def _years(cls, years: list[int]) -> list[int]:
        if any(not 1900 <= y <= 2199 for y in years):
            raise ValueError("departure years are between 1900 and 2199")
        return years


class HostedEventRequest(_Strict):
    title: NonEmpty
    kind: EventKind
    description: NonEmpty | None = None
    starts_at: datetime
    ends_at: datetime
    timezone: TimeZoneName
    location: NonEmpty | None = None
    online_url: Url | None = None
    locale: Locale = Locale.EN
    capacity: int | None = Field(default=None, ge=1, le=MAX_CAPACITY)
    speaker_alumni_ids: list[Identifier] = Field(default_factory=list, max_length=20)
    audience: AudienceRequest = Field(default_factory=AudienceRequest)


class HostedEventChanges(_Strict):
    title: NonEmpty | None = None
    description: NonEmpty | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    timezone: TimeZoneName | None = None
    location: NonEmpty | None = None
    online_url: Url | None = None


class Cancellation(_Strict):
    reason: NonEmpty | None = None


class RsvpRequest(_Strict):
    response: Literal["yes", "no", "maybe"]


class CheckInRequest(_Strict):
    alumnus_ids: list[Identifier] = Field(min_length=1, max_length=MAX_CHECK_INS)
