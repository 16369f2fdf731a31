"""Alumni: one master record per person, with their employment stints, profile and consents.

Each change of an alumnus increments its `version` and yields the event announcing it. Consent
is given or withdrawn one purpose at a time, each change timestamped with its source and kept.
A completion for a person already known (same employee id, or same verified personal email)
adds a stint to their record: a boomerang.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from shared.events.alumni import (
    AlumnusErased,
    AlumnusProfile,
    AlumnusRegistered,
    AlumnusUpdated,
    ConsentChanged,
    Stint,
)
from shared.events.offboarding import ExitProfile, OffboardingCompleted
from shared.events.types import Purpose

EXIT_FORM = "exit-form"
UNSUBSCRIBE_LINK = "unsubscribe-link"


class NotRegistrable(Exception):
    """A completion that cannot make an alumnus (an eligible one without the leaver's data)."""


class AlumnusNotYetRegistered(Exception):
    """Exit-form answers for a stint whose completion has not been handled yet (it waits)."""


def email_to_match(completed: OffboardingCompleted) -> str | None:
    """The personal email that identifies a returning person under a new employee id: the one
    the leaver confirmed in the exit form, else the one the HRIS has."""
    email = completed.profile.personal_email if completed.profile else None
    email = email or (completed.leaver.personal_email if completed.leaver else None)
    return str(email) if email else None


@dataclass(frozen=True)
class Consent:
    granted: bool
    changed_at: datetime
    source: str


@dataclass(frozen=True)
class ConsentRecord:
    """One line of the consent ledger."""

    purpose: Purpose
    granted: bool
    changed_at: datetime
    source: str


@dataclass
class Alumnus:
    alumnus_id: str
    profile: AlumnusProfile
    stints: list[Stint]
    consents: dict[Purpose, Consent] = field(default_factory=dict)
    personal_email_verified: bool = False
    version: int = 0
    registered_at: datetime | None = None
    updated_at: datetime | None = None
    ledger: list[ConsentRecord] = field(default_factory=list)  # changes not yet saved

    # --- registration ---------------------------------------------------------------------

    @classmethod
    def register(cls, completed: OffboardingCompleted, alumnus_id: str, now: datetime) -> tuple["Alumnus", AlumnusRegistered]:
        alumnus = cls(alumnus_id=alumnus_id, profile=_profile(completed), stints=[], registered_at=now)
        alumnus._verify_email(completed.profile)
        for purpose, granted in (completed.profile.consents if completed.profile else {}).items():
            alumnus._record_consent(purpose, granted, EXIT_FORM, now)
        return alumnus, alumnus._add_stint(completed, boomerang=False, now=now)

    def has_stint(self, employee_id: str, hire_date: date) -> bool:
        return any(s.employee_id == employee_id and s.hire_date == hire_date for s in self.stints)

    def add_stint(self, completed: OffboardingCompleted, now: datetime) -> AlumnusRegistered | None:
        """A boomerang left again: a new stint on the same record. None when the stint is known."""
        if self.has_stint(completed.employee_id, completed.hire_date):
            return None
        latest = _profile(completed)
        # The person's latest position and contact details; what they told us before stays.
        self.profile = self.profile.model_copy(
            update={
                k: v for k, v in latest.model_dump().items()
                if v not in (None, [], "") and k in {"department", "job_title", "country", "city", "locale", "personal_email", "phone"}
            }
        )
        self._verify_email(completed.profile)
        for purpose, granted in (completed.profile.consents if completed.profile else {}).items():
            self._record_consent(purpose, granted, EXIT_FORM, now)
        return self._add_stint(completed, boomerang=True, now=now)

    def _add_stint(self, completed: OffboardingCompleted, *, boomerang: bool, now: datetime) -> AlumnusRegistered:
        self.stints.append(Stint(employee_id=completed.employee_id, hire_date=completed.hire_date, departure_date=completed.departure_date))
        self._changed(now)
        return AlumnusRegistered(
            alumnus_id=self.alumnus_id,
            version=self.version,
            boomerang=boomerang,
            stint=self.stints[-1],
            profile=self.profile,
            consents=self.granted_consents(),
        )

    def _verify_email(self, answers: ExitProfile | None) -> None:
        # An email the leaver confirmed in the exit form is verified.
        if answers is not None and answers.personal_email is not None:
            self.personal_email_verified = True

    # --- profile and consent --------------------------------------------------------------

    def update_profile(self, changes: dict[str, Any], now: datetime) -> AlumnusUpdated | None:
        """Apply changes (validated as the profile's fields); None when nothing actually changed."""
        changes = _comparable(changes)
        current = self.profile.model_dump()
        changed = sorted(k for k, v in changes.items() if current.get(k) != v)
        if not changed:
            return None
        if "personal_email" in changed:
            self.personal_email_verified = False  # a new address is not verified until confirmed
        self.profile = AlumnusProfile.model_validate(current | {k: changes[k] for k in changed})
        self._changed(now)
        return AlumnusUpdated(alumnus_id=self.alumnus_id, version=self.version, changed=changed, profile=self.profile)

    def set_consent(self, purpose: Purpose, granted: bool, source: str, now: datetime) -> ConsentChanged | None:
        """None when the consent is already so (nothing to record)."""
        current = self.consents.get(purpose)
        if current is not None and current.granted == granted:
            return None
        self._record_consent(purpose, granted, source, now)
        self._changed(now)
        return ConsentChanged(alumnus_id=self.alumnus_id, version=self.version, purpose=purpose, granted=granted, source=source, changed_at=now)

    def apply_exit_form(self, answers: ExitProfile, now: datetime) -> list[AlumnusUpdated | ConsentChanged]:
        """Answers given after the case completed update the record."""
        changes = {
            k: v for k, v in {
                "personal_email": answers.personal_email,
                "phone": answers.phone,
                "linkedin_url": answers.linkedin_url,
                "profile_urls": answers.profile_urls or None,
                "skills": answers.skills or None,
                "willing_to": answers.willing_to or None,
            }.items() if v is not None
        }
        events: list[AlumnusUpdated | ConsentChanged] = []
        if updated := self.update_profile(changes, now):
            events.append(updated)
        self._verify_email(answers)
        for purpose, granted in answers.consents.items():
            if changed := self.set_consent(purpose, granted, EXIT_FORM, now):
                events.append(changed)
        return events

    def granted_consents(self) -> dict[Purpose, bool]:
        return {p: c.granted for p, c in self.consents.items()}

    def consents_to(self, purpose: Purpose) -> bool:
        consent = self.consents.get(purpose)
        return consent is not None and consent.granted

    def _record_consent(self, purpose: Purpose, granted: bool, source: str, now: datetime) -> None:
        self.consents[purpose] = Consent(granted, now, source)
        self.ledger.append(ConsentRecord(purpose, granted, now, source))

    def _changed(self, now: datetime) -> None:
        self.version += 1
        self.updated_at = now

    # --- GDPR -----------------------------------------------------------------------------

    def erase(self, now: datetime) -> AlumnusErased:
        return AlumnusErased(
            alumnus_id=self.alumnus_id,
            employee_ids=[s.employee_id for s in self.stints],
            version=self.version + 1,
            erased_at=now,
        )


def _comparable(changes: dict[str, Any]) -> dict[str, Any]:
    """Values as the profile holds them once dumped (URLs and enums as strings)."""
    return AlumnusProfile.model_validate({"first_name": "x", "last_name": "x"} | changes).model_dump(include=set(changes))


def _profile(completed: OffboardingCompleted) -> AlumnusProfile:
    leaver = completed.leaver
    answers = completed.profile or ExitProfile()
    if leaver is None:
        raise NotRegistrable(f"the eligible completion {completed.case_id} carries no leaver")
    return AlumnusProfile(
        first_name=leaver.first_name,
        last_name=leaver.last_name,
        personal_email=leaver.personal_email,
        phone=leaver.phone,
        linkedin_url=answers.linkedin_url,
        profile_urls=answers.profile_urls,
        department=leaver.department,
        job_title=leaver.job_title,
        country=leaver.country,
        city=leaver.city,
        locale=leaver.locale,
        skills=answers.skills,
        willing_to=answers.willing_to,
    )
