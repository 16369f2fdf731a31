"""A personal email is trusted for merging only once its owner confirmed it, on the real broker
and database through offboarding and identity: a leaver who types someone else's address in the
exit form never absorbs that person, who waits for HR's review instead; confirmation links that
are forged, expired or replayed are refused. With the email at the real SMTP server:
tests/integration/notifications/test_email_trust.py."""

import asyncio
from datetime import timedelta

import httpx

from tests.integration.lifecycle.conftest import TODAY, Lifecycle


async def _form_url(world: Lifecycle, employee_id: str) -> str:
    [issued] = await world.records("alumni.offboarding.exit-form-issued", employee_id)
    return world.form_url(issued.json())


async def test_an_exit_form_with_someone_elses_email_opens_an_hr_review_instead_of_a_merge(world: Lifecycle) -> None:
    victim = world.departure(first_name="Bruno", personal_email=None)
    victim_email = f"{victim['employee_id'].lower()}@home.example"
    attacker = world.departure(first_name="Alex", personal_email=f"alex-{victim['employee_id'].lower()}@home.example")
    await world.depart(attacker)
    attacker_record = await world.alumnus_for(attacker["employee_id"])
    async with httpx.AsyncClient() as http:
        typed = await http.post(await _form_url(world, attacker["employee_id"]), json={"personal_email": victim_email, "phone": "+33699999999"})
    assert typed.status_code == 200
    requests = await world.records("alumni.alumnus.email-confirmation-requested", attacker_record["alumnus_id"], count=2)
    assert [r.json()["email"] for r in requests] == [attacker["personal_email"], victim_email]  # the link goes to the address's owner, who never clicks it

    # The owner of the address leaves: the HRIS has it for them.
    await world.depart(victim | {"personal_email": victim_email, "phone": "+33611111111"})
    review = await _eventually_review(world, victim["employee_id"])
    assert review["alumnus_id"] == attacker_record["alumnus_id"] and review["status"] == "open"
    await asyncio.sleep(1)
    async with httpx.AsyncClient(base_url=world.identity) as http:
        waiting = await http.get("/alumni", params={"employee_id": victim["employee_id"]}, headers=world.auth("alumni:read"))
        attacker_now = (await http.get(f"/alumni/{attacker_record['alumnus_id']}", headers=world.auth("alumni:read"))).json()
        assert waiting.status_code == 404  # not merged, not registered: HR decides
        assert [s["employee_id"] for s in attacker_now["stints"]] == [attacker["employee_id"]]
        assert attacker_now["profile"]["phone"] == "+33699999999" and attacker_now["personal_email_verified"] is False

        kept = await http.post(f"/merge-reviews/{review['review_id']}/resolution", json={"decision": "keep_separate"}, headers=world.auth("alumni:admin"))
        again = await http.post(f"/merge-reviews/{review['review_id']}/resolution", json={"decision": "merge"}, headers=world.auth("alumni:admin"))
        not_admin = await http.get("/merge-reviews", headers=world.auth("alumni:write"))
    assert kept.status_code == 200 and kept.json()["alumnus_id"] != attacker_record["alumnus_id"]
    assert again.status_code == 409 and not_admin.status_code == 403
    victim_record = await world.alumnus_for(victim["employee_id"])
    assert victim_record["alumnus_id"] == kept.json()["alumnus_id"] and victim_record["profile"]["phone"] == "+33611111111"
    [event] = await world.records("alumni.alumnus.merge-review-opened", review["review_id"])
    assert set(event.json()) == {"review_id", "employee_id", "alumnus_id", "opened_at"}


async def _eventually_review(world: Lifecycle, employee_id: str, timeout: float = 30) -> dict:
    deadline = asyncio.get_running_loop().time() + timeout
    async with httpx.AsyncClient(base_url=world.identity) as http:
        while True:
            listed = await http.get("/merge-reviews", headers=world.auth("alumni:admin"))
            assert listed.status_code == 200, listed.text
            if found := [r for r in listed.json()["items"] if r["employee_id"] == employee_id]:
                return found[0]
            assert asyncio.get_running_loop().time() < deadline, f"no merge review for {employee_id}"
            await asyncio.sleep(0.2)


async def test_forged_expired_and_replayed_confirmation_links_are_refused(world: Lifecycle) -> None:
    first, second = world.departure(personal_email=None), world.departure(personal_email=None)
    for departure in (first, second):
        await world.depart(departure | {"personal_email": f"{departure['employee_id'].lower()}@home.example"})
    one, two = [await world.alumnus_for(d["employee_id"]) for d in (first, second)]
    [used] = await world.records("alumni.alumnus.email-confirmation-requested", one["alumnus_id"])
    [late] = await world.records("alumni.alumnus.email-confirmation-requested", two["alumnus_id"])
    async with httpx.AsyncClient() as http:
        forged = await http.post(f"{world.identity}/email-confirmation/{'A' * 43}", json={})
        oversized = await http.get(f"{world.identity}/email-confirmation/{'A' * 4000}")
        page = await http.get(world.confirmation_url(used.json()))
        confirmed = await http.post(world.confirmation_url(used.json()), json={})
        replayed = await http.post(world.confirmation_url(used.json()), json={})
        world.set_clock(TODAY + timedelta(days=8))
        expired = await http.post(world.confirmation_url(late.json()), json={})
        expired_page = await http.get(world.confirmation_url(late.json()))
    assert forged.status_code == 404 and oversized.status_code == 404
    assert page.status_code == 200 and "Bonjour Élodie" in page.text
    assert confirmed.status_code == 200 and confirmed.json() == {"status": "confirmed"}
    assert replayed.status_code == 410 and expired.status_code == 410 and expired_page.status_code == 410
    assert "expiré" in expired_page.text
    assert (await world.alumnus_for(first["employee_id"]))["personal_email_verified"] is True
    assert (await world.alumnus_for(second["employee_id"]))["personal_email_verified"] is False
    [confirmed_event] = await world.records("alumni.alumnus.email-confirmed", one["alumnus_id"])
    assert set(confirmed_event.json()) == {"alumnus_id", "version", "confirmed_at"}
