"""Events of the alumnus aggregate (identity). `version` increases with every change of one
alumnus, so a projection can ignore a stale or repeated change."""

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from shared.events.base import Event, event_type, personal
from shared.events.people import Expertise, Language, Name, PersonalContact, Position, PublicProfiles, all_optional
from shared.events.types import EmailAddress, Identifier, Locale, NonEmpty, Purpose


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


# Alumni one import chunk names at most (as many as the leavers of one chunk of the file).
MAX_IMPORTED_ALUMNI = 1000


class ImportedAlumnus(BaseModel):
    """An alumnus an import registered, or a stint it added to one (a boomerang): what
    `AlumnusRegistered` says of a registration."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    alumnus_id: Identifier
    version: int
    boomerang: bool
    stint: Stint
    profile: AlumnusProfile
    consents: dict[Purpose, bool] = {}

    @classmethod
    def of(cls, registered: "AlumnusRegistered") -> "ImportedAlumnus":
        """The registration identity made, as a chunk names it (the same fields, validated)."""
        return cls.model_construct(**dict(registered))


@event_type("com.alumni.alumnus.imported.v1", topic="alumni.alumnus.imported", key="import_id")
class AlumniImported(Event):
    """Alumni registered by an import of historic leavers, in chunks; no message is sent.

    Every projection applies each alumnus as it applies `AlumnusRegistered`. Historic leavers were
    never asked: they consent to nothing and are sent no welcome. `batch` names the chunk of the
    import this follows; none when HR resolved a merge review of an imported leaver."""

    import_id: Identifier
    batch: int | None = Field(default=None, ge=0)
    alumni: list[ImportedAlumnus] = Field(max_length=MAX_IMPORTED_ALUMNI)


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


@event_type(
    "com.alumni.alumnus.email-confirmation-requested.v1", topic="alumni.alumnus.email-confirmation-requested", key="alumnus_id"
)
class EmailConfirmationRequested(Event):
    """A personal email entered an alumnus's record unconfirmed: notifications sends a link to it,
    whose token is derived from `link_id` with `EMAIL_CONFIRMATION_LINK_SECRET` (the key
    `link_key_id` names), which identity and notifications alone hold. Until it is confirmed,
    the address is never trusted to merge another leaver into this record."""

    alumnus_id: Identifier
    email: EmailAddress = personal()
    first_name: NonEmpty = personal()
    locale: Locale = Locale.EN
    link_id: Identifier
    link_key_id: Identifier
    expires_at: datetime


@event_type("com.alumni.alumnus.email-confirmed.v1", topic="alumni.alumnus.email-confirmed", key="alumnus_id")
class EmailConfirmed(Event):
    """The owner of an alumnus's personal email confirmed it by the link sent to it."""

    alumnus_id: Identifier
    version: int
    confirmed_at: datetime


@event_type("com.alumni.alumnus.merge-review-opened.v1", topic="alumni.alumnus.merge-review-opened", key="review_id")
class MergeReviewOpened(Event):
    """A leaver's personal email matches an alumnus's record that cannot be trusted for merging
    (the address is not confirmed, or the leaver only typed it): HR decides whether the leaver is
    that alumnus (a boomerang) or someone else. Ids only."""

    review_id: Identifier
    employee_id: Identifier
    alumnus_id: Identifier  # the record the address matched
    opened_at: datetime
