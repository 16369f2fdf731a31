"""The rules that keep one person from taking over another's record through an email address:
a personal email is confirmed by a link sent to it before it is trusted, and a leaver whose
address matches a record that cannot be trusted waits for HR's decision.

- `EmailConfirmation`: a link to confirm the address of a record, one use, expiring. Only a
  digest of its token is stored; the token is derived from `link_id` with the secret that
  notifications holds too, so it never travels in an event.
- `MergeReview`: a leaver's completion parked while HR decides whether they are the alumnus the
  address matched (merge: a boomerang) or someone else (kept separate: a new alumnus). The
  leaver is not registered meanwhile: registering them and merging later would ask every
  projection to merge two alumni.
"""

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from services.identity.domain import Alumnus, address_digest
from shared.events.alumni import EmailConfirmationRequested, MergeReviewOpened
from shared.events.offboarding import ExitProfile, OffboardingCompleted
from shared.events.types import Locale
from shared.links import DerivedLinks


class ConfirmationRefused(Exception):
    """A confirmation link that cannot be used; `locale`: the alumnus's, to refuse in their language."""

    def __init__(self, message: str, locale: Locale | None = None) -> None:
        super().__init__(message)
        self.locale = locale


class UnknownConfirmation(ConfirmationRefused):
    """No such link (forged, or its alumnus was erased)."""


class ConfirmationUsed(ConfirmationRefused):
    """The address was confirmed through this link already."""


class ConfirmationExpired(ConfirmationRefused):
    """The link's validity ended."""


class ConfirmationSuperseded(ConfirmationRefused):
    """The record's address changed since the link was sent."""


class UnknownReview(Exception):
    """No such merge review."""


class ReviewClosed(Exception):
    """The review was resolved already, or the record it names was erased meanwhile."""


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class ConfirmationLinks:
    tokens: DerivedLinks
    valid_for: timedelta


@dataclass
class EmailConfirmation:
    digest: str  # of the link's token
    link_id: str
    alumnus_id: str
    address_digest: str
    requested_at: datetime
    expires_at: datetime
    used_at: datetime | None = None

    @classmethod
    def request(cls, alumnus: Alumnus, address: str, links: ConfirmationLinks, now: datetime) -> tuple["EmailConfirmation", EmailConfirmationRequested]:
        link_id = secrets.token_urlsafe(16)
        confirmation = cls(
            digest=token_digest(links.tokens.token(link_id)), link_id=link_id, alumnus_id=alumnus.alumnus_id,
            address_digest=address_digest(address), requested_at=now, expires_at=now + links.valid_for,
        )
        requested = EmailConfirmationRequested(
            alumnus_id=alumnus.alumnus_id, email=address, first_name=alumnus.profile.first_name, locale=alumnus.profile.locale,
            link_id=link_id, link_key_id=links.tokens.kid, expires_at=confirmation.expires_at,
        )
        return confirmation, requested

    def check(self, now: datetime, locale: Locale | None = None) -> None:
        if self.used_at is not None:
            raise ConfirmationUsed("this link was used already: the address is confirmed", locale)
        if now >= self.expires_at:
            raise ConfirmationExpired("this link has expired", locale)

    def use(self, now: datetime, locale: Locale | None = None) -> None:
        self.check(now, locale)
        self.used_at = now


class Decision(StrEnum):
    MERGE = "merge"  # the leaver is the alumnus: a new stint on their record
    KEEP_SEPARATE = "keep_separate"  # someone else: a new alumnus


@dataclass
class MergeReview:
    review_id: str
    employee_id: str
    hire_date: date
    alumnus_id: str  # the record the address matched
    opened_at: datetime
    completed: OffboardingCompleted | None = field(default=None, repr=False)  # parked until resolved
    decision: Decision | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    import_id: str | None = None  # a leaver of an import: registered as imported (no welcome)

    @classmethod
    def open(cls, completed: OffboardingCompleted, candidate: Alumnus, review_id: str, now: datetime, *,
             import_id: str | None = None) -> tuple["MergeReview", MergeReviewOpened]:
        review = cls(review_id, completed.employee_id, completed.hire_date, candidate.alumnus_id, now, completed, import_id=import_id)
        return review, MergeReviewOpened(review_id=review_id, employee_id=completed.employee_id, alumnus_id=candidate.alumnus_id, opened_at=now)

    @property
    def is_open(self) -> bool:
        return self.decision is None

    def take_answers(self, answers: ExitProfile) -> None:
        """Exit-form answers given while the completion is parked ride on it."""
        if self.completed is not None:
            self.completed = self.completed.model_copy(update={"profile": answers})

    def resolve(self, decision: Decision, by: str, now: datetime) -> OffboardingCompleted:
        """The parked completion, to merge or register; the review keeps only ids and the decision."""
        if not self.is_open or self.completed is None:
            raise ReviewClosed(f"the review {self.review_id} was resolved already")
        completed, self.completed = self.completed, None
        self.decision, self.resolved_by, self.resolved_at = decision, by, now
        return completed
