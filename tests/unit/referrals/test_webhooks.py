"""Signed ATS webhooks over in-memory repositories: each scheme as its vendor documents it,
refusals of forged, stale, replayed (even with a padded header), malformed and oversized
requests, with nothing published."""

import json
from datetime import timedelta

import pytest
from pydantic import SecretStr

from services.referrals.ats.signatures import sign_generic, sign_greenhouse, sign_lever
from services.referrals.ats.sources import AtsSource
from shared.events.referrals import ApplicationStatusChanged
from tests.unit.referrals.fakes import Referrals

SECRET = "an-ats-webhook-secret-of-32-chars!"
SOURCES = {
    "ats": AtsSource(kind="generic", secret=SecretStr(SECRET)),
    "gh": AtsSource(kind="greenhouse", secret=SecretStr(SECRET), stage_map={"Phone Screen": "screening"}),
    "lever": AtsSource(kind="lever", secret=SecretStr(SECRET), stage_map={"stage-onsite": "interviewing"}),
}


def generic(referrals: Referrals, payload: dict, *, at=None) -> tuple[bytes, dict]:
    body = json.dumps(payload).encode()
    timestamp = str(int((at or referrals.now).timestamp()))
    return body, {"X-Timestamp": timestamp, "X-Signature": sign_generic(SECRET, timestamp, body)}


def greenhouse(action: str, **application) -> bytes:
    app = {"id": 265277, "status": "active", "last_activity_at": "2026-11-22T08:00:00Z",
           "candidate": {"email_addresses": [{"value": "hugo@example.org", "type": "personal"}]}} | application
    return json.dumps({"action": action, "payload": {"application": app}}).encode()


def lever(referrals: Referrals, event: str, data: dict, token: str = "tok-1") -> bytes:
    triggered = int(referrals.now.timestamp() * 1000)
    return json.dumps({"event": event, "data": data, "token": token, "triggeredAt": triggered,
                       "signature": sign_lever(SECRET, token, triggered)}).encode()


def published(referrals: Referrals) -> list[ApplicationStatusChanged]:
    return referrals.published(ApplicationStatusChanged)


async def post(referrals: Referrals, source: str, body: bytes, headers: dict):
    async with referrals.http() as http:
        return await http.post(f"/webhooks/ats/{source}", content=body, headers=headers | {"Content-Type": "application/json"})


async def test_a_generic_webhook_is_published_once_and_its_replay_refused_even_padded() -> None:
    referrals = Referrals(ats_sources=SOURCES)
    body, headers = generic(referrals, {"application_id": "A-1", "status": "interviewing", "changed_at": "2026-11-22T08:00:00Z"})
    first = await post(referrals, "ats", body, headers)
    padded = await post(referrals, "ats", body, headers | {"X-Signature": headers["X-Signature"] + " "})
    assert first.status_code == 202 and first.json()["event_id"]
    assert padded.status_code == 401 and "replay" in padded.text
    assert [e.application_id for e in published(referrals)] == ["A-1"]


@pytest.mark.parametrize("case", ["bad signature", "stale", "no signature", "unknown source"])
async def test_a_forged_or_stale_webhook_is_401_and_publishes_nothing(case: str) -> None:
    referrals = Referrals(ats_sources=SOURCES)
    payload = {"application_id": "A-1", "status": "hired", "changed_at": "2026-11-22T08:00:00Z"}
    body, headers = generic(referrals, payload, at=referrals.now - timedelta(minutes=10) if case == "stale" else None)
    if case == "bad signature":
        headers["X-Signature"] = sign_generic("another-secret-of-32-characters!!", headers["X-Timestamp"], body)
    if case == "no signature":
        headers.pop("X-Signature")
    response = await post(referrals, "nowhere" if case == "unknown source" else "ats", body, headers)
    assert response.status_code == (404 if case == "unknown source" else 401)
    assert published(referrals) == []


@pytest.mark.parametrize(("body", "field"), [
    (b"[1, 2]", "not a JSON object"), (b"{not json", "not JSON"),
    (json.dumps({"application_id": "A" * 200, "status": "hired", "changed_at": "2026-11-22T08:00:00Z"}).encode(), "application_id"),
    (json.dumps({"application_id": "A-1", "status": "promoted", "changed_at": "2026-11-22T08:00:00Z"}).encode(), "status"),
])
async def test_a_malformed_payload_is_422_naming_the_field(body: bytes, field: str) -> None:
    referrals = Referrals(ats_sources=SOURCES)
    timestamp = str(int(referrals.now.timestamp()))
    response = await post(referrals, "ats", body, {"X-Timestamp": timestamp, "X-Signature": sign_generic(SECRET, timestamp, body)})
    assert response.status_code == 422 and field in response.text and published(referrals) == []


async def test_an_oversized_webhook_is_413_before_its_signature_is_checked() -> None:
    referrals = Referrals(ats_sources=SOURCES)
    response = await post(referrals, "ats", b'{"x": "' + b"x" * 70_000 + b'"}', {"X-Timestamp": "0", "X-Signature": "sha256=0"})
    assert response.status_code == 413 and published(referrals) == []


async def test_greenhouse_stages_and_hires_read_as_application_statuses() -> None:
    referrals = Referrals(ats_sources=SOURCES)
    bodies = [
        greenhouse("candidate_stage_change", current_stage={"name": "Phone Screen"}),
        greenhouse("candidate_stage_change", current_stage={"name": "Onsite Interview"}, last_activity_at="2026-11-22T08:10:00Z"),
        greenhouse("hire_candidate", offer={"resolved_at": "2026-11-22T08:20:00Z"},
                   custom_fields={"referral_id": {"name": "Referral id", "type": "short_text", "value": "ref_7"}}),
        json.dumps({"action": "ping", "payload": {}}).encode(),
    ]
    answers = [await post(referrals, "gh", body, {"Signature": sign_greenhouse(SECRET, body)}) for body in bodies]
    assert [a.status_code for a in answers] == [202] * 4 and answers[-1].json()["ignored"] is True
    events = published(referrals)
    assert [(e.application_id, e.status) for e in events] == [("greenhouse:265277", "screening"), ("greenhouse:265277", "interviewing"), ("greenhouse:265277", "hired")]
    assert str(events[0].candidate_email) == "hugo@example.org" and events[2].referral_id == "ref_7"


async def test_a_greenhouse_signature_is_sha256_a_space_and_the_hex_of_the_whole_body() -> None:
    referrals = Referrals(ats_sources=SOURCES)
    body = greenhouse("reject_candidate")
    equals_sign = await post(referrals, "gh", body, {"Signature": sign_greenhouse(SECRET, body).replace(" ", "=")})
    other_body = await post(referrals, "gh", body + b" ", {"Signature": sign_greenhouse(SECRET, body)})
    accepted = await post(referrals, "gh", body, {"Signature": sign_greenhouse(SECRET, body)})
    replayed = await post(referrals, "gh", body, {"Signature": sign_greenhouse(SECRET, body).upper().replace("SHA256", "sha256")})
    assert (equals_sign.status_code, other_body.status_code, accepted.status_code, replayed.status_code) == (401, 401, 202, 401)


async def test_lever_signs_token_and_triggered_at_and_a_second_body_under_one_signature_is_a_replay() -> None:
    referrals = Referrals(ats_sources=SOURCES)
    body = lever(referrals, "candidateStageChange", {"opportunityId": "opp-1", "toStageId": "stage-onsite"})
    accepted = await post(referrals, "lever", body, {})
    forged = json.loads(body) | {"data": {"opportunityId": "opp-1", "toStageId": "x"}, "event": "candidateHired"}
    swapped = await post(referrals, "lever", json.dumps(forged).encode(), {})
    wrong = json.loads(lever(referrals, "candidateHired", {"opportunityId": "opp-1"}, token="tok-2")) | {"signature": "0" * 64}
    bad = await post(referrals, "lever", json.dumps(wrong).encode(), {})
    archived = await post(referrals, "lever", lever(referrals, "candidateArchiveChange", {"opportunityId": "opp-1", "toArchived": {"reason": "x"}}, token="tok-3"), {})
    assert (accepted.status_code, swapped.status_code, bad.status_code, archived.status_code) == (202, 401, 401, 202)
    assert [(e.application_id, e.status) for e in published(referrals)] == [("lever:opp-1", "interviewing"), ("lever:opp-1", "rejected")]


def lever_with_api(answer) -> tuple[Referrals, list]:
    import httpx

    calls: list = []

    def respond(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return answer(request)

    source = AtsSource(kind="lever", secret=SecretStr(SECRET), api_base_url="https://api.lever.example", api_key=SecretStr("lever-key"))
    referrals = Referrals(ats_sources={"lever": source}, ats_api=httpx.AsyncClient(transport=httpx.MockTransport(respond)))
    return referrals, calls


async def test_a_lever_opportunity_s_email_is_read_from_lever_s_api() -> None:
    import httpx

    referrals, calls = lever_with_api(lambda r: httpx.Response(200, json={"data": {"id": "opp-1", "emails": ["Hugo@Example.org"]}}))
    answered = await post(referrals, "lever", lever(referrals, "candidateHired", {"opportunityId": "opp-1"}), {})
    assert answered.status_code == 202
    [event] = published(referrals)
    assert str(event.candidate_email).lower() == "hugo@example.org"
    assert str(calls[0].url) == "https://api.lever.example/v1/opportunities/opp-1" and calls[0].headers["authorization"].startswith("Basic ")


@pytest.mark.parametrize("opportunity", ["../../v1/users", "opp-1?expand=all", "a" * 65, "é"])
async def test_an_opportunity_id_that_is_not_lever_s_never_reaches_its_api(opportunity: str) -> None:
    import httpx

    referrals, calls = lever_with_api(lambda r: httpx.Response(200, json={"data": {"emails": ["x@example.org"]}}))
    answered = await post(referrals, "lever", lever(referrals, "candidateHired", {"opportunityId": opportunity}), {})
    assert answered.status_code == 422 and calls == [] and published(referrals) == []


async def test_when_lever_s_api_fails_the_webhook_is_503_and_its_retry_is_not_a_replay() -> None:
    import httpx

    state = {"up": False}
    referrals, _ = lever_with_api(lambda r: httpx.Response(200, json={"data": {"emails": ["hugo@example.org"]}}) if state["up"] else httpx.Response(502))
    body = lever(referrals, "candidateHired", {"opportunityId": "opp-1"})
    down = await post(referrals, "lever", body, {})
    state["up"] = True
    retried = await post(referrals, "lever", body, {})
    assert (down.status_code, down.headers.get("retry-after"), retried.status_code) == (503, "30", 202)
    assert len(published(referrals)) == 1
