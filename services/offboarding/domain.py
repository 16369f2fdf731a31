"""Exit cases: the rules of offboarding, without I/O.

A departure is identified by `employee_id` and `hire_date`: the same pair again is a re-send
of the same departure (it updates the open case), a later `hire_date` is a new stint (a
boomerang leaving again), hence a new case. A case waits for its departure date, then completes
as eligible (the leaver may join the alumni network) or excluded, with the reason. A
cancellation before that date closes the case with no alumnus; one after completion is recorded
and reported. An eligible leaver gets a one-time link to the exit form.
"""

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from shared.events.hris import EmployeeDeparted, EmployeeDepartureCancelled
from shared.events.offboarding import (
    ExitFormIssuedV2,
    ExitFormSubmitted,
    ExitProfile,
    Leaver,
    OffboardingCancelled,
    OffboardingCompleted,
)
from services.offboarding.eligibility import Decision, EligibilityPolicy
from shared.events.types import Locale
from shared.links import DerivedLinks


class CaseClosed(Exception):
    """The case is no longer open: it cannot complete (again)."""


class DepartureNotYetKnown(Exception):
    """A cancellation names no known departure: the departure may be on its way (it waits)."""


class ExitFormRefused(Exception):
    """The form behind a link cannot be shown or answered; `locale`: the leaver's, once known."""

    def __init__(self, message: str, locale: Locale | None = None) -> None:
        super().__init__(message)
        self.locale = locale


class UnknownLink(ExitFormRefused):
    """No such link, or its case was erased."""


class LinkAlreadyUsed(ExitFormRefused):
    """The exit form was submitted through this link."""


class LinkExpired(ExitFormRefused):
    """The link's validity ended."""


class DepartureCancelled(ExitFormRefused):
    """Answers for a departure that was cancelled: there is nothing to fill in."""


class InvalidAnswers(Exception):
    """The exit form's answers break the contract's rules (the message names the fields)."""


@dataclass(frozen=True)
class ExitFormLinks:
    """Where the exit form is served, how long after the departure date a link stays valid, and
    the tokens of the links, derived from each link's id with a secret notifications shares."""

    base_url: str
    valid_for: timedelta
    tokens: DerivedLinks

    def url(self, token: str) -> str:
        return f"{self.base_url.rstrip('/')}/exit-form/{token}"


class CaseStatus(StrEnum):
    OPEN = "open"  # waiting for the departure date
    COMPLETED = "completed"
    CANCELLED = "cancelled"


def case_id_for(employee_id: str, hire_date: date) -> str:
    return f"{employee_id}/{hire_date.isoformat()}"


@dataclass
class ExitCase:
    case_id: str
    departure: EmployeeDeparted
    decision: Decision
    status: CaseStatus = CaseStatus.OPEN
    answers: ExitProfile | None = None
    opened_at: datetime | None = None
    completed_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancellation_reason: str | None = None
    cancelled_after_completion: bool = False
    resends: int = 0

    @classmethod
    def open(cls, departure: EmployeeDeparted, policy: EligibilityPolicy, now: datetime) -> "ExitCase":
        return cls(
            case_id=case_id_for(departure.employee_id, departure.hire_date),
            departure=departure,
            decision=policy.decide(departure),
            opened_at=now,
        )

    @property
    def employee_id(self) -> str:
        return self.departure.employee_id

    @property
    def locale(self) -> Locale:
        return self.departure.locale

    def resend(self, departure: EmployeeDeparted, policy: EligibilityPolicy) -> None:
        """The HRIS sent the same departure again: an open case takes the new data (a corrected
        date, a reason); a closed one only counts it."""
        self.resends += 1
        if self.status is CaseStatus.OPEN:
            self.departure = departure
            self.decision = policy.decide(departure)

    def invite(self, links: ExitFormLinks, now: datetime) -> tuple["ExitInvitation", ExitFormIssuedV2]:
        """A one-time link to the exit form, valid from now until some time after the departure
        date, however far ahead that is. The event names the link, never its token."""
        d = self.departure
        starts = max(now, datetime.combine(d.departure_date, time(), UTC))
        invitation = ExitInvitation.issue(self.case_id, starts, links)
        issued = ExitFormIssuedV2(
            case_id=self.case_id, employee_id=d.employee_id, first_name=d.first_name, email=d.personal_email or d.work_email,
            locale=d.locale, link_id=invitation.link_id, link_key_id=links.tokens.kid, expires_at=invitation.expires_at,
        )
        return invitation, issued

    @property
    def closed_at(self) -> datetime | None:
        """When the case closed: completed (eligible or excluded) or cancelled before that."""
        if self.status is CaseStatus.COMPLETED:
            return self.completed_at
        return self.cancelled_at if self.status is CaseStatus.CANCELLED else None

    def is_due(self, today: date) -> bool:
        return self.status is CaseStatus.OPEN and self.departure.departure_date <= today

    def complete(self, now: datetime) -> OffboardingCompleted:
        if self.status is not CaseStatus.OPEN:
            raise CaseClosed(f"case {self.case_id} is {self.status.value}")
        self.status = CaseStatus.COMPLETED
        self.completed_at = now
        d = self.departure
        eligible = self.decision.eligible
        return OffboardingCompleted(
            case_id=self.case_id,
            employee_id=d.employee_id,
            hire_date=d.hire_date,
            departure_date=d.departure_date,
            departure_reason=d.departure_reason,
            rehire_eligible=d.rehire_eligible,
            outcome="eligible" if eligible else "excluded",
            exclusion_reason=self.decision.reason,
            # Personal data travels only to where it is needed: identity, for eligible leavers.
            leaver=self._leaver() if eligible else None,
            profile=(self.answers or ExitProfile()) if eligible else None, hris_personal_email=d.personal_email if eligible else None,
        )

    def _leaver(self) -> Leaver:
        d, answers = self.departure, self.answers or ExitProfile()
        confirmed = {"personal_email": answers.personal_email or d.personal_email, "phone": answers.phone or d.phone}
        return Leaver.model_validate(d.model_dump(include=set(Leaver.model_fields)) | confirmed)

    def record_answers(self, answers: ExitProfile, now: datetime) -> ExitFormSubmitted | None:
        """Before completion the answers ride on the completion; after it they update the
        alumnus (the returned event)."""
        if self.status is CaseStatus.CANCELLED:
            raise DepartureCancelled("this departure was cancelled", self.locale)
        self.answers = answers
        if self.status is CaseStatus.COMPLETED and self.decision.eligible:
            d = self.departure
            return ExitFormSubmitted(
                case_id=self.case_id, employee_id=d.employee_id, hire_date=d.hire_date, profile=answers, submitted_at=now
            )
        return None

    def named_by(self, cancellation: EmployeeDepartureCancelled) -> bool:
        """Whether a cancellation is about this case: the stint its hire or departure date
        names; without a date, a departure not completed yet (never an earlier, completed stint
        of a boomerang)."""
        if cancellation.hire_date is not None:
            return self.departure.hire_date == cancellation.hire_date
        if cancellation.departure_date is not None:
            return self.departure.departure_date == cancellation.departure_date
        return self.status is not CaseStatus.COMPLETED

    def cancel(self, reason: str | None, now: datetime) -> OffboardingCancelled | None:
        """None when the case was cancelled already (a repeated cancellation changes nothing)."""
        if self.status is CaseStatus.CANCELLED:
            return None
        after_completion = self.status is CaseStatus.COMPLETED
        if not after_completion:
            self.status = CaseStatus.CANCELLED
        self.cancelled_at = now
        self.cancellation_reason = reason
        self.cancelled_after_completion = after_completion
        return OffboardingCancelled(
            case_id=self.case_id, employee_id=self.employee_id, hire_date=self.departure.hire_date,
            after_completion=after_completion, reason=reason, cancelled_at=now,
        )


def token_digest(token: str) -> str:
    """Only a digest of a link's token is stored: a database leak does not open the links."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class ExitInvitation:
    """A one-time link to the exit form."""

    digest: str
    case_id: str
    expires_at: datetime
    used_at: datetime | None = None
    link_id: str = ""  # names the link in events; its token is derived from it with the secret
    token: str | None = field(default=None, repr=False)  # known only when issued

    @classmethod
    def issue(cls, case_id: str, now: datetime, links: ExitFormLinks) -> "ExitInvitation":
        link_id = secrets.token_urlsafe(16)
        token = links.tokens.token(link_id)
        return cls(digest=token_digest(token), case_id=case_id, expires_at=now + links.valid_for, link_id=link_id, token=token)

    def check(self, now: datetime, locale: Locale | None = None) -> None:
        """`locale`: the leaver's, to refuse in their language."""
        if self.used_at is not None:
            raise LinkAlreadyUsed("this link was already used: the exit form was submitted", locale)
        if now >= self.expires_at:
            raise LinkExpired("this link has expired", locale)

    def use(self, now: datetime, locale: Locale | None = None) -> None:
        self.check(now, locale)
        self.used_at = now
