"""Offboarding's handlers and scheduler over in-memory repositories: cases opened, re-sent,
excluded, completed when due, cancelled before and after completion, erased. The same flows on
the real broker and database: tests/integration/lifecycle/test_offboarding.py."""

from datetime import UTC, datetime

import pytest

from services.offboarding.domain import CaseStatus, DepartureNotYetKnown, token_digest
from shared.events.alumni import AlumnusErased
from shared.events.hris import EmployeeDepartureCancelled
from shared.events.offboarding import ExitFormIssuedV2, OffboardingCancelled, OffboardingCompleted
from shared.messaging.failures import is_permanent
from tests.unit.offboarding.fakes import LINK_TOKENS, Offboarding, departure


def cancellation(employee_id: str = "E-1", reason: str = "resignation rescinded", **dates: str) -> EmployeeDepartureCancelled:
    return EmployeeDepartureCancelled.model_validate({"employee_id": employee_id, "reason": reason} | dates)


async def test_a_departure_opens_a_case_and_issues_one_exit_form_link() -> None:
    offboarding = Offboarding()
    await offboarding.handle(departure(personal_email="lea@home.example"))

    issued, completed = offboarding.transactions.events  # the date has passed: completed at once
    assert isinstance(issued, ExitFormIssuedV2) and isinstance(completed, OffboardingCompleted)
    assert (issued.email, issued.locale.value, issued.case_id) == ("lea@home.example", "fr", "E-1/2020-01-01")
    assert issued.link_key_id == LINK_TOKENS.kid and offboarding.token() not in issued.model_dump_json()
    [invitation] = offboarding.store.invitations.values()
    assert invitation.digest == token_digest(offboarding.token()) and invitation.token is None  # only the digest is kept
    assert completed.outcome == "eligible" and offboarding.store.cases["E-1/2020-01-01"].status is CaseStatus.COMPLETED


async def test_a_re_sent_departure_updates_the_open_case_and_issues_no_second_link() -> None:
    offboarding = Offboarding()
    await offboarding.handle(departure(departure_date="2026-12-15"))
    await offboarding.handle(departure(departure_date="2026-12-20", job_title="Lead engineer"))

    assert [type(e) for e in offboarding.transactions.events] == [ExitFormIssuedV2]
    assert len(offboarding.store.invitations) == 1
    case = offboarding.store.cases["E-1/2020-01-01"]
    assert case.resends == 1 and case.departure.job_title == "Lead engineer" and str(case.departure.departure_date) == "2026-12-20"


async def test_a_later_stint_is_a_new_case() -> None:
    offboarding = Offboarding()
    await offboarding.handle(departure())
    await offboarding.handle(departure(hire_date="2025-01-06", departure_date="2026-11-21"))
    assert sorted(offboarding.store.cases) == ["E-1/2020-01-01", "E-1/2025-01-06"]
    assert len(offboarding.published(ExitFormIssuedV2)) == 2


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"departure_reason": "termination_for_cause"}, "departure reason termination_for_cause is excluded"),
        ({"litigation_pending": True}, "litigation with the company is pending"),
    ],
)
async def test_an_excluded_leaver_gets_no_link_and_an_excluded_completion(fields: dict, reason: str) -> None:
    offboarding = Offboarding()
    await offboarding.handle(departure(**fields))

    [completed] = offboarding.transactions.events
    assert isinstance(completed, OffboardingCompleted)
    assert (completed.outcome, completed.exclusion_reason) == ("excluded", reason)
    assert completed.leaver is None and completed.profile is None
    assert offboarding.store.invitations == {}


async def test_a_future_dated_departure_completes_only_when_due() -> None:
    offboarding = Offboarding()
    await offboarding.handle(departure(departure_date="2026-12-15"))
    assert await offboarding.complete_due_cases() == 0

    offboarding.clock.move(days=22)  # 2026-12-14
    assert await offboarding.complete_due_cases() == 0
    offboarding.clock.move(days=1)  # 2026-12-15
    assert await offboarding.complete_due_cases() == 1
    assert await offboarding.complete_due_cases() == 0

    [completed] = offboarding.published(OffboardingCompleted)
    assert str(completed.departure_date) == "2026-12-15" and completed.outcome == "eligible"
    assert offboarding.store.cases["E-1/2020-01-01"].completed_at == datetime(2026, 12, 15, 9, tzinfo=UTC)


async def test_a_cancellation_before_completion_closes_the_case_with_no_completion() -> None:
    offboarding = Offboarding()
    await offboarding.handle(departure(departure_date="2026-12-31"))
    await offboarding.handle(cancellation())
    await offboarding.handle(cancellation())  # a repeat changes nothing

    offboarding.clock.move(days=60)
    assert await offboarding.complete_due_cases() == 0
    [cancelled] = offboarding.published(OffboardingCancelled)
    assert cancelled.after_completion is False and cancelled.reason == "resignation rescinded"
    assert offboarding.published(OffboardingCompleted) == []
    assert offboarding.store.cases["E-1/2020-01-01"].status is CaseStatus.CANCELLED


@pytest.mark.parametrize("named_by", [{"departure_date": "2026-11-20"}, {"hire_date": "2020-01-01"}])
async def test_a_cancellation_after_completion_that_names_the_stint_is_recorded_and_reported(named_by: dict) -> None:
    offboarding = Offboarding()
    await offboarding.handle(departure())
    await offboarding.handle(cancellation(reason="came back the next day", **named_by))

    [cancelled] = offboarding.published(OffboardingCancelled)
    assert cancelled.after_completion is True and cancelled.reason == "came back the next day"
    case = offboarding.store.cases["E-1/2020-01-01"]
    assert (case.status, case.cancelled_after_completion) == (CaseStatus.COMPLETED, True)


async def test_an_undated_cancellation_after_completion_waits_for_a_departure_it_could_name() -> None:
    offboarding = Offboarding()
    await offboarding.handle(departure())
    with pytest.raises(DepartureNotYetKnown):
        await offboarding.handle(cancellation())
    assert offboarding.published(OffboardingCancelled) == []
    assert offboarding.store.cases["E-1/2020-01-01"].cancelled_at is None


async def test_a_cancellation_of_a_boomerang_cancels_the_open_stint_never_the_completed_one() -> None:
    offboarding = Offboarding()
    await offboarding.handle(departure())
    await offboarding.handle(departure(hire_date="2025-01-06", departure_date="2027-01-31"))
    await offboarding.handle(cancellation())
    [cancelled] = offboarding.published(OffboardingCancelled)
    assert cancelled.case_id == "E-1/2025-01-06" and cancelled.after_completion is False
    assert offboarding.store.cases["E-1/2020-01-01"].cancelled_at is None


async def test_a_boomerang_cancellation_before_its_new_departure_waits_instead_of_taking_the_old_stint() -> None:
    offboarding = Offboarding()
    await offboarding.handle(departure())  # the first stint, completed
    with pytest.raises(DepartureNotYetKnown):
        await offboarding.handle(cancellation())
    with pytest.raises(DepartureNotYetKnown):
        await offboarding.handle(cancellation(hire_date="2025-01-06"))
    assert offboarding.published(OffboardingCancelled) == []


async def test_a_dated_cancellation_picks_its_stint_among_several() -> None:
    offboarding = Offboarding()
    await offboarding.handle(departure())
    await offboarding.handle(departure(hire_date="2025-01-06", departure_date="2027-01-31"))
    await offboarding.handle(cancellation(departure_date="2026-11-20"))
    [cancelled] = offboarding.published(OffboardingCancelled)
    assert (cancelled.case_id, cancelled.after_completion) == ("E-1/2020-01-01", True)
    assert offboarding.store.cases["E-1/2025-01-06"].status is CaseStatus.OPEN


async def test_a_cancellation_with_no_known_departure_waits_for_it() -> None:
    offboarding = Offboarding()
    with pytest.raises(DepartureNotYetKnown, match="no departure of employee E-9 that this cancellation names is known yet"):
        await offboarding.handle(cancellation("E-9"))
    error = DepartureNotYetKnown("x")
    assert offboarding.events.is_waiting(error)  # parked, not retried against a budget
    assert not offboarding.events.is_permanent(error) and not is_permanent(error)
    assert offboarding.transactions.events == [] and offboarding.store.cases == {}


@pytest.mark.parametrize("named_by", [{}, {"hire_date": "2020-01-01"}, {"departure_date": "2026-11-20"}])
async def test_a_departure_whose_cancellation_came_first_is_cancelled_at_once(named_by: dict) -> None:
    offboarding = Offboarding()
    offboarding.store.parked.parked.append(("E-1", cancellation(**named_by)))  # parked by the consumer
    await offboarding.handle(departure())  # due today: it would complete at once
    [cancelled] = offboarding.published(OffboardingCancelled)
    assert (cancelled.after_completion, cancelled.reason) == (False, "resignation rescinded")
    assert offboarding.published(OffboardingCompleted) == [] and offboarding.published(ExitFormIssuedV2) == []
    assert offboarding.store.invitations == {}
    await offboarding.handle(cancellation(**named_by))  # the parked cancellation, handled next: nothing more
    assert len(offboarding.published(OffboardingCancelled)) == 1


async def test_a_parked_cancellation_of_another_stint_leaves_a_departure_alone() -> None:
    offboarding = Offboarding()
    offboarding.store.parked.parked.append(("E-1", cancellation(hire_date="2025-01-06")))
    await offboarding.handle(departure())
    assert offboarding.published(OffboardingCancelled) == []
    assert len(offboarding.published(OffboardingCompleted)) == 1


async def test_an_erasure_forgets_the_cases_and_their_links() -> None:
    offboarding = Offboarding()
    await offboarding.handle(departure())
    await offboarding.handle(departure(hire_date="2025-01-06", departure_date="2027-01-31"))
    await offboarding.handle(departure(employee_id="E-2", departure_date="2027-01-31"))

    await offboarding.handle(AlumnusErased(alumnus_id="alm_1", employee_ids=["E-1"], version=3, erased_at=offboarding.clock()))

    assert list(offboarding.store.cases) == ["E-2/2020-01-01"]
    assert [i.case_id for i in offboarding.store.invitations.values()] == ["E-2/2020-01-01"]
