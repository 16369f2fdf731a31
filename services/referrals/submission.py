"""A referral as submitted (`POST /referrals`): the bodies of the two kinds, and the rules a
submission must pass before it becomes a referral. Pure: the caller reads the referrer and the
referral holding the claim, and writes the result."""

from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from services.referrals.domain import (
    CANDIDATE,
    AlreadyReferred,
    NotAnAlumnus,
    Referral,
    ReferralRefused,
    Referrer,
    normalised_email,
)
from shared.events.referrals import AlumnusReferred
from shared.events.types import Amount, CountryCode, EmailAddress, CurrencyCode, Identifier, NonEmpty

Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # Given by a recruiter entering the referral on an alumnus's behalf (`referrals:write`).
    alumnus_id: Identifier | None = None


class Money(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Amount = Field(gt=0)
    currency: CurrencyCode


class CandidateReferral(Body):
    kind: Literal["candidate"]
    candidate_name: NonEmpty
    candidate_email: EmailAddress
    position: NonEmpty | None = None
    job_ref: Identifier | None = None
    note: Note | None = None
    # What the bonus rules may depend on.
    country: CountryCode | None = None
    job_level: Identifier | None = None
    # The candidate agreed to be referred: JSON `true` itself, not a string or a number that reads so.
    candidate_consent: StrictBool


class ClientReferral(Body):
    kind: Literal["client"]
    company: NonEmpty
    contact_name: NonEmpty
    contact_email: EmailAddress | None = None
    opportunity: NonEmpty
    estimated_value: Money | None = None
    country: CountryCode | None = None


Submission = Annotated[CandidateReferral | ClientReferral, Field(discriminator="kind")]


def submit(
    body: CandidateReferral | ClientReferral, referrer: Referrer | None, claim_holder: Referral | None, *,
    referral_id: str, now: datetime, validity: timedelta, submitted_by: str,
) -> tuple[Referral, AlumnusReferred]:
    """`claim_holder`: the referral that claimed this candidate or company before, if any."""
    if referrer is None or not referrer.active:
        raise NotAnAlumnus("the referrer is not an alumnus of this network")
    if isinstance(body, CandidateReferral):
        if body.candidate_consent is not True:
            raise ReferralRefused("candidate_consent", "the candidate must have agreed to be referred")
        if referrer.email and normalised_email(str(body.candidate_email)) == normalised_email(referrer.email):
            raise ReferralRefused("candidate_email", "this is one of the referrer's own addresses")
    if claim_holder is not None and claim_holder.holds_claim(now, validity):
        what = "candidate" if body.kind == CANDIDATE else "company"
        raise AlreadyReferred(f"this {what} was already referred within the validity window")
    details = body.model_dump(mode="json", exclude={"alumnus_id", "kind", "candidate_consent"}, exclude_none=True)
    referral = Referral(
        referral_id=referral_id, kind=body.kind, alumnus_id=referrer.alumnus_id, submitted_at=now, details=details,
        moved_at=now, submitted_by=submitted_by, history=[{"status": "submitted", "at": now, "source": submitted_by}],
    )
    if isinstance(body, CandidateReferral):
        referred = AlumnusReferred(
            referral_id=referral_id, alumnus_id=referrer.alumnus_id, kind="candidate", referred_name=body.candidate_name,
            referred_email=body.candidate_email, position=body.position, submitted_at=now,
        )
    else:
        referred = AlumnusReferred(
            referral_id=referral_id, alumnus_id=referrer.alumnus_id, kind="client", referred_name=body.contact_name,
            referred_email=body.contact_email, company=body.company, position=body.opportunity, submitted_at=now,
        )
    return referral, referred
