"""Closed exit cases are kept for the retention period, then forgotten with their links: what is
kept is a keyed hash of the stint, so that a re-send of the departure opens no case and sends no
link. Open cases are never forgotten. The same on the real stack, with the clock moved:
tests/integration/lifecycle/test_retention.py."""

from datetime import timedelta

import pytest
from pydantic import ValidationError

from services.offboarding.app import Settings

from shared.events.hris import EmployeeDepartureCancelled
from shared.events.offboarding import ExitFormIssuedV2
from tests.unit.offboarding.fakes import ERASURE_KEYS, Offboarding, departure


async def closed_and_open_cases() -> Offboarding:
    offboarding = Offboarding(case_retention=timedelta(days=90))
    await offboarding.handle(departure(employee_id="E-excluded", departure_reason="termination_for_cause"))
    await offboarding.handle(departure(employee_id="E-eligible", personal_email="e@home.example"))
    await offboarding.handle(departure(employee_id="E-cancelled", departure_date="2026-12-31"))
    await offboarding.handle(EmployeeDepartureCancelled(employee_id="E-cancelled"))
    await offboarding.handle(departure(employee_id="E-open", departure_date="2027-12-31"))
    return offboarding


async def test_closed_cases_are_kept_for_the_retention_period() -> None:
    offboarding = await closed_and_open_cases()
    offboarding.clock.move(days=89)
    assert await offboarding.forget_expired_cases() == 0
    assert len(offboarding.store.cases) == 4


async def test_after_it_closed_cases_and_their_links_are_forgotten_and_open_ones_kept() -> None:
    offboarding = await closed_and_open_cases()
    offboarding.clock.move(days=90)
    assert await offboarding.forget_expired_cases() == 3
    assert list(offboarding.store.cases) == ["E-open/2020-01-01"]
    assert [i.case_id for i in offboarding.store.invitations.values()] == ["E-open/2020-01-01"]
    assert sorted(offboarding.store.erased_people.people) == sorted(
        ERASURE_KEYS.of_stint(e, departure().hire_date) for e in ("E-excluded", "E-eligible", "E-cancelled")
    )
    assert "E-" not in str(offboarding.store.erased_people.people)  # hashes, not ids
    assert await offboarding.forget_expired_cases() == 0  # a second round (or replica) finds nothing


async def test_a_re_send_of_a_forgotten_departure_opens_no_case_but_a_new_stint_does() -> None:
    offboarding = await closed_and_open_cases()
    offboarding.clock.move(days=90)
    await offboarding.forget_expired_cases()
    offboarding.transactions.committed.clear()
    await offboarding.handle(departure(employee_id="E-eligible", personal_email="e@home.example"))
    assert "E-eligible/2020-01-01" not in offboarding.store.cases and offboarding.transactions.events == []
    await offboarding.handle(departure(employee_id="E-eligible", hire_date="2027-01-04", departure_date="2028-06-30"))
    assert "E-eligible/2027-01-04" in offboarding.store.cases  # a boomerang's new stint is a new case
    assert len(offboarding.published(ExitFormIssuedV2)) == 1


async def test_a_case_changed_since_it_was_found_is_not_forgotten_by_a_late_replica() -> None:
    offboarding = await closed_and_open_cases()
    offboarding.clock.move(days=90)
    cutoff = offboarding.clock() - timedelta(days=90)
    cases = offboarding.deps.cases(None)
    assert await cases.forget_closed("E-excluded/2020-01-01", cutoff) is True
    assert await cases.forget_closed("E-excluded/2020-01-01", cutoff) is False  # the other replica's delete finds nothing
    assert await cases.forget_closed("E-open/2020-01-01", cutoff) is False  # never an open case


def test_the_retention_period_outlives_the_exit_form_links() -> None:
    with pytest.raises(ValidationError, match="EXIT_CASE_RETENTION_DAYS must be at least EXIT_FORM_VALID_DAYS"):
        Settings(exit_case_retention_days=10, exit_form_valid_days=30)
    assert Settings(exit_case_retention_days=30, exit_form_valid_days=30).exit_case_retention_days == 30
