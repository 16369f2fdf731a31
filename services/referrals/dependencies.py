"""What the referrals service's handlers, HTTP API and scheduler need from outside, built by
app.py (or by a test over in-memory repositories)."""

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

import httpx

from services.referrals.ats.repository import UnmatchedRepository, WebhookRequestRepository
from services.referrals.ats.sources import AtsSource
from services.referrals.bonus_repository import BonusRepository
from services.referrals.bonuses import BonusRules
from services.referrals.referrers import ReferrerRepository
from services.referrals.repository import ReferralRepository
from shared.messaging.uow import UnitOfWork


def new_referral_id() -> str:
    return f"ref_{uuid.uuid4().hex}"


def new_bonus_id() -> str:
    return f"bon_{uuid.uuid4().hex}"


@dataclass(frozen=True)
class Dependencies:
    # The repositories within a unit of work.
    referrals: Callable[[UnitOfWork], ReferralRepository]
    referrers: Callable[[UnitOfWork], ReferrerRepository]  # the projection of identity's alumni
    bonuses: Callable[[UnitOfWork], BonusRepository]
    unmatched: Callable[[UnitOfWork], UnmatchedRepository]
    webhook_requests: Callable[[UnitOfWork], WebhookRequestRepository]
    rules: BonusRules
    # First referrer wins for this long after a referral's last movement; after it an idle
    # referral expires. Candidate data is kept this long after a final status (unless hired).
    validity: timedelta = timedelta(days=180)
    retention: timedelta = timedelta(days=180)
    ats_sources: Mapping[str, AtsSource] = field(default_factory=dict)
    webhook_tolerance_seconds: int = 300
    # The client of the ATS vendors' APIs (Lever's, to read an opportunity's email).
    ats_api: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=10))
    new_referral_id: Callable[[], str] = new_referral_id
    new_bonus_id: Callable[[], str] = new_bonus_id
