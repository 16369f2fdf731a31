"""The projection of identity's alumni and the ATS's application statuses, through the handlers
over in-memory repositories."""

from datetime import timedelta

from services.referrals.scheduler import run_once
from shared.events.referrals import ReferralStatusChangedV2
from tests.unit.referrals.events import application, candidate, erased, registered, updated
from tests.unit.referrals.fakes import NOW, Referrals


async def with_referral(email: str = "hugo@example.org") -> Referrals:
    referrals = Referrals()
    await referrals.handle(registered("alm_1"))
    async with referrals.http(alumnus="alm_1") as http:
        assert (await http.post("/referrals", json=candidate(candidate_email=email))).status_code == 201
    return referrals


def statuses(referrals: Referrals) -> list[tuple[str, str]]:
    return [(e.previous_status, e.status) for e in referrals.published(ReferralStatusChangedV2)]


async def test_the_projection_applies_changes_in_version_order_and_keeps_the_erased_out() -> None:
    referrals = Referrals()
    await referrals.handle(updated("alm_1", email="new@home.example", version=2))  # before its registration
    await referrals.handle(registered("alm_1", email="old@home.example", version=1))
    assert referrals.store.referrers["alm_1"].email == "new@home.example"
    await referrals.handle(erased("alm_1", version=3))
    await referrals.handle(updated("alm_1", email="late@home.example", version=4))
    assert referrals.store.referrers["alm_1"].erased_at is not None and referrals.store.referrers["alm_1"].email is None


async def test_an_application_is_matched_by_email_then_followed_by_its_id_and_never_goes_back() -> None:
    referrals = await with_referral()
    await referrals.handle(application("screening", email="HUGO@example.org", at=NOW + timedelta(hours=1)))
    await referrals.handle(application("interviewing", at=NOW + timedelta(hours=3)))  # no email: the linked id
    await referrals.handle(application("screening", at=NOW + timedelta(hours=2)))  # late and older
    await referrals.handle(application("applied", at=NOW + timedelta(hours=4)))  # newer but lower
    await referrals.handle(application("interviewing", at=NOW + timedelta(hours=5)))  # the same again
    await referrals.handle(application("offer", at=NOW + timedelta(hours=6)))
    assert statuses(referrals) == [("submitted", "in_review"), ("in_review", "interviewing"), ("interviewing", "offer")]
    assert referrals.store.referrals["ref_1"].application_id == "app-1"


async def test_a_referral_id_carried_by_the_ats_wins_over_the_email() -> None:
    referrals = await with_referral()
    await referrals.handle(application("hired", application_id="app-9", referral_id="ref_1", email="someone@else.example"))
    assert statuses(referrals) == [("submitted", "hired")]


async def test_an_application_that_matches_nothing_is_recorded_not_dead_lettered() -> None:
    referrals = await with_referral()
    await referrals.handle(application("screening", application_id="app-x", email="stranger@example.org"))
    await referrals.handle(application("interviewing", application_id="app-x", email="stranger@example.org"))
    assert statuses(referrals) == []
    seen = referrals.store.unmatched["app-x"]
    assert seen["times"] == 2 and seen["status"] == "interviewing" and "stranger" not in str(seen)
    async with referrals.http("referrals:read") as http:
        report = await http.get("/ats/unmatched")
    assert report.json()["total"] == 1 and report.json()["items"][0]["application_id"] == "app-x"


async def test_an_idle_referral_expires_and_frees_the_candidate() -> None:
    referrals = await with_referral()
    referrals.now = NOW + timedelta(days=181)
    done = await run_once(referrals.transactions, referrals.deps, referrals.now)
    again = await run_once(referrals.transactions, referrals.deps, referrals.now)
    assert done["expired"] == 1 and again["expired"] == 0
    assert statuses(referrals) == [("submitted", "expired")] and referrals.store.claims == {}
    await referrals.handle(application("hired", email="hugo@example.org", at=referrals.now))
    assert referrals.store.referrals["ref_1"].status == "expired"  # an expired referral is not matched any more


async def test_a_client_referral_moves_by_hand_and_a_won_deal_needs_its_value() -> None:
    referrals = Referrals()
    await referrals.handle(registered("alm_1"))
    async with referrals.http(alumnus="alm_1") as http:
        await http.post("/referrals", json={"kind": "client", "company": "Acme", "contact_name": "Nora", "opportunity": "ERP"})
    async with referrals.http("referrals:write") as http:
        qualified = await http.patch("/referrals/ref_1", json={"status": "qualified"})
        no_value = await http.patch("/referrals/ref_1", json={"status": "won"})
        won = await http.patch("/referrals/ref_1", json={"status": "won", "deal_value": {"amount": "300000", "currency": "EUR"}})
        back = await http.patch("/referrals/ref_1", json={"status": "qualified"})
        unknown = await http.patch("/referrals/ref_1", json={"status": "hired"})
    assert (qualified.status_code, no_value.status_code, won.status_code, back.status_code, unknown.status_code) == (200, 422, 200, 409, 422)
    assert "deal_value" in no_value.text
    assert statuses(referrals) == [("submitted", "qualified"), ("qualified", "won")]
    [bonus] = referrals.store.bonuses.values()
    assert (str(bonus.amount), bonus.currency, bonus.status) == ("10000.00", "EUR", "pending_approval")  # 5 %, capped


async def test_a_time_without_its_zone_is_read_as_utc_and_compared() -> None:
    referrals = await with_referral()
    await referrals.handle(application("screening", email="hugo@example.org", at=NOW.replace(tzinfo=None) + timedelta(hours=1)))
    await referrals.handle(application("interviewing", at=NOW + timedelta(hours=2)))
    await referrals.handle(application("applied", at=NOW.replace(tzinfo=None)))  # older, and naive
    assert statuses(referrals) == [("submitted", "in_review"), ("in_review", "interviewing")]


async def test_an_application_of_an_expired_referral_moves_the_candidate_s_new_referral() -> None:
    referrals = await with_referral()
    await referrals.handle(application("screening", email="hugo@example.org"))
    referrals.now = NOW + timedelta(days=181)
    await run_once(referrals.transactions, referrals.deps, referrals.now)
    await referrals.handle(registered("alm_2"))
    async with referrals.http(alumnus="alm_2") as http:
        assert (await http.post("/referrals", json=candidate())).status_code == 201
    await referrals.handle(application("interviewing", email="hugo@example.org", at=referrals.now))
    assert referrals.store.referrals["ref_1"].status == "expired"
    assert (referrals.store.referrals["ref_2"].status, referrals.store.referrals["ref_2"].application_id) == ("interviewing", "app-1")
    await referrals.handle(application("offer", at=referrals.now + timedelta(hours=1)))  # by the application id alone
    assert referrals.store.referrals["ref_2"].status == "offer"
