"""POST /referrals and reading referrals, over in-memory repositories: every status of the
issue, and hostile requests refused with nothing written."""

import pytest

from shared.events.referrals import AlumnusReferred
from shared.web.auth import TokenVerifier
from tests.unit.referrals.events import candidate, client, erased, registered
from tests.unit.referrals.fakes import Referrals


async def service(*alumni: str) -> Referrals:
    referrals = Referrals()
    for alumnus_id in alumni or ("alm_1",):
        await referrals.handle(registered(alumnus_id, email=f"{alumnus_id}@home.example"))
    return referrals


async def test_an_alumnus_refers_a_candidate_and_the_referral_is_announced() -> None:
    referrals = await service()
    async with referrals.http(alumnus="alm_1") as http:
        response = await http.post("/referrals", json=candidate())
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "submitted" and body["alumnus_id"] == "alm_1" and body["referral_id"] == "ref_1"
    [referred] = referrals.published(AlumnusReferred)
    assert (referred.referral_id, referred.alumnus_id, referred.referred_name, str(referred.referred_email)) == (
        "ref_1", "alm_1", "Hugo Lambert", "hugo@example.org")


async def test_a_recruiter_refers_on_an_alumnus_behalf_and_must_name_them() -> None:
    referrals = await service()
    async with referrals.http("referrals:write") as http:
        named = await http.post("/referrals", json=client(alumnus_id="alm_1"))
        unnamed = await http.post("/referrals", json=client(company="Globex"))
    async with referrals.http("referrals:read") as http:
        reader = await http.post("/referrals", json=client(alumnus_id="alm_1", company="Initech"))
    assert named.status_code == 201 and named.json()["kind"] == "client"
    assert unnamed.status_code == 422 and "alumnus_id" in unnamed.text
    assert reader.status_code == 403


@pytest.mark.parametrize(("body", "field"), [
    (candidate(candidate_consent=False), "candidate_consent"),
    (candidate(candidate_consent="yes"), "candidate_consent"),
    (candidate(candidate_email="  ALM_1@Home.Example "), "candidate_email"),
    ({k: v for k, v in candidate().items() if k != "candidate_consent"}, "candidate_consent"),
    (candidate(candidate_email="not-an-address"), "candidate_email"),
    (candidate(candidate_name="x" * 501), "candidate_name"),
    (candidate(note="x" * 2001), "note"),
    (candidate(unknown=1), "unknown"),
    (client(estimated_value={"amount": "-5", "currency": "EUR"}), "amount"),
    (client(estimated_value={"amount": "5", "currency": "euro"}), "currency"),
    ({"kind": "partner"}, "kind"),
], ids=["no consent", "consent as a string", "own address", "consent missing", "bad email", "long name", "long note", "unknown field",
        "negative value", "bad currency", "unknown kind"])
async def test_a_submission_that_breaks_a_rule_is_422_naming_the_field(body: dict, field: str) -> None:
    referrals = await service()
    async with referrals.http(alumnus="alm_1") as http:
        response = await http.post("/referrals", json=body)
    assert response.status_code == 422 and field in response.text
    assert referrals.store.referrals == {} and referrals.published(AlumnusReferred) == []


@pytest.mark.parametrize(("first", "second"), [
    (candidate(candidate_email="Hugo@Example.org"), candidate(candidate_email=" hugo@example.ORG ")),
    (client(company="Acme SAS"), client(company="  ACME, s.a.s.")),
    (client(company="Société Générale"), client(company="societe generale")),
], ids=["email case and spaces", "company legal form", "company accents"])
async def test_the_first_referrer_wins_and_the_answer_never_says_who(first: dict, second: dict) -> None:
    referrals = await service("alm_1", "alm_2")
    async with referrals.http(alumnus="alm_1") as http:
        assert (await http.post("/referrals", json=first)).status_code == 201
    async with referrals.http(alumnus="alm_2") as http:
        duplicate = await http.post("/referrals", json=second)
    assert duplicate.status_code == 409 and "alm_1" not in duplicate.text and "ref_1" not in duplicate.text
    assert len(referrals.store.referrals) == 1


async def test_a_plus_tag_is_another_address() -> None:
    referrals = await service("alm_1", "alm_2")
    async with referrals.http(alumnus="alm_1") as http:
        assert (await http.post("/referrals", json=candidate())).status_code == 201
    async with referrals.http(alumnus="alm_2") as http:
        assert (await http.post("/referrals", json=candidate(candidate_email="hugo+jobs@example.org"))).status_code == 201


async def test_after_the_validity_window_the_candidate_can_be_referred_again() -> None:
    referrals = await service("alm_1", "alm_2")
    async with referrals.http(alumnus="alm_1") as http:
        assert (await http.post("/referrals", json=candidate())).status_code == 201
    referrals.now = referrals.now.replace(year=2027, month=6)  # 191 days later, no movement
    async with referrals.http(alumnus="alm_2") as http:
        again = await http.post("/referrals", json=candidate())
    assert again.status_code == 201 and again.json()["alumnus_id"] == "alm_2"


@pytest.mark.parametrize("who", ["unknown", "erased"])
async def test_a_referrer_who_is_not_an_alumnus_is_403(who: str) -> None:
    referrals = await service("alm_1")
    if who == "erased":
        await referrals.handle(erased("alm_1"))
        await referrals.handle(registered("alm_1", version=9))  # a late registration brings no one back
    async with referrals.http(alumnus="alm_1" if who == "erased" else "alm_404") as http:
        response = await http.post("/referrals", json=candidate())
    assert response.status_code == 403 and referrals.store.referrals == {}


async def test_an_alumnus_sees_their_own_referrals_only() -> None:
    referrals = await service("alm_1", "alm_2")
    async with referrals.http(alumnus="alm_1") as http:
        await http.post("/referrals", json=candidate())
    async with referrals.http(alumnus="alm_2") as http:
        await http.post("/referrals", json=client())
        mine = await http.get("/referrals")
        theirs = await http.get("/referrals/ref_1")
        asked = await http.get("/referrals", params={"alumnus_id": "alm_1"})
    async with referrals.http("referrals:read") as http:
        everything = await http.get("/referrals", params={"kind": "candidate"})
        one = await http.get("/referrals/ref_1")
    assert [r["referral_id"] for r in mine.json()["items"]] == ["ref_2"]
    assert theirs.status_code == 404 and asked.status_code == 403
    assert everything.json()["total"] == 1 and one.json()["candidate_email"] == "hugo@example.org"


async def test_hostile_requests_are_refused_before_anything_is_written() -> None:
    referrals = await service()
    forged = TokenVerifier("another-secret-that-is-32-chars-long").issue("alumnus:alm_1", ["alumni:self"])
    async with referrals.http(alumnus="alm_1") as http:
        oversized = await http.post("/referrals", content=b'{"note": "' + b"x" * 70_000 + b'"}', headers={"Content-Type": "application/json"})
        malformed = await http.post("/referrals", content=b'{"kind": "candidate", ', headers={"Content-Type": "application/json"})
        forgery = await http.post("/referrals", json=candidate(), headers={"Authorization": f"Bearer {forged}"})
        page = await http.get("/referrals", params={"page": "10001"})
    assert (oversized.status_code, malformed.status_code, forgery.status_code, page.status_code) == (413, 422, 401, 422)
    assert referrals.store.referrals == {}


async def test_an_identifier_past_its_bound_is_422() -> None:
    referrals = await service()
    async with referrals.http("referrals:admin") as http:
        answers = [await http.get("/referrals/" + "r" * 129), await http.patch("/referrals/" + "r" * 129, json={"status": "withdrawn"}),
                   await http.post("/bonuses/" + "b" * 129 + "/approve")]
    assert [a.status_code for a in answers] == [422, 422, 422]
