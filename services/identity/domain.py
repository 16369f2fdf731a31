"""Alumni: one master record per person, with their employment stints, profile and consents.

Each change of an alumnus increments its `version` and yields the event announcing it. Consent
is given or withdrawn one purpose at a time, each change timestamped with its source and kept.
A completion for a person already known adds a stint to their record: a boomerang. Known means
the same employee id, or a personal email that can be trusted for it (`trusted_match`): the
record's address was confirmed by its owner (services/identity/verification.py) and the HRIS
gives it for the leaver. A personal email is never verified by being typed, in the exit form or
a profile change: it waits for its confirmation link.
"""

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from shared.events.alumni import (
    AlumnusErased,
    AlumnusProfile,
    AlumnusRegistered,
    AlumnusUpdated,
    ConsentChanged,
    EmailConfirmed,
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


class AddressChanged(Exception):
    """A confirmation for an address the record no longer has."""


def address_digest(address: str) -> str:
    """How a confirmation remembers the address it was sent to, without keeping it."""
    return hashlib.sha256(b"address:" + address.strip().lower().encode()).hexdigest()


def emails_to_match(completed: OffboardingCompleted) -> list[str]:
    """The personal emails that may identify a returning person under a new employee id: the one
    the HRIS has, then the one the leaver gave (typed in the exit form)."""
    given = completed.leaver.personal_email if completed.leaver else None
    return list(dict.fromkeys(str(e) for e in (completed.hris_personal_email, given) if e))


def trusted_match(candidate: "Alumnus", completed: OffboardingCompleted) -> bool:
    """Whether a record found by a leaver's personal email is the leaver's: its address was
    confirmed by its owner, and the HRIS (not only the leaver's typing) gives that address."""
    hris = completed.hris_personal_email
    return candidate.personal_email_verified and hris is not None and str(candidate.profile.personal_email) == str(hris)


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
        # The person's latest position and contact details, unless this stint is older than one
        # known (an import of history); what they told us before stays.
        if all(completed.departure_date >= s.departure_date for s in self.stints):
            if latest.personal_email not in (None, self.profile.personal_email):
                self.personal_email_verified = False  # a new address is not verified until confirmed
            self.profile = self.profile.model_copy(update={
                k: v for k, v in latest.model_dump().items()
                if v not in (None, [], "") and k in {"department", "job_title", "country", "city", "locale", "personal_email", "phone"}
            })
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

    # --- the personal email's confirmation ------------------------------------------------

    def email_to_confirm(self, before: str | None) -> str | None:
        """The address to send a confirmation link to: the record's, when it is not verified and
        is new (`before`: the address before the change, None for a new record)."""
        address = str(self.profile.personal_email) if self.profile.personal_email else None
        return address if address and not self.personal_email_verified and address != before else None

    def confirm_email(self, digest: str, now: datetime) -> EmailConfirmed | None:
        """Its owner confirmed the address whose `address_digest` is `digest`; None when it was
        confirmed already."""
        if self.profile.personal_email is None or address_digest(str(self.profile.personal_email)) != digest:
            raise AddressChanged("the record's address changed since this link was sent")
        if self.personal_email_verified:
            return None
        self.personal_email_verified = True
        self._changed(now)
        return EmailConfirmed(alumnus_id=self.alumnus_id, version=self.version, confirmed_at=now)

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
