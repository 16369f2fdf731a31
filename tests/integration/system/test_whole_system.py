"""A mixed batch of departures through the whole system: some by the signed webhook, some
straight to Kafka, excluded ones, a cancellation, a re-send, a boomerang, malformed records.
Each departure carries its own trace context, so its one trace can be followed from intake
through offboarding, identity and notifications to the SMTP send. Then one hosted event, from
publishing to an answer's confirmation; and one referral, from its referrer's departure to the
bonus email."""

import asyncio
import json
import secrets
import time
import uuid
from datetime import UTC, date, datetime, timedelta

import httpx

from devstack.trace import find_traces, render_tree
from services.offboarding.intake.signatures import sign_generic
from shared.events.referrals import ApplicationStatusChanged
from shared.web.auth import TokenVerifier
from shared.settings import DEVELOPMENT_JWT_SECRET
from tests.integration.kafka_io import cloudevent_headers, produce, publish_event, wait_for
from tests.integration.system.conftest import HR, RECRUITING, WEBHOOK_SECRET, System

TODAY = date.today()
DEPARTED = "com.alumni.employee.departed.v1"


def _departure(n: int, run: str, **fields) -> dict:
    return {
        "employee_id": f"SYS-{run}-{n:03d}", "first_name": f"Prénom{n}", "last_name": f"Nom{n}",
        "work_email": f"w{n}.{run}@acme.example", "personal_email": f"p{n}.{run}@home.example",
        "hire_date": (TODAY - timedelta(days=900 + n)).isoformat(), "departure_date": (TODAY - timedelta(days=n % 5)).isoformat(),
        "departure_reason": "resignation", "locale": "fr" if n % 2 else "en",
    } | fields


def _traceparent() -> tuple[str, str]:
    trace_id = secrets.token_hex(16)
    return trace_id, f"00-{trace_id}-{secrets.token_hex(8)}-01"


async def _send(system: System, departure: dict, via: str, traceparent: str, *, raw: bytes | None = None) -> None:
    body = raw if raw is not None else json.dumps(departure).encode()
    if via == "webhook":
        timestamp = str(int(time.time()))
        headers = {"X-Timestamp": timestamp, "X-Signature": sign_generic(WEBHOOK_SECRET, timestamp, body), "traceparent": traceparent, "Content-Type": "application/json"}
        async with httpx.AsyncClient() as http:
            response = await http.post(f"{system.stack.services['offboarding'].url}/webhooks/hris/acme", content=body, headers=headers)
        assert response.status_code == 202, response.text
    else:
        headers = cloudevent_headers(DEPARTED) + [("traceparent", traceparent.encode())]
        await produce(system.stack.cfg.bootstrap_servers, "hris.employee.departed", [(departure["employee_id"].encode(), body, headers)])


async def _eventually(check, timeout: float = 90):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result or asyncio.get_running_loop().time() > deadline:
            return result
        await asyncio.sleep(0.5)


async def test_a_mixed_batch_through_the_whole_system(system: System, figures) -> None:
    run = uuid.uuid4().hex[:6]
    eligible = [_departure(n, run) for n in range(12)]
    excluded = [_departure(20, run, departure_reason="termination_for_cause"), _departure(21, run, litigation_pending=True)]
    cancelled = _departure(30, run, departure_date=(TODAY + timedelta(days=20)).isoformat())
    boomerang = eligible[0] | {"hire_date": (TODAY - timedelta(days=100)).isoformat(), "departure_date": TODAY.isoformat()}
    traces: dict[str, str] = {}

    for i, departure in enumerate(eligible + excluded + [cancelled]):
        trace_id, parent = _traceparent()
        traces[departure["employee_id"]] = trace_id
        await _send(system, departure, "webhook" if i % 2 else "kafka", parent)
    await _send(system, eligible[1], "kafka", _traceparent()[1])  # re-sent by the HRIS
    await _send(system, {"employee_id": f"SYS-{run}-bad-1"}, "kafka", _traceparent()[1], raw=b"\x00 not json")
    await _send(system, _departure(40, run, departure_date="1999-01-01"), "kafka", _traceparent()[1])
    await produce(system.stack.cfg.bootstrap_servers, "hris.employee.departure-cancelled", [
        (cancelled["employee_id"].encode(), json.dumps({"employee_id": cancelled["employee_id"]}).encode(), cloudevent_headers("com.alumni.employee.departure-cancelled.v1")),
    ])
    # The boomerang leaves again once the first stint is done.
    identity = system.stack.services["identity"].url
    token = TokenVerifier(DEVELOPMENT_JWT_SECRET).issue("system-test", ["alumni:read"])

    async def alumnus(employee_id: str) -> dict | None:
        async with httpx.AsyncClient() as http:
            response = await http.get(f"{identity}/alumni", params={"employee_id": employee_id}, headers={"Authorization": f"Bearer {token}"})
        return response.json() if response.status_code == 200 else None

    assert await _eventually(lambda: alumnus(eligible[0]["employee_id"]))
    await _send(system, boomerang, "webhook", _traceparent()[1])

    # One alumnus per eligible person, the boomerang with two stints; none for the others.
    async def all_registered() -> list[dict] | None:
        found = [await alumnus(d["employee_id"]) for d in eligible]
        return found if all(found) and len(found[0]["stints"]) == 2 else None

    alumni = await _eventually(all_registered)
    assert alumni, "not every eligible departure became an alumnus"
    assert len({a["alumnus_id"] for a in alumni}) == len(eligible)
    assert [len(a["stints"]) for a in alumni] == [2] + [1] * (len(eligible) - 1)
    for other in excluded + [cancelled]:
        assert await alumnus(other["employee_id"]) is None

    # One welcome per registration (the boomerang's second is "welcome back"), and the HR posts.
    async def welcomes() -> dict[str, int] | None:
        counts = {d["personal_email"]: sum(1 for m in system.mailbox.to(d["personal_email"]) if "elcome" in m["Subject"] or "ienvenue" in m["Subject"]) for d in eligible}
        return counts if sum(counts.values()) >= len(eligible) + 1 else None

    assert await _eventually(welcomes)
    await asyncio.sleep(3)  # anything extra would arrive now
    counts = await welcomes()
    assert counts == {d["personal_email"]: (2 if d is eligible[0] else 1) for d in eligible}
    for departure in excluded + [cancelled]:
        assert [m["Subject"] for m in system.mailbox.to(departure["personal_email"]) if "elcome" in m["Subject"] or "ienvenue" in m["Subject"]] == []
    # The HR posts go through a rate-limited channel: they may trail the emails.
    async def posted() -> bool:
        return all(len(system.chat.received(HR, f"Prénom{n} Nom{n}")) >= (2 if n == 0 else 1) for n in range(len(eligible))) and \
            all(system.chat.received(HR, d["employee_id"]) for d in excluded)

    assert await _eventually(posted), "an HR chat post is missing"
    await asyncio.sleep(2)  # anything extra would arrive now
    for n, departure in enumerate(eligible):
        assert len(system.chat.received(HR, f"Prénom{n} Nom{n}")) == (2 if n == 0 else 1)
    for departure in excluded:
        [post] = system.chat.received(HR, departure["employee_id"])
        assert ":no_entry:" in post["text"]

    # The malformed records are dead letters, with their reasons.
    letters = await wait_for(system.stack.cfg.bootstrap_servers, "hris.employee.departed.dlq", lambda r: run in (r.key or b"").decode(), count=2)
    reasons = {r.key.decode(): (r.headers["dlq_error_class"], r.headers["dlq_error_message"]) for r in letters}
    assert reasons[f"SYS-{run}-bad-1"][0] == "UndecodableValue"
    assert reasons[f"SYS-{run}-040"] == ("SchemaViolation", "(payload): Value error, departure_date is before hire_date")

    # For each departure that became an alumnus: one trace, from intake to the SMTP send.
    async def traced() -> bool:
        spans = system.traces.snapshot()
        for departure in eligible[1:]:
            mine = [s for s in spans if s.trace_id == traces[departure["employee_id"]]]
            services = {s.service for s in mine}
            if not ({"alumni-offboarding", "alumni-identity", "alumni-notifications"} <= services and any(s.name == "smtp send" for s in mine)):
                return False
        return True

    assert await _eventually(traced, timeout=30), "a departure's trace does not reach the SMTP send"
    spans = [s for s in system.traces.snapshot() if s.trace_id == traces[eligible[1]["employee_id"]]]
    assert any(s.service == "alumni-offboarding" and s.kind == 2 for s in spans)  # the webhook request (SERVER)

    # An operator finds the same trace in the trace store by the employee id (`./alumni trace`).
    traced_id = traces[eligible[1]["employee_id"]]

    async def in_trace_store() -> list[list[dict]]:
        with httpx.Client(timeout=10) as http:
            return find_traces(system.zipkin.url, eligible[1]["employee_id"], http=http)

    async def stored_to_the_smtp_send() -> bool:
        return any(spans[0]["traceId"] == traced_id and any(s.get("name") == "smtp send" for s in spans) for spans in await in_trace_store())

    assert await _eventually(stored_to_the_smtp_send, timeout=30), "the departure's trace is not in the trace store"
    stored = next(spans for spans in await in_trace_store() if spans[0]["traceId"] == traced_id)
    # Through every service that reads a departure's events (referrals and engagement keep projections).
    assert {"alumni-offboarding", "alumni-identity", "alumni-notifications"} <= {s["localEndpoint"]["serviceName"] for s in stored}
    assert render_tree(stored)[0].split("ms ", 1)[1].startswith("alumni-offboarding: post /webhooks/hris/{source}")
    figures(f"whole system: {len(eligible)} alumni for {len(eligible)} eligible (one boomerang, two stints), "
            f"{sum(counts.values())} welcome emails, 0 for {len(excluded)} excluded and 1 cancelled, "
            f"{len(letters)} dead letters; a departure's trace: {len(spans)} spans across {sorted({s.service for s in spans})}")


async def test_one_hosted_event_from_publish_to_an_rsvp_confirmation(system: System) -> None:
    """A leaver becomes an alumnus, consents to events, is invited to a hosted event, answers
    yes in one click from the email and gets the confirmation with its calendar file."""
    run = uuid.uuid4().hex[:6]
    departure = _departure(60, run, department=f"Events {run}", locale="en")
    await _send(system, departure, "kafka", _traceparent()[1])
    services = {name: s.url for name, s in system.stack.services.items()}
    tokens = TokenVerifier(DEVELOPMENT_JWT_SECRET)
    staff = {"Authorization": f"Bearer {tokens.issue('system-test', ['alumni:write', 'events:write'])}"}

    async def registered() -> dict | None:
        async with httpx.AsyncClient(timeout=30) as http:
            found = await http.get(f"{services['identity']}/alumni", params={"employee_id": departure["employee_id"]}, headers=staff)
        return found.json() if found.status_code == 200 else None

    alumnus = await _eventually(registered)
    assert alumnus, "the leaver never became an alumnus"
    async with httpx.AsyncClient(timeout=30) as http:
        consent = await http.put(f"{services['identity']}/alumni/{alumnus['alumnus_id']}/consents/events", json={"granted": True}, headers=staff)
        assert consent.status_code == 200
        await asyncio.sleep(2)  # engagement and notifications project the consent
        starts = datetime.now(UTC) + timedelta(days=7)
        created = await http.post(f"{services['engagement']}/events", headers=staff, json={
            "title": f"Alumni meetup {run}", "kind": "meetup", "starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=2)).isoformat(),
            "timezone": "Europe/London", "location": "London", "locale": "en", "audience": {"departments": [f"events {run}"]},
        })
        assert created.status_code == 201, created.text
        event_id = created.json()["event_id"]
        assert (await http.post(f"{services['engagement']}/events/{event_id}/publish", headers=staff)).status_code == 200

    address = departure["personal_email"]

    async def mail(subject: str) -> list:
        return [m for m in system.mailbox.to(address) if subject in m["Subject"]] or None

    [invitation] = await _eventually(lambda: mail("You are invited"))
    text = invitation.get_body(preferencelist=("plain",)).get_content()
    [yes] = [line.split(": ", 1)[1].strip() for line in text.splitlines() if line.startswith("Yes: ")]
    async with httpx.AsyncClient(timeout=30) as http:
        assert (await http.get(yes)).status_code == 200
        answered = await http.post(yes)
    assert answered.status_code == 200 and "your seat is booked" in answered.text
    [confirmation] = await _eventually(lambda: mail("Your seat is booked"))
    [calendar] = [p for p in confirmation.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert f"UID:{event_id}@" in calendar.get_content().replace("\r\n ", "")


async def test_one_referral_from_a_departure_to_the_bonus_email(system: System, figures) -> None:
    """A leaver becomes an alumnus and, with their own token, refers a candidate for a senior
    post; the ATS moves the application to interviewing, then hired; the first milestone of the
    senior rule (half of 3000.00 EUR) falls due, a manager approves it and the referrer gets the
    bonus email in French, after the receipt and one email per status; recruiting gets its post."""
    run = uuid.uuid4().hex[:6]
    departure = _departure(61, run, locale="fr")
    await _send(system, departure, "webhook", _traceparent()[1])
    services = {name: s.url for name, s in system.stack.services.items()}
    tokens = TokenVerifier(DEVELOPMENT_JWT_SECRET)
    staff = {"Authorization": f"Bearer {tokens.issue('system-test', ['alumni:read'])}"}
    admin = {"Authorization": f"Bearer {tokens.issue('system-test', ['referrals:admin'])}"}

    async def registered() -> dict | None:
        async with httpx.AsyncClient(timeout=30) as http:
            found = await http.get(f"{services['identity']}/alumni", params={"employee_id": departure["employee_id"]}, headers=staff)
        return found.json() if found.status_code == 200 else None

    alumnus = await _eventually(registered)
    assert alumnus, "the leaver never became an alumnus"
    alumnus_id = alumnus["alumnus_id"]
    own = {"Authorization": f"Bearer {tokens.issue(f'alumnus:{alumnus_id}', ['alumni:self'])}"}
    candidate = {"kind": "candidate", "candidate_name": f"Camille Durand {run}", "candidate_email": f"camille.{run}@example.org",
                 "position": "Staff engineer", "job_level": "senior", "candidate_consent": True}

    async def referred() -> httpx.Response | None:
        # 403 (not an alumnus) until referrals has projected identity's registration.
        async with httpx.AsyncClient(timeout=30) as http:
            response = await http.post(f"{services['referrals']}/referrals", json=candidate, headers=own)
        return None if response.status_code == 403 else response

    response = await _eventually(referred)
    assert response is not None and response.status_code == 201, response.text if response else "the alumnus was never a referrer"
    referral = response.json()
    referral_id = referral["referral_id"]
    assert (referral["status"], referral["alumnus_id"]) == ("submitted", alumnus_id)

    # The ATS connector publishes the application's moves, carrying the referral id.
    application_id = f"ATS-{run}"
    for status in ("interviewing", "hired"):
        await publish_event(system.stack.cfg.bootstrap_servers, ApplicationStatusChanged(
            application_id=application_id, referral_id=referral_id, status=status, changed_at=datetime.now(UTC),
            employee_id=f"HIRE-{run}" if status == "hired" else None,
        ), source="/ats/connector")

    async def bonuses(**params) -> list[dict]:
        async with httpx.AsyncClient(timeout=30) as http:
            found = await http.get(f"{services['referrals']}/bonuses", params=params, headers=admin)
        assert found.status_code == 200, found.text
        return sorted((b for b in found.json()["items"] if b["referral_id"] == referral_id), key=lambda b: b["milestone"])

    pending = await _eventually(lambda: bonuses(status="pending_approval"))
    assert [(b["milestone"], b["amount"], b["currency"], b["alumnus_id"]) for b in pending] == [(0, "1500.00", "EUR", alumnus_id)]
    [first, second] = await bonuses()
    assert (second["status"], second["amount"]) == ("scheduled", "1500.00")
    assert date.fromisoformat(second["due_on"]) - date.fromisoformat(first["due_on"]) == timedelta(days=90)
    async with httpx.AsyncClient(timeout=30) as http:
        followed = (await http.get(f"{services['referrals']}/referrals/{referral_id}", headers=own)).json()
        approved = await http.post(f"{services['referrals']}/bonuses/{first['bonus_id']}/approve", headers=admin)
        again = await http.post(f"{services['referrals']}/bonuses/{first['bonus_id']}/approve", headers=admin)
    assert followed["status"] == "hired" and [h["status"] for h in followed["history"]] == ["submitted", "interviewing", "hired"]
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert again.status_code == 409

    # The routing table: the receipt, each status change and the bonus by email to the referrer
    # (in their language, French), the new referral to recruiting's chat channel.
    address = departure["personal_email"]

    def mail(subject: str) -> list:
        return [m for m in system.mailbox.to(address) if subject in m["Subject"]]

    async def bonus_mail() -> list:
        return mail("Vous avez gagné une prime de recommandation")

    assert await _eventually(bonus_mail), "the bonus email never reached the SMTP server"
    await asyncio.sleep(3)  # anything extra would arrive now
    [bonus] = mail("Vous avez gagné une prime de recommandation")
    text = bonus.get_body(preferencelist=("plain",)).get_content()
    assert "Bonjour Prénom61" in text and referral_id in text and "1500.00 EUR" in text
    [receipt] = mail("Merci pour votre recommandation")
    assert f"Camille Durand {run} pour Staff engineer" in receipt.get_body(preferencelist=("plain",)).get_content()
    moves = {m["Subject"]: m.get_body(preferencelist=("plain",)).get_content() for m in mail("Votre recommandation avance")}
    assert len(moves) == len(mail("Votre recommandation avance")) == 2
    assert "« envoyée » à « en entretiens »" in moves["Votre recommandation avance : en entretiens"]
    assert "« en entretiens » à « embauche réalisée »" in moves["Votre recommandation avance : embauche réalisée"]
    assert len(mail("recommandation")) == 4  # nothing else about the referral
    [post] = await _eventually(lambda: _posted(system, referral_id))
    assert f"New candidate referral {referral_id} from alumnus {alumnus_id} for Staff engineer" in json.dumps(post, ensure_ascii=False)
    assert candidate["candidate_email"] not in json.dumps(post)
    figures(f"whole system, one referral: departure -> alumnus {alumnus_id} -> referral -> interviewing -> hired -> "
            f"2 milestones of 1500.00 EUR (1 pending approval, 1 scheduled in 90 days) -> approved (a second approval 409) -> "
            f"4 emails to the referrer (receipt, 2 status changes, bonus), 1 recruiting post")


async def _posted(system: System, referral_id: str) -> list[dict]:
    return system.chat.received(RECRUITING, referral_id)
