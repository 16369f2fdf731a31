"""Offboarding's HTTP API over in-memory repositories: the exit form's statuses and languages,
and an HRIS webhook's replay refused. The same on the real stack: tests/integration/lifecycle/
(test_exit_form.py, test_webhooks.py)."""

import json
from types import SimpleNamespace

import httpx
from fastapi import FastAPI
from pydantic import SecretStr

from services.offboarding.api import http_router
from services.offboarding.intake.signatures import sign_generic
from services.offboarding.intake.sources import HrisSource
from shared.web.auth import TokenVerifier
from shared.events.hris import EmployeeDeparted, EmployeeDepartureCancelled
from shared.events.offboarding import ExitFormSubmitted
from tests.unit.offboarding.fakes import Offboarding, departure

TOKENS = TokenVerifier("offboarding-unit-test-jwt-secret-32c")
ANSWERS = {"personal_email": "lea@home.example", "skills": ["Kafka"], "consents": {"events": True}}


def client(offboarding: Offboarding) -> httpx.AsyncClient:
    app = FastAPI()
    app.include_router(http_router(offboarding.deps))
    app.state.runtime = SimpleNamespace(transactions=offboarding.transactions, clock=offboarding.clock)
    app.state.token_verifier = TOKENS
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://offboarding")


async def test_the_form_is_shown_then_recorded_once_in_the_leavers_language() -> None:
    offboarding = Offboarding()
    await offboarding.handle(departure())
    url = f"/exit-form/{offboarding.token()}"
    async with client(offboarding) as http:
        page = await http.get(url, headers={"Accept-Language": "en"})
        recorded = await http.post(url, data={"skills": "Kafka, SQL", "consent": ["events"]})
        again = await http.post(url, json=ANSWERS)
        reopened = await http.get(url, headers={"Accept-Language": "en"})

    assert page.status_code == 200 and '<html lang="fr">' in page.text and "Bonjour Léa" in page.text
    assert recorded.status_code == 200 and "Merci, vos réponses sont enregistrées." in recorded.text
    assert (again.status_code, again.json()) == (410, {"detail": "this link was already used: the exit form was submitted"})
    assert reopened.status_code == 410 and "Ce lien a déjà servi" in reopened.text
    [submitted] = offboarding.published(ExitFormSubmitted)
    assert submitted.profile.skills == ["Kafka", "SQL"]


async def test_refusals_before_the_case_is_known_speak_the_browsers_language() -> None:
    offboarding = Offboarding()
    async with client(offboarding) as http:
        english = await http.get("/exit-form/nope", headers={"Accept-Language": "en-GB,en;q=0.9"})
        french = await http.get("/exit-form/nope", headers={"Accept-Language": "fr-FR"})
        as_json = await http.post("/exit-form/nope", json=ANSWERS)

    assert english.status_code == 404 and "This link is not known." in english.text
    assert french.status_code == 404 and "Ce lien est inconnu." in french.text
    assert (as_json.status_code, as_json.json()) == (404, {"detail": "this link is not known"})


async def test_expired_cancelled_and_invalid_submissions() -> None:
    offboarding = Offboarding()
    await offboarding.handle(departure(employee_id="E-1", departure_date="2026-12-31"))
    await offboarding.handle(departure(employee_id="E-2", departure_date="2026-12-01", locale="en"))
    await offboarding.handle(EmployeeDepartureCancelled(employee_id="E-1"))
    async with client(offboarding) as http:
        cancelled = await http.post(f"/exit-form/{offboarding.token('E-1')}", data={"skills": "Go"})
        invalid = await http.post(f"/exit-form/{offboarding.token('E-2')}", json=ANSWERS | {"phone": "0612", "willing_to": ["juggle"]})
        invalid_form = await http.post(f"/exit-form/{offboarding.token('E-2')}", data={"phone": "0612"}, headers={"Accept-Language": "fr"})
        not_json = await http.post(f"/exit-form/{offboarding.token('E-2')}", content=b"{oops", headers={"Content-Type": "application/json"})
        offboarding.clock.move(days=45)
        expired = await http.get(f"/exit-form/{offboarding.token('E-2')}", headers={"Accept-Language": "fr"})
        expired_post = await http.post(f"/exit-form/{offboarding.token('E-2')}", json=ANSWERS)

    assert cancelled.status_code == 409 and "Ce départ a été annulé" in cancelled.text
    assert invalid.status_code == 422
    assert "phone: String should match pattern" in invalid.json()["detail"] and "willing_to.0: Input should be" in invalid.json()["detail"]
    assert invalid_form.status_code == 422 and '<html lang="fr">' in invalid_form.text and "phone: String should match pattern" in invalid_form.text
    assert not_json.status_code == 422 and not_json.json()["detail"].startswith("the body is not JSON")
    assert expired.status_code == 410 and "This link has expired." in expired.text  # the leaver reads English
    assert (expired_post.status_code, expired_post.json()) == (410, {"detail": "this link has expired"})


async def test_a_signed_webhook_is_published_once_and_its_replay_refused() -> None:
    offboarding = Offboarding(hris_sources={"acme": HrisSource(kind="generic", secret=SecretStr("s3cret"))})
    body = json.dumps(departure(employee_id="E-7").model_dump(mode="json")).encode()
    timestamp = str(int(offboarding.clock().timestamp()))
    headers = {"X-Timestamp": timestamp, "X-Signature": sign_generic("s3cret", timestamp, body), "Content-Type": "application/json"}
    async with client(offboarding) as http:
        good = await http.post("/webhooks/hris/acme", content=body, headers=headers)
        replayed = await http.post("/webhooks/hris/acme", content=body, headers=headers)
        unknown = await http.post("/webhooks/hris/nobody", content=body, headers=headers)

    assert good.status_code == 202 and good.json()["event_id"]
    assert (replayed.status_code, replayed.json()) == (401, {"detail": "this request was received before: a replay is refused"})
    assert unknown.status_code == 404
    [(published, envelope)] = offboarding.transactions.committed
    assert isinstance(published, EmployeeDeparted) and envelope.source == "/hris/acme" and envelope.id == good.json()["event_id"]
    assert len(offboarding.store.webhook_requests) == 1
