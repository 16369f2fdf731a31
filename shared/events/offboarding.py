from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.events.base import Event, event_type, personal
from shared.events.people import Expertise, Language, Name, PersonalContact, Position, PublicProfiles, WorkContact
from shared.events.types import DepartureReason, EmailAddress, Identifier, Locale, NonEmpty, Purpose, Url


class Leaver(Language, Position, PersonalContact, WorkContact, Name):
    """Who left: carried only by eligible outcomes, which identity needs to create the alumnus."""


class ExitProfile(Expertise, PublicProfiles, PersonalContact):
    """What the leaver told the exit form (empty when they did not answer it in time). The
    personal email and phone given there are confirmed by the leaver: verified."""

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
    # The personal email the HRIS has for the leaver (`leaver.personal_email` is the one they
    # typed in the exit form when they did): only this one may match a returning alumnus's
    # confirmed address without HR's review. Absent in completions made before it existed.
    hris_personal_email: EmailAddress | None = personal(default=None)


@event_type(
    "com.alumni.offboarding.exit-form-issued.v1", topic="alumni.offboarding.exit-form-issued", key="employee_id"
)
class ExitFormIssued(Event):
    """Superseded by v2, which keeps the link's token out of the event; still read while
    events of this version may be on the topic."""

    case_id: Identifier
    employee_id: Identifier
    first_name: NonEmpty = personal()
    email: EmailAddress = personal()
    locale: Locale = Locale.EN
    form_url: Url = personal()  # holds the one-time token: a secret
    expires_at: datetime


@event_type(
    "com.alumni.offboarding.exit-form-issued.v2", topic="alumni.offboarding.exit-form-issued", key="employee_id"
)
class ExitFormIssuedV2(Event):
    """A leaver gets a one-time link to the exit form (notifications sends it). The link's token
    is not in the event: it is derived from `link_id` with `EXIT_FORM_LINK_SECRET` (the key
    `link_key_id` names), which offboarding and notifications alone hold."""

    case_id: Identifier
    employee_id: Identifier
    first_name: NonEmpty = personal()
    email: EmailAddress = personal()
    locale: Locale = Locale.EN
    link_id: Identifier
    link_key_id: Identifier
    expires_at: datetime


@event_type(
    "com.alumni.offboarding.exit-form-submitted.v1",
    topic="alumni.offboarding.exit-form-submitted",
    key="employee_id",
)
class ExitFormSubmitted(Event):
    """A leaver answered the exit form after their case completed: identity updates the alumnus."""

    case_id: Identifier
    employee_id: Identifier
    hire_date: date
    profile: ExitProfile
    submitted_at: datetime


@event_type("com.alumni.offboarding.cancelled.v1", topic="alumni.offboarding.cancelled", key="employee_id")
class OffboardingCancelled(Event):
    """A departure was cancelled. Before completion the case closes with no alumnus; after
    completion the alumnus stays and HR is told (`after_completion`)."""

    case_id: Identifier
    employee_id: Identifier
    hire_date: date
    after_completion: bool
    reason: NonEmpty | None = None
    cancelled_at: datetime


# Leavers (or alumni) one import chunk names at most: a batch of the file is at most this many rows.
MAX_IMPORT_CHUNK = 1000


class ImportedLeaver(BaseModel):
    """One eligible historic leaver of an import: the departure's facts and who left."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    employee_id: Identifier
    hire_date: date
    departure_date: date
    departure_reason: DepartureReason
    rehire_eligible: bool | None = None
    leaver: Leaver


@event_type(
    "com.alumni.offboarding.leavers-imported.v1", topic="alumni.offboarding.leavers-imported", key="import_id"
)
class LeaversImported(Event):
    """Historic leavers an operator imported, in chunks: the eligible ones, for identity.

    One chunk is one batch of the file, or a part of one that would not fit in one event: the
    eligible leavers offboarding had never seen, for identity to register as alumni, with no
    exit form and no welcome. Excluded, erased and known leavers are only counted by
    offboarding; nothing of them travels."""

    import_id: Identifier
    batch: int = Field(ge=0)
    part: int = Field(default=0, ge=0)
    leavers: list[ImportedLeaver] = Field(max_length=MAX_IMPORT_CHUNK)
