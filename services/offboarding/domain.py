"""Exit cases: the rules of offboarding, without I/O.

A departure is identified by `employee_id` and `hire_date`: the same pair again is a re-send
of the same departure (it updates the open case), a later `hire_date` is a new stint (a
boomerang leaving again), hence a new case. A case waits for its departure date, then completes
as eligible (the leaver may join the alumni network) or excluded, with the reason. A
cancellation before that date closes the case with no alumnus; one after completion is recorded
and reported.
"""

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from shared.events.hris import EmployeeDeparted
from shared.events.offboarding import (
    ExitFormSubmitted,
    ExitProfile,
    Leaver,
    OffboardingCancelled,
    OffboardingCompleted,
)
from shared.events.types import DepartureReason
from shared.messaging.failures import PermanentError


@dataclass(frozen=True)
class Decision:
    eligible: bool
    reason: str | None = None  # why excluded


@dataclass(frozen=True)
class EligibilityPolicy:
    """Who may join the alumni network. Configurable; the reason of an exclusion is recorded."""

    excluded_reasons: frozenset[DepartureReason] = frozenset({DepartureReason.TERMINATION_FOR_CAUSE})
    exclude_litigation: bool = True

    def decide(self, departure: EmployeeDeparted) -> Decision:
        if departure.departure_reason in self.excluded_reasons:
            return Decision(False, f"departure reason {departure.departure_reason.value} is excluded")
        if self.exclude_litigation and departure.litigation_pending:
            return Decision(False, "litigation with the company is pending")
        return Decision(True)


class CaseStatus(StrEnum):
    OPEN = "open"  # waiting for the departure date
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class CaseClosed(PermanentError):
    """The case cannot take this any more (e.g. exit-form answers for a cancelled departure)."""


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

    def resend(self, departure: EmployeeDeparted, policy: EligibilityPolicy) -> None:
        """The HRIS sent the same departure again: an open case takes the new data (a corrected
        date, a reason); a closed one only counts it."""
        self.resends += 1
        if self.status is CaseStatus.OPEN:
            self.departure = departure
            self.decision = policy.decide(departure)

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
            profile=(self.answers or ExitProfile()) if eligible else None,
        )

    def _leaver(self) -> Leaver:
        d = self.departure
        answers = self.answers or ExitProfile()
        return Leaver(
            first_name=d.first_name,
            last_name=d.last_name,
            work_email=d.work_email,
            personal_email=answers.personal_email or d.personal_email,
            phone=answers.phone or d.phone,
            department=d.department,
            job_title=d.job_title,
            country=d.country,
            city=d.city,
            locale=d.locale,
        )

    def record_answers(self, answers: ExitProfile, now: datetime) -> ExitFormSubmitted | None:
        """Before completion the answers ride on the completion; after it they update the
        alumnus (the returned event)."""
        if self.status is CaseStatus.CANCELLED:
            raise CaseClosed("this departure was cancelled")
        self.answers = answers
        if self.status is CaseStatus.COMPLETED and self.decision.eligible:
            d = self.departure
            return ExitFormSubmitted(
                case_id=self.case_id, employee_id=d.employee_id, hire_date=d.hire_date, profile=answers, submitted_at=now
            )
        return None

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
        d = self.departure
        return OffboardingCancelled(
            case_id=self.case_id,
            employee_id=d.employee_id,
            hire_date=d.hire_date,
            after_completion=after_completion,
            reason=reason,
            cancelled_at=now,
        )


class LinkRefused(PermanentError):
    """A one-time link that cannot be used: unknown, used, expired."""

    def __init__(self, reason: str, status: int) -> None:
        super().__init__(reason)
        self.status = status


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
    token: str | None = field(default=None, repr=False)  # known only when issued

    @classmethod
    def issue(cls, case_id: str, now: datetime, valid_for: timedelta) -> "ExitInvitation":
        token = secrets.token_urlsafe(32)
        return cls(digest=token_digest(token), case_id=case_id, expires_at=now + valid_for, token=token)

    def check(self, now: datetime) -> None:
        if self.used_at is not None:
            raise LinkRefused("this link was already used: the exit form was submitted", 410)
        if now >= self.expires_at:
            raise LinkRefused("this link has expired", 410)

    def use(self, now: datetime) -> None:
        self.check(now)
        self.used_at = now
