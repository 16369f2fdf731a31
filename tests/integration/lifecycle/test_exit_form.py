"""The exit form behind the one-time link: before the departure date its answers ride on the
completion, after it they update the alumnus; a used, expired or unknown link is refused."""

from datetime import timedelta

import httpx

from tests.integration.lifecycle.conftest import TODAY, Lifecycle

ANSWERS = {
    "personal_email": "camille.roux@example.org",
    "phone": "+33699887766",
    "linkedin_url": "https://www.linkedin.com/in/camille-roux",
    "skills": ["Kafka", "Data governance"],
    "willing_to": ["mentor", "speak_at_events"],
    "consents": {"directory": True, "events": True, "newsletter": False},
}


async def _form_url(world: Lifecycle, employee_id: str) -> str:
    [issued] = await world.records("alumni.offboarding.exit-form-issued", employee_id)
    return world.form_url(issued.json())


async def test_answers_before_the_departure_date_ride_on_the_completion(world: Lifecycle) -> None:
    departure = world.departure(first_name="Camille", departure_date="2026-12-10")
    await world.depart(departure)
    url = await _form_url(world, departure["employee_id"])

    async with httpx.AsyncClient() as http:
        page = await http.get(url)
        recorded = await http.post(url, json=ANSWERS)
        again = await http.post(url, json=ANSWERS)
        reopened = await http.get(url)

    assert page.status_code == 200 and '<html lang="fr">' in page.text and "Bonjour Camille" in page.text
    assert recorded.status_code == 200 and recorded.json() == {"status": "recorded"}
    assert again.status_code == 410 and "already used" in again.json()["detail"]
    assert reopened.status_code == 410 and "déjà servi" in reopened.text

    world.set_clock(TODAY + timedelta(days=18))  # 2026-12-10
    [completed] = await world.records("alumni.offboarding.completed", departure["employee_id"])
    alumnus = await world.alumnus_for(departure["employee_id"])

    assert completed.json()["profile"]["skills"] == ["Kafka", "Data governance"]
    assert alumnus["profile"]["personal_email"] == "camille.roux@example.org"
    assert alumnus["personal_email_verified"] is False  # typed in the form: it waits for its owner's confirmation
    assert alumnus["profile"]["willing_to"] == ["mentor", "speak_at_events"]
    assert alumnus["consents"] == {"directory": True, "events": True, "newsletter": False}


async def test_answers_after_completion_update_the_alumnus(world: Lifecycle) -> None:
    departure = world.departure(locale="en")
    await world.depart(departure)
    url = await _form_url(world, departure["employee_id"])
    alumnus = await world.alumnus_for(departure["employee_id"])
    assert alumnus["consents"] == {}

    async with httpx.AsyncClient() as http:
        page = await http.post(url, data={
            "personal_email": "late@example.org", "phone": "", "skills": "Negotiation, Mandarin",
            "willing_to": ["refer_clients"], "consent": ["newsletter", "job_opportunities"],
        })

    assert page.status_code == 200 and "Thank you, your answers are recorded." in page.text
    [submitted] = await world.records("alumni.offboarding.exit-form-submitted", departure["employee_id"])
    assert submitted.json()["profile"]["skills"] == ["Negotiation", "Mandarin"]
    consent_changes = await world.records("alumni.alumnus.consent-changed", alumnus["alumnus_id"], count=5, timeout=15)
    granted = {r.json()["purpose"]: r.json()["granted"] for r in consent_changes}
    assert granted == {"directory": False, "newsletter": True, "events": False, "job_opportunities": True, "referral_programme": False}
    assert {r.json()["source"] for r in consent_changes} == {"exit-form"}
    [updated] = await world.records("alumni.alumnus.updated", alumnus["alumnus_id"])
    assert updated.json()["changed"] == ["personal_email", "skills", "willing_to"]
    refreshed = await world.alumnus_for(departure["employee_id"])
    assert refreshed["profile"]["skills"] == ["Negotiation", "Mandarin"] and refreshed["personal_email_verified"] is False
    [requested] = await world.records("alumni.alumnus.email-confirmation-requested", alumnus["alumnus_id"])
    assert requested.json()["email"] == "late@example.org" and "token" not in requested.value.decode()


async def test_expired_unknown_and_invalid_submissions_are_refused(world: Lifecycle) -> None:
    departure = world.departure(departure_date="2026-12-01")
    await world.depart(departure)
    url = await _form_url(world, departure["employee_id"])

    async with httpx.AsyncClient() as http:
        invalid = await http.post(url, json=ANSWERS | {"phone": "0612", "willing_to": ["juggle"]})
        unknown = await http.get(url.rsplit("/", 1)[0] + "/not-a-token", headers={"Accept-Language": "en"})
        world.set_clock(TODAY + timedelta(days=45))  # past 2026-12-01 + 30 days
        expired = await http.get(url)
        expired_post = await http.post(url, json=ANSWERS)

    assert invalid.status_code == 422
    assert "phone: String should match pattern" in invalid.json()["detail"] and "willing_to.0: Input should be" in invalid.json()["detail"]
    assert unknown.status_code == 404 and "This link is not known." in unknown.text
    assert expired.status_code == 410 and "Ce lien a expiré." in expired.text
    assert expired_post.status_code == 410 and expired_post.json()["detail"] == "this link has expired"
