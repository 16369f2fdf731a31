"""Referrals of candidates and clients by alumni, without I/O.

- The first referrer wins: a candidate (their email, normalised) or a client (its company name,
  normalised) is claimed by the first referral for `validity` after its last movement; a second
  referral meanwhile is a duplicate, and the answer never says whose the first one is.
- A candidate's referral follows the applicant tracking system (ATS): its statuses map to the
  referral's, ranked, and a referral never moves backwards (a late, older status changes
  nothing); a client's referral is moved by hand (qualified, won with the deal's value, lost).
- A referral with no movement for `validity` expires, which frees its claim.
- An erased referrer's referrals lose the link to them; a candidate's data is deleted some time
  after a final status unless they were hired.
"""

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from shared.events.referrals import ReferralStatusChangedV2

CANDIDATE, CLIENT = "candidate", "client"
SUBMITTED, IN_REVIEW, INTERVIEWING, OFFER = "submitted", "in_review", "interviewing", "offer"
HIRED, REJECTED, WITHDRAWN, EXPIRED = "hired", "rejected", "withdrawn", "expired"
QUALIFIED, WON, LOST = "qualified", "won", "lost"
FINAL = frozenset({HIRED, REJECTED, WITHDRAWN, EXPIRED, WON, LOST})
# A referral's progress: a status of a lower rank never replaces one of a higher rank.
RANK = {SUBMITTED: 0, IN_REVIEW: 1, QUALIFIED: 1, INTERVIEWING: 2, OFFER: 3} | dict.fromkeys(FINAL, 4)
# ATS application statuses, as referral statuses.
ATS_STATUSES = {
    "applied": IN_REVIEW, "screening": IN_REVIEW, "interviewing": INTERVIEWING, "offer": OFFER,
    "hired": HIRED, "rejected": REJECTED, "withdrawn": WITHDRAWN,
}
# What a person may set by hand (PATCH), by kind: clients move through their deal; any
# referral may be withdrawn.
MANUAL = {CLIENT: frozenset({QUALIFIED, WON, LOST, WITHDRAWN}), CANDIDATE: frozenset({WITHDRAWN})}
# Words of a company's legal form, left out when names are compared ("Acme SAS" is "ACME").
LEGAL_FORMS = frozenset("inc incorporated ltd limited llc llp plc corp corporation co sa sas sarl gmbh ag bv nv spa srl".split())


class ReferralRefused(Exception):
    """A referral that breaks a rule of the programme. `field`: the body's field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class NotAnAlumnus(Exception):
    """The referrer is unknown here, or was erased."""


class AlreadyReferred(Exception):
    """The candidate or the client is claimed by an earlier referral (whose, is not said)."""


class MoveRefused(Exception):
    """A status change that this referral cannot make."""


def normalised_email(email: str) -> str:
    """Case and whitespace do not make another address; a plus-tag does (it may be another inbox)."""
    return re.sub(r"\s+", "", email).lower()


def normalised_company(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    words = [w for w in re.split(r"[^0-9a-z]+", plain.replace(".", "")) if w]  # "S.A.S." is "sas"
    kept = [w for w in words if w not in LEGAL_FORMS] or words
    return " ".join(kept)


def claim_key(kind: str, value: str) -> str:
    """What a referral claims, as a digest (the claim itself keeps no address or name)."""
    normal = normalised_email(value) if kind == CANDIDATE else normalised_company(value)
    return hashlib.sha256(f"{kind}:{normal}".encode()).hexdigest()


@dataclass(frozen=True)
class Referrer:
    """An alumnus as this service knows them (its projection of identity's events)."""

    alumnus_id: str
    version: int = 0
    email: str | None = None
    erased_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.erased_at is None and self.version > 0

    def applies(self, version: int) -> bool:
        """Whether a change at `version` is news: never after an erasure, never an older one."""
        return self.erased_at is None and version > self.version


@dataclass
class Referral:
    referral_id: str
    kind: str
    alumnus_id: str | None  # None once the referrer was erased
    submitted_at: datetime
    details: dict[str, Any]  # the candidate's or the client's fields, as submitted
    status: str = SUBMITTED
    moved_at: datetime | None = None  # the last movement (the submission at first)
    ats_changed_at: datetime | None = None  # the ATS's time of the status it last applied
    application_id: str | None = None
    employee_id: str | None = None
    hired_at: datetime | None = None
    closed_at: datetime | None = None  # when it reached a final status
    deal_value: dict[str, str] | None = None
    submitted_by: str = "alumnus"
    data_deleted_at: datetime | None = None
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def claimed(self) -> str:
        """The value the referral claims: the candidate's email or the client's company."""
        return self.details.get("candidate_email" if self.kind == CANDIDATE else "company") or ""

    @property
    def candidate_email(self) -> str | None:
        email = self.details.get("candidate_email")
        return normalised_email(email) if email else None

    def holds_claim(self, now: datetime, validity: timedelta) -> bool:
        """Whether the referral still keeps others from referring the same person or company."""
        return self.status not in (WITHDRAWN, EXPIRED) and (self.moved_at or self.submitted_at) + validity > now

    def _move(self, status: str, at: datetime, source: str) -> ReferralStatusChangedV2 | None:
        previous, self.status, self.moved_at = self.status, status, at
        if status in FINAL:
            self.closed_at = at
        if status == HIRED:
            self.hired_at = at
        self.history.append({"status": status, "at": at, "source": source})
        if self.alumnus_id is None:
            return None  # an erased referrer: no one to tell
        return ReferralStatusChangedV2(
            referral_id=self.referral_id, alumnus_id=self.alumnus_id, kind=self.kind, status=status,  # type: ignore[arg-type]
            previous_status=previous, changed_at=at,  # type: ignore[arg-type]
        )

    def follow_ats(self, ats_status: str, changed_at: datetime, now: datetime, *, application_id: str,
                   employee_id: str | None = None) -> ReferralStatusChangedV2 | None:
        """Apply an application's status; None when it changes nothing (same, older or lower)."""
        self.application_id = self.application_id or application_id
        if employee_id and ats_status == "hired":
            self.employee_id = employee_id
        status = ATS_STATUSES[ats_status]
        if self.kind != CANDIDATE or self.status in FINAL:
            return None
        if self.ats_changed_at is not None and changed_at <= self.ats_changed_at:
            return None
        if RANK[status] <= RANK[self.status]:
            return None
        self.ats_changed_at = changed_at
        return self._move(status, now, "ats")

    def move(self, status: str, now: datetime, *, deal_value: dict[str, str] | None = None) -> ReferralStatusChangedV2 | None:
        """A move by hand; None when the referral is already so."""
        if status == self.status:
            return None
        if status not in MANUAL[self.kind]:
            raise MoveRefused(f"a {self.kind} referral cannot be set to {status} by hand")
        if self.status in FINAL:
            raise MoveRefused(f"the referral is {self.status} already")
        if RANK[status] < RANK[self.status]:
            raise MoveRefused(f"the referral is {self.status}: it cannot go back to {status}")
        if status == WON:
            if deal_value is None:
                raise ReferralRefused("deal_value", "a won client referral needs the deal's value")
            self.deal_value = deal_value
            self.hired_at = now
        return self._move(status, now, "manual")

    def expire_if_idle(self, now: datetime, validity: timedelta) -> ReferralStatusChangedV2 | None:
        if self.status in FINAL or (self.moved_at or self.submitted_at) + validity > now:
            return None
        return self._move(EXPIRED, now, "expiry")

    def forget_referrer(self) -> None:
        """The referrer was erased: the link to them goes, the referral (and its counts) stays."""
        self.alumnus_id = None
        self.submitted_by = "erased"

    def personal_data_due(self, now: datetime, retention: timedelta) -> bool:
        """A candidate's or contact's data is kept `retention` after a final status, unless hired."""
        return (self.data_deleted_at is None and self.status in FINAL and self.status not in (HIRED, WON)
                and self.closed_at is not None and self.closed_at + retention <= now)

    def delete_personal_data(self, now: datetime) -> None:
        for name in ("candidate_name", "candidate_email", "note", "contact_name", "contact_email"):
            self.details.pop(name, None)
        self.data_deleted_at = now


def amount(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))
