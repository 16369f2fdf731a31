"""GDPR access across services: each service's `/personal-data` (who may ask for which ids, bounded
identifiers, never an email) and identity's gathering from its peers (the caller's token
forwarded, a peer that does not answer named with its reason). The same across real processes:
tests/integration/lifecycle/test_export.py."""

import dataclasses
from types import SimpleNamespace

import httpx
import pytest
from fastapi import FastAPI

from services.identity.api import http_router
from services.identity.handlers import event_handlers
from shared.testing.fakes import FakeTransactions, envelope_for
from shared.web.auth import TokenVerifier
from shared.web.personal_data import Peers, PersonalDataQuery, personal_data_router
from tests.unit.identity.fakes import InMemoryAlumni, dependencies
from tests.unit.identity.test_handlers import completed

TOKENS = TokenVerifier("personal-data-unit-test-secret-32-chars")
ADMIN = {"Authorization": f"Bearer {TOKENS.issue('hr', ['alumni:admin'])}"}


def as_alumnus(alumnus_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS.issue(f'alumnus:{alumnus_id}', ['alumni:self'])}"}


def service_with_personal_data() -> tuple[httpx.AsyncClient, list[PersonalDataQuery]]:
    asked: list[PersonalDataQuery] = []

    async def gather(uow, query: PersonalDataQuery) -> dict:
        asked.append(query)
        return {"things": [{"about": query.alumnus_id, "employees": list(query.employee_ids)}]}

    app = FastAPI()
    app.include_router(personal_data_router("demo", gather))
    app.state.runtime = SimpleNamespace(transactions=FakeTransactions())
    app.state.token_verifier = TOKENS
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://demo"), asked


async def test_an_admin_asks_for_any_ids_and_gets_the_services_records() -> None:
    client, asked = service_with_personal_data()
    async with client:
        response = await client.get("/personal-data", params=[("alumnus_id", "alm_1"), ("employee_id", "E-1"), ("employee_id", "E-1")], headers=ADMIN)
    assert response.status_code == 200
    assert response.json() == {"service": "demo", "records": {"things": [{"about": "alm_1", "employees": ["E-1"]}]}}
    assert asked == [PersonalDataQuery("alm_1", ("E-1",))]


async def test_an_alumnus_asks_for_their_own_records_only() -> None:
    client, asked = service_with_personal_data()
    async with client:
        own = await client.get("/personal-data", params={"alumnus_id": "alm_1"}, headers=as_alumnus("alm_1"))
        other = await client.get("/personal-data", params={"alumnus_id": "alm_2"}, headers=as_alumnus("alm_1"))
        by_employee = await client.get("/personal-data", params={"alumnus_id": "alm_1", "employee_id": "E-2"}, headers=as_alumnus("alm_1"))
    assert own.status_code == 200 and asked == [PersonalDataQuery("alm_1", ())]
    assert (other.status_code, by_employee.status_code) == (403, 403)
    assert by_employee.json()["detail"] == "employee_id needs the alumni:admin scope"


@pytest.mark.parametrize(
    ("params", "headers", "status"),
    [
        ({"alumnus_id": "alm_1"}, {}, 401),
        ({"alumnus_id": "alm_1"}, {"Authorization": "Bearer " + TokenVerifier("a-forger-secret-of-32-characters!").issue("x", ["alumni:admin"])}, 401),
        ({"alumnus_id": "alm_1"}, {"Authorization": f"Bearer {TOKENS.issue('pm', ['alumni:write'])}"}, 403),
        ({}, ADMIN, 422),
        ({"employee_id": "lea@home.example"}, ADMIN, 422),
        ({"alumnus_id": "a" * 129}, ADMIN, 422),
        ({"alumnus_id": "alm_1\n"}, ADMIN, 422),
        ([("employee_id", f"E-{i}") for i in range(21)], ADMIN, 422),
    ],
    ids=["no token", "forged", "without the admin scope", "no id", "an email", "oversized", "a control character", "21 employee ids"],
)
async def test_hostile_or_malformed_requests_are_refused_before_anything_is_read(params, headers: dict, status: int) -> None:
    client, asked = service_with_personal_data()
    async with client:
        response = await client.get("/personal-data", params=params, headers=headers)
    assert response.status_code == status and asked == []
    if status == 422 and params and "employee_id" in str(params):
        assert "employee_id" in response.text


def peers_answering(seen: list[httpx.Request]) -> Peers:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        host = request.url.host
        if host == "offboarding":
            return httpx.Response(200, json={"service": "offboarding", "records": {"exit_cases": [{"_id": "E-1/2019-01-01"}]}})
        if host == "notifications":
            return httpx.Response(500, text="boom")
        if host == "engagement":
            return httpx.Response(200, json={"service": "referrals", "records": {}})
        raise httpx.ConnectError("refused", request=request)

    urls = {name: f"http://{name}:80" for name in ("offboarding", "notifications", "engagement", "referrals")}
    return Peers(httpx.AsyncClient(transport=httpx.MockTransport(answer)), urls)


async def test_peers_are_asked_with_the_callers_token_and_those_that_do_not_answer_are_named() -> None:
    seen: list[httpx.Request] = []
    records, unanswered = await peers_answering(seen).gather("Bearer t0k3n", PersonalDataQuery("alm_1", ("E-1", "E-2")))
    assert records == {"offboarding": {"exit_cases": [{"_id": "E-1/2019-01-01"}]}}
    assert unanswered == [
        {"service": "engagement", "reason": "answered something that is not its personal data"},
        {"service": "notifications", "reason": "answered HTTP 500"},
        {"service": "referrals", "reason": "unreachable (ConnectError)"},
    ]
    assert {r.headers["authorization"] for r in seen} == {"Bearer t0k3n"}
    assert {str(r.url.query, "ascii") for r in seen} == {"alumnus_id=alm_1&employee_id=E-1&employee_id=E-2"}


async def identity_with_peers(seen: list[httpx.Request]) -> httpx.AsyncClient:
    alumni = InMemoryAlumni()
    deps = dataclasses.replace(dependencies(alumni, new_alumnus_id=lambda: "alm_1"), peers=peers_answering(seen))
    transactions = FakeTransactions(state=alumni)
    event = completed()
    _, handler = event_handlers(deps).handlers[event.event_type.type]
    await transactions.run(lambda ctx: handler(event, ctx), envelope=envelope_for(event))
    app = FastAPI()
    app.include_router(http_router(deps))
    app.state.runtime = SimpleNamespace(transactions=transactions)
    app.state.token_verifier = TOKENS
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://identity")


async def test_identitys_export_gathers_every_service_and_says_which_did_not_answer() -> None:
    seen: list[httpx.Request] = []
    async with await identity_with_peers(seen) as client:
        by_hr = (await client.get("/alumni/alm_1/export", headers=ADMIN)).json()
        asked_by_hr = {str(r.url.query, "ascii") for r in seen}
        seen.clear()
        own = (await client.get("/alumni/alm_1/export", headers=as_alumnus("alm_1"))).json()
    assert by_hr["alumnus"]["alumnus_id"] == "alm_1" and by_hr["services"]["offboarding"]["exit_cases"]
    assert [u["service"] for u in by_hr["unanswered"]] == ["engagement", "notifications", "referrals"]
    assert asked_by_hr == {"alumnus_id=alm_1&employee_id=E-1"}  # HR's export reaches records kept by employee id
    assert {str(r.url.query, "ascii") for r in seen} == {"alumnus_id=alm_1"}  # an alumnus's own token names only them
    assert own["alumnus"]["alumnus_id"] == "alm_1"
