"""Referrals with alumni that identity registered: the first referrer wins across two alumni,
the referral is announced through the outbox and the referrer gets the email, and hostile
requests (oversized, malformed, forged, from someone who is not or no longer an alumnus) are
refused with nothing written."""

import uuid

import httpx

from shared.web.auth import TokenVerifier
from tests.integration.referrals.conftest import Programme, until


def candidate(email: str, **fields) -> dict:
    return {"kind": "candidate", "candidate_name": "Hugo Lambert", "candidate_email": email, "position": "Data engineer",
            "candidate_consent": True} | fields


async def test_the_first_referrer_wins_across_two_alumni_and_is_told(world: Programme) -> None:
    (first, first_email), (second, _) = await world.alumnus(), await world.alumnus()
    email = f"hugo.{uuid.uuid4().hex[:8]}@example.org"
    accepted = await world.refer(first, candidate(email.upper()))
    duplicate = await world.refer(second, candidate(f"  {email} "))
    company = f"Globex {uuid.uuid4().hex[:6]}"
    client = await world.refer(second, {"kind": "client", "company": f"{company} SAS", "contact_name": "Nora Petit", "opportunity": "ERP"})
    client_again = await world.refer(first, {"kind": "client", "company": company.lower(), "contact_name": "N. Petit", "opportunity": "ERP"})

    assert accepted.status_code == 201, accepted.text
    assert duplicate.status_code == 409 and first not in duplicate.text and accepted.json()["referral_id"] not in duplicate.text
    assert client.status_code == 201 and client_again.status_code == 409
    referral_id = accepted.json()["referral_id"]
    [announced] = await world.records("alumni.referral.submitted", lambda r: r.key == referral_id.encode())
    assert announced.headers["ce_type"] == "com.alumni.referral.submitted.v1" and announced.json()["alumnus_id"] == first
    [mail] = await world.mail_to(first_email, "recommandation")  # the alumnus reads French
    assert "Hugo Lambert" in mail.get_body(("plain",)).get_content()


async def test_hostile_requests_are_refused_and_write_nothing(world: Programme) -> None:
    alumnus_id, own_email = await world.alumnus()
    forged = TokenVerifier("another-secret-that-is-32-chars-long!").issue(f"alumnus:{alumnus_id}", ["alumni:self"])
    async with httpx.AsyncClient(base_url=world.referrals, headers=world.auth(alumnus=alumnus_id)) as http:
        oversized = await http.post("/referrals", content=b'{"note": "' + b"x" * 70_000 + b'"}', headers={"Content-Type": "application/json"})
        malformed = await http.post("/referrals", content=b'{"kind": "candidate",', headers={"Content-Type": "application/json"})
        forgery = await http.post("/referrals", json=candidate("a@example.org"), headers={"Authorization": f"Bearer {forged}"})
        own = await http.post("/referrals", json=candidate(own_email.upper()))
        no_consent = await http.post("/referrals", json=candidate("b@example.org", candidate_consent=False))
        stranger = await http.post("/referrals", json=candidate("c@example.org"), headers=world.auth(alumnus="alm_unknown"))
        mine = await http.get("/referrals")
    assert (oversized.status_code, malformed.status_code, forgery.status_code, stranger.status_code) == (413, 422, 401, 403)
    assert own.status_code == 422 and "candidate_email" in own.text
    assert no_consent.status_code == 422 and "candidate_consent" in no_consent.text
    assert mine.json()["total"] == 0


async def test_an_erased_alumnus_is_refused_and_their_referrals_lose_the_link(world: Programme) -> None:
    alumnus_id, _ = await world.alumnus()
    referral_id = (await world.refer(alumnus_id, candidate(f"x.{uuid.uuid4().hex[:8]}@example.org"))).json()["referral_id"]
    async with httpx.AsyncClient() as http:
        erased = await http.delete(f"{world.identity}/alumni/{alumnus_id}", headers=world.auth("alumni:admin"))
    assert erased.status_code == 200

    async def anonymised() -> dict | None:
        referral = await world.referral(referral_id)
        return referral if referral["alumnus_id"] is None else None

    referral = await until(anonymised)
    assert referral["status"] == "submitted"  # the referral and its counts stay
    refused = await world.refer(alumnus_id, candidate(f"y.{uuid.uuid4().hex[:8]}@example.org"))
    assert refused.status_code == 403


async def test_simultaneous_referrals_of_one_candidate_have_one_winner(world: Programme) -> None:
    import asyncio

    alumni = [(await world.alumnus())[0] for _ in range(4)]
    email = f"sought.after.{uuid.uuid4().hex[:8]}@example.org"
    answers = await asyncio.gather(*(world.refer(a, candidate(email)) for a in alumni))
    assert sorted(a.status_code for a in answers) == [201, 409, 409, 409]
    async with httpx.AsyncClient() as http:
        theirs = [(await http.get(f"{world.referrals}/referrals", params={"alumnus_id": a}, headers=world.auth("referrals:read"))).json()
                  for a in alumni]
    assert [r.get("candidate_email") for listed in theirs for r in listed["items"]].count(email) == 1
