"""HRIS webhooks: good, bad, stale and replayed signatures, for the generic source and each
vendor adapter; invalid payloads refused with the field named; a vendor API that fails makes a
503 the vendor retries."""

import json
from datetime import timedelta

import httpx
import pytest

from tests.integration.lifecycle.conftest import TODAY, Lifecycle


async def _post(world: Lifecycle, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.post(f"{world.offboarding}/webhooks/hris/{path}", content=body, headers=headers | {"Content-Type": "application/json"})


def _bamboo_worker(world: Lifecycle, employee_id: str, **fields) -> None:
    world.vendors.bamboo_workers[employee_id] = {
        "firstName": "Amélie", "lastName": "Dupont", "workEmail": f"{employee_id.lower()}@acme.example", "homeEmail": "amelie@example.org",
        "mobilePhone": "+33 6 12 34 56 78", "department": "Sales", "jobTitle": "Account executive", "country": "FR", "city": "Paris",
        "hireDate": "2021-06-01", "terminationDate": "2026-11-15", "terminationReason": "Resignation", "status": "Inactive",
    } | fields


def _bob_worker(world: Lifecycle, employee_id: str, **internal) -> None:
    world.vendors.bob_workers[employee_id] = {
        "id": employee_id, "firstName": "Noémie", "surname": "Bernard", "email": f"{employee_id.lower()}@acme.example",
        "home": {"privateEmail": "noemie@example.org", "mobilePhone": "0033 7 11 22 33 44"},
        "work": {"department": "Engineering", "title": "Data engineer", "startDate": "2020-01-06"},
        "address": {"country": "FR", "city": "Nantes"},
        "internal": {"terminationDate": "2026-11-10", "terminationReason": "Retirement"} | internal,
    }


async def test_generic_source_good_bad_stale_and_replayed_signatures(world: Lifecycle) -> None:
    departure = world.departure()
    body = json.dumps(departure).encode()

    bad = await _post(world, "acme", body, world.signed("acme", body) | {"X-Signature": "sha256=" + "0" * 64})
    stale = await _post(world, "acme", body, world.signed("acme", body, at=TODAY - timedelta(minutes=10)))
    unsigned = await _post(world, "acme", body, {})
    good_headers = world.signed("acme", body)
    good = await _post(world, "acme", body, good_headers)
    replayed = await _post(world, "acme", body, good_headers)

    assert (bad.status_code, bad.json()["detail"]) == (401, "bad signature")
    assert stale.status_code == 401 and stale.json()["detail"].startswith("stale request")
    assert (unsigned.status_code, unsigned.json()["detail"]) == (401, "missing header X-Timestamp")
    assert good.status_code == 202 and good.json()["event_id"]
    assert (replayed.status_code, replayed.json()["detail"]) == (401, "this request was received before: a replay is refused")
    [published] = await world.records("hris.employee.departed", departure["employee_id"])
    assert published.headers["ce_id"] == good.json()["event_id"]
    assert published.headers["ce_source"] == "/hris/acme"
    assert (await world.alumnus_for(departure["employee_id"]))["profile"]["last_name"] == "Martin"


async def test_generic_source_refuses_invalid_payloads_naming_the_field(world: Lifecycle) -> None:
    departure = world.departure(departure_date="2018-12-31", phone="06 12 34 56 78")
    body = json.dumps(departure).encode()

    response = await _post(world, "acme", body, world.signed("acme", body))
    not_json = await _post(world, "acme", b"{oops", world.signed("acme", b"{oops"))
    unknown = await _post(world, "nobody", body, world.signed("acme", body))

    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["detail"]["errors"]}
    assert fields == {"phone"}  # the first error found; the date rule runs once the fields are valid
    assert "phone: String should match pattern" in response.json()["detail"]["message"]
    assert not_json.status_code == 422 and not_json.json()["detail"]["message"].startswith("the body is not JSON")
    assert unknown.status_code == 404
    fixed = json.dumps(departure | {"phone": "+33612345678"}).encode()
    dated = await _post(world, "acme", fixed, world.signed("acme", fixed))
    assert dated.status_code == 422 and "departure_date is before hire_date" in dated.json()["detail"]["message"]


async def test_generic_source_cancellation(world: Lifecycle) -> None:
    departure = world.departure(departure_date="2027-01-31")
    await world.depart(departure)
    await world.records("alumni.offboarding.exit-form-issued", departure["employee_id"])
    body = json.dumps({"employee_id": departure["employee_id"], "reason": "stays"}).encode()

    response = await _post(world, "acme/cancellations", body, world.signed("acme", body))

    assert response.status_code == 202
    [cancelled] = await world.records("alumni.offboarding.cancelled", departure["employee_id"])
    assert cancelled.json()["after_completion"] is False


async def test_bamboohr_webhook_reads_the_worker_from_the_bamboohr_api(world: Lifecycle) -> None:
    _bamboo_worker(world, "4321")
    body = json.dumps({"employees": [{"id": "4321", "changedFields": ["terminationDate", "status"], "fields": {}}]}).encode()

    bad = await _post(world, "bamboo", body, world.signed("bamboo", body) | {"X-BambooHR-Signature": "ab" * 32})
    stale = await _post(world, "bamboo", body, world.signed("bamboo", body, at=TODAY - timedelta(hours=1)))
    headers = world.signed("bamboo", body)
    good = await _post(world, "bamboo", body, headers)
    replayed = await _post(world, "bamboo", body, headers)

    assert (bad.status_code, stale.status_code, good.status_code, replayed.status_code) == (401, 401, 202, 401)
    alumnus = await world.alumnus_for("4321")
    assert alumnus["profile"].items() >= {"first_name": "Amélie", "phone": "+33612345678", "department": "Sales", "country": "FR", "locale": "en"}.items()
    [completed] = await world.records("alumni.offboarding.completed", "4321")
    assert completed.json()["departure_reason"] == "resignation"
    assert ("GET", "/api/gateway.php/acme/v1/employees/4321/?fields=firstName%2ClastName%2CworkEmail%2ChomeEmail%2CmobilePhone%2Cdepartment%2CjobTitle%2Ccountry%2Ccity%2ChireDate%2CterminationDate%2CterminationReason%2Cstatus", None) in world.vendors.requests


async def test_bamboohr_reactivation_cancels_and_an_unavailable_api_asks_for_a_retry(world: Lifecycle) -> None:
    _bamboo_worker(world, "5555", terminationDate="2027-02-01")
    first = json.dumps({"employees": [{"id": "5555", "changedFields": ["terminationDate"]}]}).encode()
    assert (await _post(world, "bamboo", first, world.signed("bamboo", first))).status_code == 202
    await world.records("alumni.offboarding.exit-form-issued", "5555")

    _bamboo_worker(world, "5555", terminationDate="0000-00-00", status="Active")
    world.vendors.fail_next = 1
    again = json.dumps({"employees": [{"id": "5555", "changedFields": ["Termination Date", "Status"]}]}).encode()
    unavailable = await _post(world, "bamboo", again, world.signed("bamboo", again))
    retried = await _post(world, "bamboo", again, world.signed("bamboo", again, at=TODAY + timedelta(seconds=1)))

    assert unavailable.status_code == 503 and unavailable.headers["Retry-After"] == "30"
    assert retried.status_code == 202
    [cancelled] = await world.records("alumni.offboarding.cancelled", "5555")
    assert cancelled.json()["after_completion"] is False
    [rescinded] = await world.records("hris.employee.departure-cancelled", "5555")
    assert rescinded.json()["hire_date"] == "2021-06-01"  # names the stint, from the worker's record


async def test_hibob_employee_left_reads_the_worker_from_bobs_api(world: Lifecycle) -> None:
    _bob_worker(world, "bob-77")
    body = json.dumps({"companyId": 601, "type": "employee.left", "triggeredBy": "system", "triggeredAt": world.now().isoformat(), "version": "v2", "data": {"employeeId": "bob-77"}}).encode()
    stale_body = json.dumps({"companyId": 601, "type": "employee.left", "triggeredAt": (TODAY - timedelta(hours=2)).isoformat(), "data": {"employeeId": "bob-77"}}).encode()

    bad = await _post(world, "bob", body, {"Bob-Signature": "bm90IGEgc2lnbmF0dXJl"})
    stale = await _post(world, "bob", stale_body, world.signed("bob", stale_body))
    good = await _post(world, "bob", body, world.signed("bob", body))
    replayed = await _post(world, "bob", body, world.signed("bob", body))
    ignored_body = json.dumps({"companyId": 601, "type": "employee.updated", "triggeredAt": world.now().isoformat(), "data": {"employeeId": "bob-77"}}).encode()
    ignored = await _post(world, "bob", ignored_body, world.signed("bob", ignored_body))

    assert (bad.status_code, stale.status_code, good.status_code, replayed.status_code) == (401, 401, 202, 401)
    assert ignored.status_code == 202 and ignored.json() == {"event_id": None, "event_ids": [], "ignored": True}
    alumnus = await world.alumnus_for("bob-77")
    assert alumnus["profile"].items() >= {"first_name": "Noémie", "phone": "+33711223344", "city": "Nantes", "locale": "fr"}.items()
    [completed] = await world.records("alumni.offboarding.completed", "bob-77")
    assert completed.json()["departure_reason"] == "retirement"
    [call] = [r for r in world.vendors.requests if r[1] == "/v1/people/bob-77"]
    assert "internal.terminationDate" in call[2]["fields"]


@pytest.mark.parametrize("missing", ["internal.terminationDate"])
async def test_hibob_worker_without_a_termination_date_is_refused(world: Lifecycle, missing: str) -> None:
    _bob_worker(world, "bob-78", terminationDate=None)
    body = json.dumps({"type": "employee.left", "triggeredAt": world.now().isoformat(), "data": {"employeeId": "bob-78"}}).encode()

    response = await _post(world, "bob", body, world.signed("bob", body))

    assert response.status_code == 422
    assert response.json()["detail"]["message"].startswith(missing)
