"""Hostile HRIS webhooks: a replay with a mutated signature header, an identifier that would
walk the vendor's API, a departure dated at the end of time. Each is refused clearly, and none
reaches a vendor or the outbox."""

import json

import httpx
import pytest
from pydantic import SecretStr

from services.offboarding.intake.signatures import sign_bamboohr, sign_generic
from services.offboarding.intake.sources import HrisSource
from shared.events.hris import EmployeeDeparted
from tests.unit.offboarding.fakes import Offboarding, departure
from tests.unit.offboarding.test_api import client

SECRET = "a-webhook-secret-of-32-characters!"


def generic(offboarding: Offboarding, payload: dict) -> tuple[bytes, dict]:
    body = json.dumps(payload).encode()
    timestamp = str(int(offboarding.clock().timestamp()))
    return body, {"X-Timestamp": timestamp, "X-Signature": sign_generic(SECRET, timestamp, body), "Content-Type": "application/json"}


@pytest.mark.parametrize("mutation", ["\xa0", " ", "\t"], ids=["no-break space", "space", "tab"])
async def test_a_replay_with_a_mutated_signature_header_is_refused(mutation: str) -> None:
    offboarding = Offboarding(hris_sources={"acme": HrisSource(kind="generic", secret=SecretStr(SECRET))})
    payload = departure(employee_id="E-7").model_dump(mode="json")
    async with client(offboarding) as http:
        body, headers = generic(offboarding, payload)
        first = await http.post("/webhooks/hris/acme", content=body, headers=headers)
        mutated = headers | {"X-Signature": (headers["X-Signature"] + mutation).encode("latin-1")}
        replayed = await http.post("/webhooks/hris/acme", content=body, headers=mutated)
    assert first.status_code == 202
    assert (replayed.status_code, replayed.json()["detail"]) == (401, "this request was received before: a replay is refused")
    assert len(offboarding.transactions.committed) == 1


@pytest.mark.parametrize("employee_id", ["../../v1/meta/users", "1/../../x", "1?fields=all", "1#", "%2e%2e", "a" * 200, "é"])
async def test_an_identifier_that_is_not_a_workers_id_never_reaches_the_vendor(employee_id: str) -> None:
    calls: list[httpx.Request] = []
    vendor = httpx.AsyncClient(transport=httpx.MockTransport(lambda request: calls.append(request) or httpx.Response(200, json={})))
    source = HrisSource(kind="bamboohr", secret=SecretStr(SECRET), api_base_url="https://api.bamboohr.example", company_domain="acme",
                        api_key=SecretStr("k"))
    offboarding = Offboarding(hris_sources={"bamboo": source}, vendor_api=vendor)
    body = json.dumps({"employees": [{"id": employee_id, "changedFields": ["terminationDate"]}]}).encode()
    timestamp = str(int(offboarding.clock().timestamp()))
    headers = {"X-BambooHR-Timestamp": timestamp, "X-BambooHR-Signature": sign_bamboohr(SECRET, timestamp, body)}
    async with client(offboarding) as http:
        refused = await http.post("/webhooks/hris/bamboo", content=body, headers=headers)
    assert refused.status_code == 422 and "employees.id" in refused.json()["detail"]["message"]
    assert calls == [] and offboarding.transactions.committed == []


async def test_a_departure_at_the_end_of_time_is_refused_not_retried_for_ever() -> None:
    offboarding = Offboarding(hris_sources={"acme": HrisSource(kind="generic", secret=SecretStr(SECRET))})
    payload = departure(employee_id="E-9").model_dump(mode="json") | {"departure_date": "9999-12-31"}
    body, headers = generic(offboarding, payload)
    async with client(offboarding) as http:
        refused = await http.post("/webhooks/hris/acme", content=body, headers=headers)
    assert refused.status_code == 422 and "departure_date" in json.dumps(refused.json())
    assert offboarding.transactions.committed == []


def test_a_departure_at_the_end_of_time_on_kafka_breaks_the_contract() -> None:
    """On Kafka the consumer dead-letters it at once as a SchemaViolation: nothing overflows later."""
    with pytest.raises(ValueError, match="departure_date"):
        EmployeeDeparted.model_validate(departure().model_dump() | {"departure_date": "9999-12-31"})
