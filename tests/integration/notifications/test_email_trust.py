"""A personal email confirmed end to end on the real stack: identity asks, notifications sends the
link to the real SMTP server, the link is opened and confirmed, and a later leaver with that
address is merged as a boomerang; an unsure match is posted to HR's chat channel by ids only."""

import asyncio
import re
import uuid
from datetime import date

import httpx

from shared.events.offboarding import ExitProfile, Leaver, OffboardingCompleted
from tests.integration.notifications.conftest import HR, Messaging


def completed(employee_id: str, hris_email: str | None, typed_email: str | None = None, hire: date = date(2019, 3, 1)) -> OffboardingCompleted:
    """As offboarding sends it: the address typed in the exit form, else the HRIS's, is the leaver's."""
    leaver = Leaver(first_name="Maëlle", last_name="Girard", work_email=f"{employee_id.lower()}@acme.example",
                    personal_email=typed_email or hris_email, locale="fr")
    return OffboardingCompleted(
        case_id=f"{employee_id}/{hire}", employee_id=employee_id, hire_date=hire, departure_date=date(2026, 11, 20),
        departure_reason="resignation", outcome="eligible", leaver=leaver, profile=ExitProfile(personal_email=typed_email),
        hris_personal_email=hris_email,
    )


async def _alumnus(messaging: Messaging, employee_id: str) -> dict:
    async with httpx.AsyncClient() as http:
        for _ in range(150):
            found = await http.get(f"{messaging.identity}/alumni", params={"employee_id": employee_id}, headers=messaging.auth("alumni:read"))
            if found.status_code == 200:
                return found.json()
            await asyncio.sleep(0.2)
    raise AssertionError(f"no alumnus for {employee_id}")


async def test_a_link_sent_by_email_confirms_the_address_and_a_later_leaver_with_it_is_merged(messaging: Messaging) -> None:
    run = uuid.uuid4().hex[:8]
    address = f"maelle.{run}@home.example"
    await messaging.publish(completed(f"E-{run}", address))
    alumnus = await _alumnus(messaging, f"E-{run}")
    assert alumnus["personal_email_verified"] is False

    mails = await messaging.mail_to(address, count=2)
    [confirmation] = [m for m in mails if m["Subject"] == "Confirmez votre adresse e-mail"]
    body = confirmation.get_body(preferencelist=("plain",)).get_content()
    [link] = re.findall(rf"{re.escape(messaging.identity)}/email-confirmation/\S+", body)
    [requested] = await messaging.records("alumni.alumnus.email-confirmation-requested", lambda r: r.key == alumnus["alumnus_id"].encode())
    assert link.rsplit("/", 1)[1] not in requested.value.decode()  # the event named the link; the token was made at send time

    async with httpx.AsyncClient() as http:
        page = await http.get(link)  # what a mail scanner does: nothing changes
        still = await _alumnus(messaging, f"E-{run}")
        confirmed = await http.post(link, data={})
        replayed = await http.post(link, data={})
        forged = await http.post(link[:-4] + "AAAA", data={})
    assert page.status_code == 200 and "Bonjour Maëlle" in page.text and still["personal_email_verified"] is False
    assert confirmed.status_code == 200 and "Merci, votre adresse est confirmée." in confirmed.text
    assert replayed.status_code == 410 and forged.status_code == 404
    assert (await _alumnus(messaging, f"E-{run}"))["personal_email_verified"] is True
    token = link.rsplit("/", 1)[1]
    for _ in range(50):  # spans are exported in batches
        served = [s for s in messaging.traces.snapshot() if s.service == "alumni-identity" and "/email-confirmation/" in str(s.attributes)]
        if len(served) >= 3:
            break
        await asyncio.sleep(0.2)
    assert len(served) >= 3 and all("/email-confirmation/{redacted}" in str(s.attributes) for s in served)
    assert not [s for s in messaging.traces.snapshot() if token in str(s.attributes) or token in s.name]

    await messaging.publish(completed(f"E-{run}-back", address, hire=date(2024, 5, 2)))
    registered = await messaging.records("alumni.alumnus.registered", lambda r: r.key == alumnus["alumnus_id"].encode(), count=2)
    assert [r.json()["boomerang"] for r in registered] == [False, True]
    assert (await _alumnus(messaging, f"E-{run}-back"))["alumnus_id"] == alumnus["alumnus_id"]


async def test_an_address_typed_for_someone_else_puts_their_departure_before_hr_by_ids_only(messaging: Messaging) -> None:
    run = uuid.uuid4().hex[:8]
    victim_address = f"victim.{run}@home.example"
    await messaging.publish(completed(f"E-A{run}", f"attacker.{run}@home.example", typed_email=victim_address))
    attacker = await _alumnus(messaging, f"E-A{run}")
    mails = await messaging.mail_to(victim_address, count=2)  # the welcome, and the owner is asked; they never confirm
    assert sorted(m["Subject"] for m in mails) == ["Bienvenue dans le réseau des anciens, Maëlle", "Confirmez votre adresse e-mail"]

    await messaging.publish(completed(f"E-V{run}", victim_address))
    [post] = [p for p in await messaging.posts(HR, f"E-V{run}", count=2) if p["text"].startswith(":mag:")]
    assert attacker["alumnus_id"] in post["text"] and "@" not in post["text"] and "Maëlle" not in post["text"]
    [opened] = await messaging.records("alumni.alumnus.merge-review-opened", lambda r: r.json()["employee_id"] == f"E-V{run}")
    assert opened.json()["review_id"] in post["text"]
    async with httpx.AsyncClient() as http:
        waiting = await http.get(f"{messaging.identity}/alumni", params={"employee_id": f"E-V{run}"}, headers=messaging.auth("alumni:read"))
        record = await http.get(f"{messaging.identity}/alumni/{attacker['alumnus_id']}", headers=messaging.auth("alumni:read"))
    assert waiting.status_code == 404 and [s["employee_id"] for s in record.json()["stints"]] == [f"E-A{run}"]
