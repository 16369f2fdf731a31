"""The rules of an exit case, without I/O."""

from datetime import UTC, date, datetime, timedelta

import pytest

from services.offboarding.domain import (
    CaseClosed,
    CaseStatus,
    DepartureCancelled,
    EligibilityPolicy,
    ExitCase,
    ExitFormLinks,
    ExitInvitation,
    LinkAlreadyUsed,
    LinkExpired,
    token_digest,
)
from shared.events.hris import EmployeeDeparted
from shared.events.offboarding import ExitProfile
from shared.links import EXIT_FORM_LINKS, DerivedLinks
from shared.events.types import DepartureReason, Locale

NOW = datetime(2026, 11, 22, 9, tzinfo=UTC)


def departure(**fields) -> EmployeeDeparted:
    return EmployeeDeparted.model_validate(
        {"employee_id": "E-1", "first_name": "Léa", "last_name": "Petit", "work_email": "lea@acme.example",
         "hire_date": "2020-01-01", "departure_date": "2026-11-30", "departure_reason": "resignation"} | fields
    )


@pytest.mark.parametrize(
    ("fields", "eligible", "reason"),
    [
        ({}, True, None),
        ({"departure_reason": "termination_for_cause"}, False, "departure reason termination_for_cause is excluded"),
        ({"litigation_pending": True}, False, "litigation with the company is pending"),
        ({"departure_reason": "layoff", "rehire_eligible": False}, True, None),
    ],
)
def test_default_eligibility(fields: dict, eligible: bool, reason: str | None) -> None:
    decision = EligibilityPolicy().decide(departure(**fields))
    assert (decision.eligible, decision.reason) == (eligible, reason)


def test_eligibility_is_configurable() -> None:
    policy = EligibilityPolicy(excluded_reasons=frozenset({DepartureReason.RETIREMENT}), exclude_litigation=False)
    assert policy.decide(departure(departure_reason="termination_for_cause", litigation_pending=True)).eligible
    assert not policy.decide(departure(departure_reason="retirement")).eligible


def test_a_case_waits_for_its_date_then_completes_once() -> None:
    case = ExitCase.open(departure(), EligibilityPolicy(), NOW)
    assert case.case_id == "E-1/2020-01-01"
    assert not case.is_due(date(2026, 11, 29)) and case.is_due(date(2026, 11, 30))
    completed = case.complete(NOW)
    assert (completed.outcome, case.status) == ("eligible", CaseStatus.COMPLETED)
    assert completed.leaver.first_name == "Léa" and completed.profile == ExitProfile()
    assert not case.is_due(date(2026, 12, 1))
    with pytest.raises(CaseClosed):
        case.complete(NOW)


def test_an_excluded_completion_carries_no_personal_data() -> None:
    case = ExitCase.open(departure(departure_reason="termination_for_cause"), EligibilityPolicy(), NOW)
    completed = case.complete(NOW)
    assert completed.outcome == "excluded" and completed.leaver is None and completed.profile is None


def test_a_resend_updates_an_open_case_and_only_counts_on_a_closed_one() -> None:
    case = ExitCase.open(departure(), EligibilityPolicy(), NOW)
    case.resend(departure(departure_reason="termination_for_cause"), EligibilityPolicy())
    assert not case.decision.eligible and case.resends == 1
    case.complete(NOW)
    case.resend(departure(job_title="Changed"), EligibilityPolicy())
    assert case.departure.job_title is None and case.resends == 2


def test_answers_confirmed_in_the_form_take_precedence() -> None:
    case = ExitCase.open(departure(personal_email="old@example.org"), EligibilityPolicy(), NOW)
    assert case.record_answers(ExitProfile(personal_email="new@example.org", skills=["Go"]), NOW) is None
    completed = case.complete(NOW)
    assert completed.leaver.personal_email == "new@example.org" and completed.profile.skills == ["Go"]
    submitted = case.record_answers(ExitProfile(skills=["Rust"]), NOW)
    assert submitted is not None and submitted.profile.skills == ["Rust"]


def test_cancellations_before_and_after_completion() -> None:
    before = ExitCase.open(departure(), EligibilityPolicy(), NOW)
    cancelled = before.cancel("rescinded", NOW)
    assert before.status is CaseStatus.CANCELLED and cancelled.after_completion is False
    assert before.cancel("again", NOW) is None
    assert not before.is_due(date(2027, 1, 1))
    with pytest.raises(DepartureCancelled):
        before.record_answers(ExitProfile(), NOW)

    after = ExitCase.open(departure(), EligibilityPolicy(), NOW)
    after.complete(NOW)
    reported = after.cancel("came back", NOW)
    assert reported.after_completion is True and after.status is CaseStatus.COMPLETED


LINKS = ExitFormLinks("https://alumni.example/", timedelta(days=30), DerivedLinks(EXIT_FORM_LINKS, "a-link-secret-shared-with-notifications"))


def test_an_invitation_is_used_once_and_expires() -> None:
    invitation = ExitInvitation.issue("E-1/2020-01-01", NOW, LINKS)
    assert invitation.digest == token_digest(invitation.token) and invitation.token not in invitation.digest
    with pytest.raises(LinkExpired, match="expired"):
        invitation.check(NOW + timedelta(days=30))
    invitation.use(NOW + timedelta(days=1))
    with pytest.raises(LinkAlreadyUsed, match="already used") as used:
        invitation.use(NOW + timedelta(days=2), Locale.FR)
    assert used.value.locale is Locale.FR  # refused in the leaver's language


def test_an_invitation_lasts_from_the_departure_date_when_it_is_ahead() -> None:
    links = LINKS
    ahead = ExitCase.open(departure(departure_date="2027-01-10"), EligibilityPolicy(), NOW)
    invitation, issued = ahead.invite(links, NOW)
    assert issued.expires_at == invitation.expires_at == datetime(2027, 2, 9, tzinfo=UTC)
    # The event names the link; only who holds the secret can make its token, and so its URL.
    assert invitation.token not in issued.model_dump_json()
    assert links.url(links.tokens.token(issued.link_id, issued.link_key_id)) == f"https://alumni.example/exit-form/{invitation.token}"
    past = ExitCase.open(departure(departure_date="2026-11-01", personal_email="lea@home.example"), EligibilityPolicy(), NOW)
    _, issued = past.invite(links, NOW)
    assert issued.expires_at == NOW + timedelta(days=30) and issued.email == "lea@home.example"
