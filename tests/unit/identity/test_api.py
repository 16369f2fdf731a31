"""Identity's HTTP API over an in-memory repository: hostile requests get a 4xx with a message
and change nothing. The API on the real stack: tests/integration/lifecycle/test_identity.py."""

from types import SimpleNamespace

import httpx
import pytest
from fastapi import FastAPI

from services.identity.api import http_router
from services.identity.handlers import event_handlers
from shared.testing.fakes import FakeTransactions, envelope_for
from shared.web.auth import TokenVerifier
from shared.web.limits import BodySizeLimit
from tests.unit.identity.fakes import ERASURE_KEYS, InMemoryAlumni, dependencies
from tests.unit.identity.test_handlers import completed

SECRET = "identity-unit-test-secret-of-32-chars"


async def identity_api() -> tuple[httpx.AsyncClient, InMemoryAlumni, FakeTransactions, str]:
    alumni = InMemoryAlumni()
    deps = dependencies(alumni, new_alumnus_id=lambda: "alm_1")
    transactions = FakeTransactions(state=alumni)
    event = completed(consents={"directory": True})
    _, handler = event_handlers(deps).handlers[event.event_type.type]
    await transactions.run(lambda ctx: handler(event, ctx), envelope=envelope_for(event))
    app = FastAPI()
    app.include_router(http_router(deps))
    app.add_middleware(BodySizeLimit, max_bytes=65536)
    app.state.runtime = SimpleNamespace(transactions=transactions)
    app.state.token_verifier = TokenVerifier(SECRET)
    token = TokenVerifier(SECRET).issue("pm", ["alumni:admin"])
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://identity", headers={"Authorization": f"Bearer {token}"})
    return client, alumni, transactions, token


@pytest.mark.parametrize("page", ["10001", str(10**20), "-1", "x"])
async def test_a_directory_page_out_of_range_is_422(page: str) -> None:
    client, *_ = await identity_api()
    async with client:
        response = await client.get("/directory", params={"page": page})
    assert response.status_code == 422


async def test_the_directory_lists_who_consented() -> None:
    client, *_ = await identity_api()
    async with client:
        response = await client.get("/directory")
    assert response.status_code == 200 and [a["alumnus_id"] for a in response.json()["items"]] == ["alm_1"]


@pytest.mark.parametrize(
    "changes",
    [{"skills": ["sql"] * 2100}, {"profile_urls": ["https://x.example/a"] * 11}, {"first_name": "x" * 501},
     {"linkedin_url": "https://x.example/" + "p" * 3000}, {"phone": "0612345678"}, {"unknown": 1}, {"first_name": None}],
    ids=["2,100 skills", "11 profile urls", "a long name", "a long url", "a phone not E.164", "an unknown field", "a cleared name"],
)
async def test_a_profile_change_that_breaks_a_rule_is_422_and_changes_nothing(changes: dict) -> None:
    client, alumni, transactions, _ = await identity_api()
    before = alumni.alumni["alm_1"].version
    async with client:
        response = await client.patch("/alumni/alm_1", json=changes)
    assert response.status_code == 422 and response.json()["detail"]
    assert alumni.alumni["alm_1"].version == before and len(transactions.events) == 1


async def test_a_body_over_the_bound_is_413_before_it_is_read() -> None:
    client, alumni, *_ = await identity_api()
    async with client:
        response = await client.patch("/alumni/alm_1", content=b'{"skills": [' + b'"sql",' * 20000 + b'"sql"]}',
                                      headers={"Content-Type": "application/json"})
    assert response.status_code == 413


async def test_a_forged_or_missing_token_is_401() -> None:
    client, *_ = await identity_api()
    forged = TokenVerifier("another-secret-that-is-32-chars-long").issue("pm", ["alumni:admin"])
    async with client:
        refused = await client.get("/alumni/alm_1", headers={"Authorization": f"Bearer {forged}"})
        missing = await client.get("/alumni/alm_1", headers={"Authorization": ""})
    assert refused.status_code == 401 and missing.status_code == 401


async def test_an_erasure_remembers_the_stints_by_keyed_hash_only() -> None:
    client, alumni, transactions, _ = await identity_api()
    async with client:
        response = await client.delete("/alumni/alm_1")
    assert response.status_code == 200 and alumni.alumni == {}
    assert list(alumni.erased_people.people) == [ERASURE_KEYS.of_stint("E-1", completed().hire_date)]
    assert "E-1" not in str(alumni.erased_people.people)
