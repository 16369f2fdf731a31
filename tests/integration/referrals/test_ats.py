"""The ATS moves applications; referrers are told. Out-of-order statuses on the topic never move a
referral backwards; Greenhouse and Lever webhooks in their published formats, signed, with
replays refused; an application that matches nothing is reported; an idle referral expires and
its candidate can be referred again."""

import json
import uuid
from datetime import timedelta

from shared.events.referrals import ApplicationStatusChanged
from tests.integration.kafka_io import publish_event
from tests.integration.referrals.conftest import LEVER_INTERVIEW_STAGE, TODAY, Programme, until
from tests.integration.referrals.test_referrals import candidate


async def referred(world: Programme) -> tuple[str, str, str]:
    alumnus_id, _ = await world.alumnus()
    email = f"cand.{uuid.uuid4().hex[:8]}@example.org"
    response = await world.refer(alumnus_id, candidate(email))
    assert response.status_code == 201, response.text
    return alumnus_id, response.json()["referral_id"], email


async def changes(world: Programme, referral_id: str, count: int) -> list[tuple[str, str]]:
    records = await world.records("alumni.referral.status-changed", lambda r: r.key == referral_id.encode(), count=count, settle=2.0)
    assert all(r.headers["ce_type"] == "com.alumni.referral.status-changed.v2" for r in records)
    return [(r.json()["previous_status"], r.json()["status"]) for r in records]


async def test_statuses_arriving_out_of_order_never_move_a_referral_backwards(world: Programme) -> None:
    alumnus_id, address = await world.alumnus()
    email = f"cand.{uuid.uuid4().hex[:8]}@example.org"
    referral_id = (await world.refer(alumnus_id, candidate(email))).json()["referral_id"]
    application_id = f"ATS-{uuid.uuid4().hex[:8]}"
    moves = [("screening", 1, email), ("interviewing", 3, None), ("screening", 2, email), ("interviewing", 4, None), ("offer", 5, None)]
    for status, hour, candidate_email in moves:
        event = ApplicationStatusChanged(application_id=application_id, candidate_email=candidate_email, status=status,
                                         changed_at=TODAY + timedelta(hours=hour))
        await publish_event(world.bootstrap, event, source="/tests/ats")
    assert await changes(world, referral_id, 3) == [("submitted", "in_review"), ("in_review", "interviewing"), ("interviewing", "offer")]
    assert (await world.referral(referral_id))["application_id"] == application_id
    [told] = await world.mail_to(address, "offre faite")  # the referrer reads French
    assert "« en entretiens » à « offre faite »" in told.get_body(("plain",)).get_content()


async def test_greenhouse_and_lever_webhooks_move_referrals_and_replays_are_refused(world: Programme) -> None:
    _, referral_id, email = await referred(world)
    stage = {"action": "candidate_stage_change", "payload": {"application": {
        "id": int(uuid.uuid4().int % 10**8), "status": "active", "current_stage": {"name": "Phone Screen"},
        "last_activity_at": TODAY.isoformat(), "candidate": {"email_addresses": [{"value": email, "type": "personal"}]},
        "custom_fields": {"referral_id": {"name": "Referral", "type": "short_text", "value": referral_id}}}}}
    body = json.dumps(stage).encode()
    accepted = await world.webhook("greenhouse", stage, body=body)
    replayed = await world.webhook("greenhouse", stage, body=body)
    forged = await world.webhook("greenhouse", stage, body=body, headers={"Signature": "sha256 " + "0" * 64})
    assert (accepted.status_code, replayed.status_code, forged.status_code) == (202, 401, 401)

    _, lever_referral, lever_email = await referred(world)
    opportunity = f"opp-{uuid.uuid4().hex[:8]}"
    # Lever's webhooks carry no email: the opportunity is linked to the referral by the
    # generic intake first (the connector knows the candidate), then Lever moves it.
    linked = {"application_id": f"lever:{opportunity}", "candidate_email": lever_email, "status": "applied", "changed_at": TODAY.isoformat()}
    assert (await world.webhook("ats", linked)).status_code == 202
    world.set_clock(TODAY + timedelta(minutes=1))
    interview = world.lever("candidateStageChange", {"opportunityId": opportunity, "toStageId": LEVER_INTERVIEW_STAGE})
    first = await world.webhook("lever", interview)
    again = await world.webhook("lever", interview)
    assert (first.status_code, again.status_code) == (202, 401)

    assert await changes(world, referral_id, 1) == [("submitted", "in_review")]
    assert await changes(world, lever_referral, 2) == [("submitted", "in_review"), ("in_review", "interviewing")]


async def test_an_unmatched_application_is_reported(world: Programme) -> None:
    application_id = f"ATS-{uuid.uuid4().hex[:8]}"
    payload = {"application_id": application_id, "candidate_email": "nobody@example.org", "status": "screening", "changed_at": TODAY.isoformat()}
    assert (await world.webhook("ats", payload)).status_code == 202

    async def reported() -> dict | None:
        import httpx
        async with httpx.AsyncClient() as http:
            items = (await http.get(f"{world.referrals}/ats/unmatched", headers=world.auth("referrals:read"))).json()["items"]
        return next((i for i in items if i["application_id"] == application_id), None)

    seen = await until(reported)
    assert seen["status"] == "screening" and "nobody" not in json.dumps(seen)


async def test_an_idle_referral_expires_and_the_candidate_can_be_referred_again(world: Programme) -> None:
    _, referral_id, email = await referred(world)
    other, _ = await world.alumnus()
    assert (await world.refer(other, candidate(email))).status_code == 409
    world.set_clock(TODAY + timedelta(days=181))
    assert await changes(world, referral_id, 1) == [("submitted", "expired")]
    again = await world.refer(other, candidate(email))
    assert again.status_code == 201 and again.json()["alumnus_id"] == other


async def test_hostile_records_on_the_ats_topic_are_dead_lettered_and_a_repeat_changes_nothing(world: Programme) -> None:
    from tests.integration.kafka_io import cloudevent_headers, produce

    _, referral_id, email = await referred(world)
    ce_type = "com.alumni.ats.application.status-changed.v1"
    application_id = f"ATS-{uuid.uuid4().hex[:8]}"
    good = json.dumps({"application_id": application_id, "candidate_email": email, "status": "interviewing",
                       "changed_at": TODAY.isoformat()}).encode()
    repeated_id = str(uuid.uuid4())
    await produce(world.bootstrap, "ats.application.status-changed", [
        (application_id.encode(), b"{not json", cloudevent_headers(ce_type)),
        (application_id.encode(), json.dumps({"application_id": "x" * 500, "status": "hired", "changed_at": TODAY.isoformat()}).encode(),
         cloudevent_headers(ce_type)),
        (application_id.encode(), json.dumps({"application_id": application_id, "status": "promoted", "changed_at": TODAY.isoformat()}).encode(),
         cloudevent_headers(ce_type)),
        (application_id.encode(), good, cloudevent_headers(ce_type, ce_id=repeated_id, source="/tests/ats")),
        (application_id.encode(), good, cloudevent_headers(ce_type, ce_id=repeated_id, source="/tests/ats")),
    ])
    dead = await world.records("ats.application.status-changed.dlq", lambda r: r.key == application_id.encode(), count=3, settle=2.0)
    assert len(dead) == 3 and all(r.headers["dlq_error_class"] for r in dead)
    assert "x" * 500 not in " ".join(r.headers["dlq_error_message"] for r in dead)
    assert await changes(world, referral_id, 1) == [("submitted", "interviewing")]


async def test_with_two_replicas_each_idle_referral_expires_once(world: Programme) -> None:
    referred_now = [await referred(world) for _ in range(4)]
    world.set_clock(TODAY + timedelta(days=400))
    for _, referral_id, _ in referred_now:
        assert await changes(world, referral_id, 1) == [("submitted", "expired")]


async def test_a_lever_opportunity_is_matched_by_the_email_lever_s_api_gives(world: Programme) -> None:
    _, referral_id, email = await referred(world)
    opportunity = str(uuid.uuid4())
    world.lever_api.opportunities[opportunity] = {"name": "Hugo Lambert", "emails": [email.upper()]}
    hired = world.lever("candidateHired", {"opportunityId": opportunity}, source="lever-api")
    unknown = world.lever("candidateHired", {"opportunityId": str(uuid.uuid4())}, source="lever-api")
    assert (await world.webhook("lever-api", hired)).status_code == 202
    assert (await world.webhook("lever-api", unknown)).status_code == 422
    assert await changes(world, referral_id, 1) == [("submitted", "hired")]
    assert f"/v1/opportunities/{opportunity}" in world.lever_api.requests
