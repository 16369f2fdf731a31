"""What referrals holds about a person, for the GDPR export (`GET /personal-data`): as a referrer,
the projection, the referrals they made (with the candidate's details as they entered them) and
their bonuses; by employee id, the referrals that led to their hire, without who referred them."""

import pytest

from shared.web.auth import TokenVerifier
from tests.unit.referrals.events import application, candidate, client, erased, registered
from tests.unit.referrals.fakes import Referrals


async def world() -> Referrals:
    """alm_1 referred Hugo, hired as E-77 (two bonus milestones); alm_2 referred a client."""
    referrals = Referrals()
    await referrals.handle(registered("alm_1"))
    await referrals.handle(registered("alm_2", email="ines@home.example"))
    async with referrals.http(alumnus="alm_1") as http:
        assert (await http.post("/referrals", json=candidate(note="We built the data lake together at Acme"))).status_code == 201
    async with referrals.http(alumnus="alm_2") as http:
        assert (await http.post("/referrals", json=client())).status_code == 201
    await referrals.handle(application("hired", email="hugo@example.org", employee_id="E-77"))
    return referrals


async def test_the_referrers_projection_referrals_and_bonuses_are_gathered_and_no_one_elses() -> None:
    referrals = await world()
    async with referrals.http(alumnus="alm_1") as http:
        response = await http.get("/personal-data", params={"alumnus_id": "alm_1"})
    assert response.status_code == 200
    body = response.json()
    assert body["service"] == "referrals"
    held = body["records"]
    assert held["referrer"] == {"alumnus_id": "alm_1", "email": "jules@home.example", "erased_at": None}
    [made] = held["referrals"]
    assert (made["referral_id"], made["status"], made["alumnus_id"]) == ("ref_1", "hired", "alm_1")
    # The candidate's details as the referrer entered them: they supplied them.
    assert (made["candidate_name"], made["candidate_email"], made["note"]) == ("Hugo Lambert", "hugo@example.org", "We built the data lake together at Acme")
    assert [(b["referral_id"], b["alumnus_id"], b["milestone"]) for b in held["bonuses"]] == [("ref_1", "alm_1", 0), ("ref_1", "alm_1", 1)]
    assert all("decided_by" not in b for b in held["bonuses"])  # the staff member's, not the referrer's
    assert held["hired_through_referrals"] == []
    assert "Acme SAS" not in response.text and "alm_2" not in response.text  # alm_2's client referral


async def test_by_employee_id_the_hire_gets_the_referral_that_hired_them_without_who_referred_them() -> None:
    referrals = await world()
    async with referrals.http("alumni:admin") as http:
        hire = (await http.get("/personal-data", params={"employee_id": "E-77"})).json()["records"]
        nobody = (await http.get("/personal-data", params=[("employee_id", "E-78"), ("employee_id", "E-alm_1")])).json()["records"]
    assert (hire["referrer"], hire["referrals"], hire["bonuses"]) == (None, [], [])
    [referral] = hire["hired_through_referrals"]
    assert (referral["referral_id"], referral["employee_id"], referral["candidate_email"]) == ("ref_1", "E-77", "hugo@example.org")
    assert referral["hired_at"] and [h["status"] for h in referral["history"]] == ["submitted", "hired"]
    assert "alm_1" not in str(referral) and "note" not in referral and "jules" not in str(referral)
    assert nobody == {"referrer": None, "referrals": [], "bonuses": [], "hired_through_referrals": []}


async def test_an_erased_referrer_is_a_tombstone_and_their_referrals_are_no_longer_theirs() -> None:
    referrals = await world()
    await referrals.handle(erased("alm_1"))
    async with referrals.http("alumni:admin") as http:
        held = (await http.get("/personal-data", params={"alumnus_id": "alm_1"})).json()["records"]
    assert held["referrer"]["email"] is None and held["referrer"]["erased_at"]
    assert held["referrals"] == []
    # The bonuses keep their referrer (payroll needs an approved one); those not approved were cancelled.
    assert {b["status"] for b in held["bonuses"]} == {"cancelled"}


FORGED = {"Authorization": "Bearer " + TokenVerifier("a-forger-secret-of-32-characters!").issue("x", ["alumni:admin"])}


@pytest.mark.parametrize(
    ("as_", "params", "headers", "status"),
    [
        ({"alumnus": "alm_1"}, {"alumnus_id": "alm_2"}, {}, 403),
        ({"alumnus": "alm_1"}, {"alumnus_id": "alm_1", "employee_id": "E-77"}, {}, 403),
        ({"scopes": ("referrals:admin",)}, {"alumnus_id": "alm_1"}, {}, 403),
        ({"scopes": ("alumni:admin",)}, {"alumnus_id": "alm_1"}, FORGED, 401),
        ({"scopes": ("alumni:admin",)}, {"alumnus_id": "a" * 129}, {}, 422),
        ({"scopes": ("alumni:admin",)}, {"employee_id": "hugo@example.org"}, {}, 422),
        ({"scopes": ("alumni:admin",)}, [("employee_id", f"E-{i}") for i in range(21)], {}, 422),
    ],
    ids=["another alumnus", "an employee id with an alumnus's token", "a referrals admin", "forged", "oversized", "an email", "21 employee ids"],
)
async def test_hostile_requests_get_nothing(as_: dict, params, headers: dict, status: int) -> None:
    referrals = await world()
    async with referrals.http(*as_.get("scopes", ()), alumnus=as_.get("alumnus")) as http:
        response = await http.get("/personal-data", params=params, headers=headers)
    assert response.status_code == status
    assert "hugo" not in response.text and "jules" not in response.text
