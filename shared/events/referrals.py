from datetime import datetime
from typing import Literal

from shared.events.base import Event, event_type, personal
from shared.events.types import Amount, CurrencyCode, EmailAddress, Identifier, NonEmpty

ReferralKind = Literal["candidate", "client"]
ReferralStatus = Literal["submitted", "in_review", "interviewing", "offer", "hired", "won", "rejected", "withdrawn"]
# v2 adds the statuses of client referrals (qualified, lost) and the expiry of a referral.
ReferralStatusV2 = Literal[
    "submitted", "in_review", "interviewing", "offer", "hired", "rejected", "withdrawn", "qualified", "won", "lost", "expired"
]
ApplicationStatus = Literal["applied", "screening", "interviewing", "offer", "hired", "rejected", "withdrawn"]


@event_type(
    "com.alumni.ats.application.status-changed.v1", topic="ats.application.status-changed", key="application_id"
)
class ApplicationStatusChanged(Event):
    """The applicant tracking system moved an application (inbound, written by the ATS connector)."""

    application_id: Identifier
    referral_id: Identifier | None = None
    candidate_email: EmailAddress | None = personal(default=None)
    status: ApplicationStatus
    changed_at: datetime
    # Optional, added compatibly: the employee id the ATS gives a hire (matches their departure later).
    employee_id: Identifier | None = None


@event_type("com.alumni.referral.submitted.v1", topic="alumni.referral.submitted", key="referral_id")
class AlumnusReferred(Event):
    """An alumnus referred a candidate or a client."""

    referral_id: Identifier
    alumnus_id: Identifier
    kind: ReferralKind
    referred_name: NonEmpty = personal()
    referred_email: EmailAddress | None = personal(default=None)
    company: NonEmpty | None = None
    position: NonEmpty | None = None
    submitted_at: datetime


@event_type("com.alumni.referral.status-changed.v1", topic="alumni.referral.status-changed", key="referral_id")
class ReferralStatusChanged(Event):
    """Superseded by v2 (which knows client and expired statuses); still read while v1 events
    may remain on the topic."""

    referral_id: Identifier
    alumnus_id: Identifier
    kind: ReferralKind
    status: ReferralStatus
    previous_status: ReferralStatus
    changed_at: datetime


@event_type("com.alumni.referral.status-changed.v2", topic="alumni.referral.status-changed", key="referral_id")
class ReferralStatusChangedV2(Event):
    """A referral moved on (a candidate through the ATS, a client through its deal, or expired
    for want of movement); the referrer is told."""

    referral_id: Identifier
    alumnus_id: Identifier
    kind: ReferralKind
    status: ReferralStatusV2
    previous_status: ReferralStatusV2
    changed_at: datetime


@event_type("com.alumni.referral.bonus-earned.v1", topic="alumni.referral.bonus-earned", key="referral_id")
class ReferralBonusEarned(Event):
    """A referral earned its referrer a bonus."""

    referral_id: Identifier
    alumnus_id: Identifier
    amount: Amount
    currency: CurrencyCode
    earned_at: datetime
