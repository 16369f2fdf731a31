"""Bonuses over in-memory repositories: the rules file, milestones at hire and after 90 days
through the scheduler, approval (and its event), rejection, payment, the payroll CSV, the
clawback when a hire leaves (and its return when the departure is rescinded), and a decision
taken twice."""

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest

from services.referrals.bonuses import BonusRulesError, load_rules
from services.referrals.scheduler import run_once
from shared.events.hris import EmployeeDeparted
from shared.events.referrals import ReferralBonusEarned
from tests.unit.referrals.events import application, candidate, registered
from tests.unit.referrals.fakes import NOW, Referrals


async def hired(**fields) -> Referrals:
    referrals = Referrals()
    await referrals.handle(registered("alm_1"))
    async with referrals.http(alumnus="alm_1") as http:
        assert (await http.post("/referrals", json=candidate(**fields))).status_code == 201
    await referrals.handle(application("hired", email="hugo@example.org", employee_id="E-77"))
    return referrals


def bonuses(referrals: Referrals) -> list[tuple[str, str, str]]:
    return [(str(b.amount), b.status, b.due_on.isoformat()) for b in sorted(referrals.store.bonuses.values(), key=lambda b: b.milestone)]


async def test_a_hire_pays_half_now_pending_approval_and_half_after_ninety_days() -> None:
    referrals = await hired()
    assert bonuses(referrals) == [("1000.00", "pending_approval", "2026-11-22"), ("1000.00", "scheduled", "2027-02-20")]
    referrals.now = NOW + timedelta(days=89)
    assert (await run_once(referrals.transactions, referrals.deps, referrals.now))["milestones_due"] == 0
    referrals.now = NOW + timedelta(days=90)
    assert (await run_once(referrals.transactions, referrals.deps, referrals.now))["milestones_due"] == 1
    assert [s for _, s, _ in bonuses(referrals)] == ["pending_approval", "pending_approval"]


@pytest.mark.parametrize(("fields", "expected"), [({"job_level": "senior"}, "1500.00"), ({"country": "GB"}, "750.00")])
async def test_the_most_specific_rule_applies(fields: dict, expected: str) -> None:
    referrals = await hired(**fields)
    assert bonuses(referrals)[0][0] == expected


async def test_approval_tells_the_referrer_rejection_needs_a_reason_and_payroll_exports_csv() -> None:
    referrals = await hired()
    referrals.now = NOW + timedelta(days=90)
    await run_once(referrals.transactions, referrals.deps, referrals.now)
    async with referrals.http("referrals:admin") as http:
        approved = await http.post("/bonuses/bon_1/approve")
        twice = await http.post("/bonuses/bon_1/approve")
        no_reason = await http.post("/bonuses/bon_2/reject", json={})
        rejected = await http.post("/bonuses/bon_2/reject", json={"reason": "left during probation"})
        export = await http.get("/bonuses", params={"status": "approved"}, headers={"Accept": "text/csv"})
        paid = await http.post("/bonuses/bon_1/paid")
    async with referrals.http("referrals:write") as http:
        not_admin = await http.post("/bonuses/bon_1/approve")
    assert (approved.status_code, twice.status_code, no_reason.status_code, rejected.status_code, paid.status_code) == (200, 409, 422, 200, 200)
    assert not_admin.status_code == 403
    [earned] = referrals.published(ReferralBonusEarned)
    assert (earned.alumnus_id, str(earned.amount), earned.currency) == ("alm_1", "1000.00", "EUR")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert export.headers["content-type"].startswith("text/csv") and [(r["bonus_id"], r["amount"], r["currency"]) for r in rows] == [("bon_1", "1000.00", "EUR")]
    assert "hugo" not in export.text.lower()


async def test_a_hire_who_leaves_before_the_second_milestone_claws_it_back() -> None:
    referrals = await hired()
    referrals.now = NOW + timedelta(days=30)
    departure = EmployeeDeparted.model_validate({
        "employee_id": "E-77", "first_name": "Hugo", "last_name": "Lambert", "work_email": "hugo@acme.example",
        "hire_date": "2026-11-22", "departure_date": (NOW + timedelta(days=45)).date().isoformat(), "departure_reason": "resignation",
    })
    await referrals.handle(departure)
    referrals.now = NOW + timedelta(days=91)
    await run_once(referrals.transactions, referrals.deps, referrals.now)
    first, second = sorted(referrals.store.bonuses.values(), key=lambda b: b.milestone)
    assert first.status == "pending_approval" and second.status == "cancelled" and "2027-01-06" in second.reason


async def test_a_departure_of_someone_never_referred_changes_nothing() -> None:
    referrals = await hired()
    await referrals.handle(EmployeeDeparted.model_validate({
        "employee_id": "E-1", "first_name": "Ana", "last_name": "B", "work_email": "ana@acme.example",
        "hire_date": "2020-01-01", "departure_date": "2026-12-01", "departure_reason": "resignation",
    }))
    assert [s for _, s, _ in bonuses(referrals)] == ["pending_approval", "scheduled"]


def test_a_malformed_rules_file_stops_the_service(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rule]]\nkind = "candidate"\namount = "10"\ncurrency = "EUR"\nmilestones = [{ after_days = 0, share = 60 }]\n')
    with pytest.raises(BonusRulesError, match="100 percent"):
        load_rules(rules)
    assert load_rules().rules  # the shipped file reads


async def test_stats_count_conversion_days_to_hire_and_bonuses_by_currency() -> None:
    referrals = Referrals()
    await referrals.handle(registered("alm_1"))
    async with referrals.http(alumnus="alm_1") as http:
        await http.post("/referrals", json=candidate())
        await http.post("/referrals", json=candidate(candidate_email="zoe@example.org"))
    referrals.now = NOW + timedelta(days=12)
    await referrals.handle(application("hired", email="hugo@example.org", at=referrals.now))
    async with referrals.http("referrals:admin") as http:
        await http.post("/bonuses/bon_1/approve")
        await http.post("/bonuses/bon_1/paid")
        stats = (await http.get("/referrals/stats", params={"from": "2026-11-01", "to": "2026-11-30"})).json()
        empty = (await http.get("/referrals/stats", params={"from": "2025-01-01", "to": "2025-01-31"})).json()
        backwards = await http.get("/referrals/stats", params={"from": "2026-11-30", "to": "2026-11-01"})
    assert (stats["submitted"], stats["hired"], stats["conversion"], stats["median_days_to_hire"]) == (2, 1, 0.5, 12.0)
    assert stats["bonuses"] == {"approved": {"EUR": "1000.00"}, "paid": {"EUR": "1000.00"}}
    assert empty["submitted"] == 0 and empty["conversion"] is None and backwards.status_code == 422


async def test_a_rescinded_departure_gives_the_clawed_back_milestone_back() -> None:
    from shared.events.hris import EmployeeDepartureCancelled

    referrals = await hired()
    await referrals.handle(EmployeeDeparted.model_validate({
        "employee_id": "E-77", "first_name": "Hugo", "last_name": "Lambert", "work_email": "hugo@acme.example",
        "hire_date": "2026-11-22", "departure_date": "2026-12-31", "departure_reason": "resignation",
    }))
    assert [s for _, s, _ in bonuses(referrals)] == ["pending_approval", "cancelled"]
    await referrals.handle(EmployeeDepartureCancelled(employee_id="E-77", reason="resignation rescinded"))
    await referrals.handle(EmployeeDepartureCancelled(employee_id="E-1", reason="someone else"))
    assert [s for _, s, _ in bonuses(referrals)] == ["pending_approval", "scheduled"]
    referrals.now = NOW + timedelta(days=90)
    await run_once(referrals.transactions, referrals.deps, referrals.now)
    assert [s for _, s, _ in bonuses(referrals)] == ["pending_approval", "pending_approval"]


async def test_an_erased_referrer_s_bonus_is_not_given_back_by_a_rescinded_departure() -> None:
    from shared.events.hris import EmployeeDepartureCancelled
    from tests.unit.referrals.events import erased

    referrals = await hired()
    await referrals.handle(erased("alm_1"))
    await referrals.handle(EmployeeDepartureCancelled(employee_id="E-77"))
    assert [s for _, s, _ in bonuses(referrals)] == ["cancelled", "cancelled"]
