"""An erased referrer, a candidate's retention, and a candidate's erasure on request."""

from datetime import timedelta

from services.referrals.scheduler import run_once
from tests.unit.referrals.events import application, candidate, erased, registered
from tests.unit.referrals.fakes import NOW, Referrals


async def referred() -> Referrals:
    referrals = Referrals()
    await referrals.handle(registered("alm_1"))
    async with referrals.http(alumnus="alm_1") as http:
        assert (await http.post("/referrals", json=candidate())).status_code == 201
    return referrals


async def test_an_erased_referrer_keeps_no_link_and_pending_bonuses_go_approved_ones_stay() -> None:
    referrals = await referred()
    await referrals.handle(application("hired", email="hugo@example.org"))
    async with referrals.http("referrals:admin") as http:
        assert (await http.post("/bonuses/bon_1/approve")).status_code == 200
    await referrals.handle(erased("alm_1"))
    referral = referrals.store.referrals["ref_1"]
    first, second = sorted(referrals.store.bonuses.values(), key=lambda b: b.milestone)
    assert referral.alumnus_id is None and referral.status == "hired"
    assert (first.status, first.alumnus_id) == ("approved", "alm_1")  # what payroll needs
    assert (second.status, second.reason) == ("cancelled", "the referrer was erased")
    assert referrals.store.referrers["alm_1"].email is None


async def test_a_candidate_data_goes_after_the_retention_unless_hired() -> None:
    referrals = await referred()
    await referrals.handle(application("rejected", email="hugo@example.org"))
    referrals.now = NOW + timedelta(days=179)
    assert (await run_once(referrals.transactions, referrals.deps, referrals.now))["data_deleted"] == 0
    referrals.now = NOW + timedelta(days=181)
    assert (await run_once(referrals.transactions, referrals.deps, referrals.now))["data_deleted"] == 1
    details = referrals.store.referrals["ref_1"].details
    assert "candidate_email" not in details and "candidate_name" not in details and details["position"] == "Data engineer"


async def test_a_candidate_erased_on_request_loses_their_data_everywhere() -> None:
    referrals = await referred()
    async with referrals.http("referrals:write") as http:
        refused = await http.request("DELETE", "/candidates", params={"email": "hugo@example.org"})
    async with referrals.http("referrals:admin") as http:
        done = await http.request("DELETE", "/candidates", params={"email": " HUGO@example.org"})
        seen = await http.get("/referrals/ref_1")
    assert refused.status_code == 403 and done.json()["referrals"] == 1
    assert "candidate_email" not in seen.json() and seen.json()["personal_data_deleted"] is True
    assert referrals.store.claims == {}


async def test_a_hire_after_the_referrer_was_erased_creates_no_bonus_and_tells_no_one() -> None:
    from shared.events.referrals import ReferralStatusChangedV2

    referrals = await referred()
    await referrals.handle(erased("alm_1"))
    await referrals.handle(application("hired", email="hugo@example.org"))
    assert referrals.store.referrals["ref_1"].status == "hired"
    assert referrals.store.bonuses == {} and referrals.published(ReferralStatusChangedV2) == []
