"""Events of the alumnus aggregate (identity). `version` increases with every change of one
alumnus, so a projection can ignore a stale or repeated change."""

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from shared.events.base import Event, event_type
from shared.events.people import Expertise, Language, Name, PersonalContact, Position, PublicProfiles, all_optional
from shared.events.types import Identifier, NonEmpty, Purpose


class Stint(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    employee_id: Identifier
    hire_date: date
    departure_date: date


class AlumnusProfile(Expertise, Language, Position, PublicProfiles, PersonalContact, Name):
    """An alumnus as identity keeps them; every change is announced with the whole profile."""


ProfileChanges = all_optional(
    AlumnusProfile, "ProfileChanges", "Fields of the profile to change; those left out stay as they are, `null` clears an optional one."
)


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
    changed: list[Identifier] = Field(max_length=50)
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
    employee_ids: list[Identifier] = Field(max_length=100)
    version: int
    erased_at: datetime
