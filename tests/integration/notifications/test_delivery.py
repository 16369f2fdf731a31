"""Messages reach the real SMTP server and chat receiver once each: welcome in fr and en, the HR
post, consent-gated invitations, unsubscribe end to end, erasure, outages, 429s, repeats and
permanent refusals."""

import asyncio
import time
from datetime import UTC, date, datetime, timedelta

import httpx

from shared.events.alumni import AlumnusErased, AlumnusProfile, AlumnusRegistered, Stint
from shared.events.engagement import EventHosted, EventInvitationsIssued, HostedEventDetails, RsvpRecorded
from tests.integration.kafka_io import wait_until_consumed
from tests.integration.notifications.conftest import COMMUNITY, HR, Messaging, new_alumnus_id
from tests.integration.platform.test_dead_letters import sample


def _hosted(title: str, **fields) -> EventHosted:
    start = datetime(2027, 1, 15, 18, 30, tzinfo=UTC)
    return EventHosted(event_id=f"evt_{time.time_ns()}", title=title, kind="meetup", starts_at=start, ends_at=start + timedelta(hours=2), location="Lyon", **fields)


def _invited(hosted: EventHosted, alumnus_ids: list[str]) -> EventInvitationsIssued:
    """Engagement's invitations for `hosted`: the audience it decided, named."""
    details = HostedEventDetails(event_id=hosted.event_id, title=hosted.title, kind=hosted.kind, starts_at=hosted.starts_at,
                                 ends_at=hosted.ends_at, timezone="Europe/Paris", location=hosted.location)
    return EventInvitationsIssued(event_id=hosted.event_id, hosted_event=details, alumnus_ids=alumnus_ids, chunk=0)


async def test_a_registered_alumnus_gets_a_welcome_in_their_language_and_hr_a_post(messaging: Messaging) -> None:
    fr_id, fr_address = await messaging.register(locale="fr", first_name="Anaïs")
    en_id, en_address = await messaging.register(locale="en", first_name="Oliver")

    [french] = await messaging.mail_to(fr_address)
    [english] = await messaging.mail_to(en_address)
    hr_posts = await messaging.posts(HR, "Anaïs")

    assert french["Subject"] == "Bienvenue dans le réseau des anciens, Anaïs"
    assert english["Subject"] == "Welcome to the alumni network, Oliver"
    assert [p.get_content_type() for p in french.iter_parts()] == ["text/plain", "text/html"]
    assert "Bonjour Anaïs" in french.get_body(preferencelist=("plain",)).get_content()
    assert "<p>Bonjour Anaïs,</p>" in french.get_body(preferencelist=("html",)).get_content()
    assert french["Message-ID"].endswith("@alumni.example.com>")
    assert french["List-Unsubscribe"] is None  # transactional
    assert len(hr_posts) == 1 and hr_posts[0]["text"].startswith(":tada: New alumnus Anaïs Lefèvre")
    [delivered] = await messaging.records("alumni.notification.delivered", lambda r: r.json()["recipient_id"] == fr_id and r.json()["channel"] == "email")
    assert delivered.json()["template"] == "welcome"
    audit = await messaging.deliveries(alumnus_id=en_id)
    assert [(d["channel"], d["template"], d["status"]) for d in audit] == [("email", "welcome", "sent")]
    # Operators see the deliveries by channel and status (deploy/observability names these series).
    async with httpx.AsyncClient() as http:
        metrics = (await http.get(f"{messaging.notifications}/metrics")).text
    assert sample(metrics, "alumni_notifications_deliveries_total", channel="email", status="sent") >= 2
    assert sample(metrics, "alumni_notifications_deliveries_total", channel="slack", status="sent") >= 2


async def test_a_consent_gated_invitation_goes_only_to_the_named_alumni_who_consented(messaging: Messaging) -> None:
    yes_id, yes_address = await messaging.register(consents={"events": True}, country="FR")
    no_id, no_address = await messaging.register(consents={"events": False}, country="FR")
    _, abroad_address = await messaging.register(consents={"events": True}, country="DE")  # not named by engagement
    await messaging.mail_to(yes_address)  # the welcome: the projection knows them
    await messaging.mail_to(no_address)
    await messaging.mail_to(abroad_address)
    hosted = _hosted("Afterwork des anciens", countries=["FR"])
    await messaging.publish(hosted)
    invited = _invited(hosted, [yes_id, no_id])
    await messaging.publish(invited)

    invitations = await messaging.mail_to(yes_address, count=2)
    assert [m["Subject"] for m in invitations][-1] == "You are invited: Afterwork des anciens"
    invitation = invitations[-1]
    assert invitation["List-Unsubscribe"].startswith(f"<{messaging.notifications}/unsubscribe/")
    assert invitation["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert len(await messaging.mail_to(no_address, count=2, timeout=3)) == 1  # the welcome only
    assert len(await messaging.mail_to(abroad_address, count=2, timeout=3)) == 1
    [post] = await messaging.posts(COMMUNITY, "Afterwork des anciens")
    assert post["content"].startswith(":calendar: Afterwork des anciens, le 2027-01-15")
    assert invitation.get_body(preferencelist=("plain",)).get_content().count("/rsvp/") == 3  # yes, maybe, no
    announced = await messaging.deliveries(event_id=await _event_id(messaging, "alumni.event.hosted", hosted))
    assert [d["channel"] for d in announced] == ["discord"]  # the community post, no email
    invitations_id = await _event_id(messaging, "alumni.event.invitations-issued", invited)
    assert [d["recipient_id"] for d in await messaging.deliveries(event_id=invitations_id)] == [yes_id]


async def test_an_invitation_naming_an_alumnus_before_their_registration_reaches_them_once_it_is_read(messaging: Messaging) -> None:
    """Engagement can be ahead of notifications: the invitation waits (parked) for the
    registration of the alumnus it names, then goes to every named alumnus, once each."""
    known_id, known_address = await messaging.register(consents={"events": True})
    await messaging.mail_to(known_address)
    late_id = new_alumnus_id()
    hosted = _hosted("Brunch des anciens")
    await messaging.publish(hosted)
    invited = _invited(hosted, [known_id, late_id])
    await messaging.publish(invited)
    deadline = asyncio.get_running_loop().time() + 30
    while not (parked := await messaging.parked(hosted.event_id)):
        assert asyncio.get_running_loop().time() < deadline, "the invitation never waited"
        await asyncio.sleep(0.2)
    [waiting] = parked
    assert waiting["event_type"] == "com.alumni.event.invitations-issued.v1" and late_id in waiting["reason"]
    assert waiting["waiting_for"] == [late_id]  # its registration here checks it at once
    async with httpx.AsyncClient() as http:  # the alumnus's access export lists it
        response = await http.get(f"{messaging.notifications}/personal-data", params={"alumnus_id": late_id}, headers=messaging.auth("alumni:admin"))
    assert response.status_code == 200, response.text
    [exported] = response.json()["records"]["parked_events"]
    assert exported["event_type"] == waiting["event_type"] and sorted(exported["payload"]["alumnus_ids"]) == sorted([known_id, late_id])
    assert len(await messaging.mail_to(known_address, count=2, timeout=2)) == 1  # nothing sent while it waits

    _, late_address = await messaging.register(alumnus_id=late_id, consents={"events": True})
    [welcome, invitation] = await messaging.mail_to(late_address, count=2)
    assert invitation["Subject"] == "You are invited: Brunch des anciens", welcome["Subject"]
    assert [m["Subject"] for m in await messaging.mail_to(known_address, count=2)][-1] == "You are invited: Brunch des anciens"
    invitations_id = await _event_id(messaging, "alumni.event.invitations-issued", invited)
    assert sorted(d["recipient_id"] for d in await messaging.deliveries(event_id=invitations_id)) == sorted([known_id, late_id])
    assert await messaging.parked(hosted.event_id) == []
    assert await messaging.records("alumni.event.invitations-issued.dlq", lambda r: r.key == hosted.event_id.encode(), timeout=1) == []


async def _event_id(messaging: Messaging, topic: str, event) -> str:
    [record] = await messaging.records(topic, lambda r: r.key == event.event_id.encode())
    return record.headers["ce_id"]


async def test_unsubscribe_end_to_end(messaging: Messaging) -> None:
    # A real alumnus of identity, registered from a completed offboarding.
    from shared.events.offboarding import ExitProfile, Leaver, OffboardingCompleted

    employee_id = f"E-{time.time_ns()}"
    address = f"{employee_id.lower()}@home.example"
    await messaging.publish(OffboardingCompleted(
        case_id=f"{employee_id}/2018-01-01", employee_id=employee_id, hire_date="2018-01-01", departure_date="2026-11-01",
        departure_reason="retirement", outcome="eligible",
        leaver=Leaver(first_name="Rosalie", last_name="Garnier", work_email=f"{employee_id.lower()}@acme.example", personal_email=address, locale="fr"),
        profile=ExitProfile(personal_email=address, consents={"events": True}),
    ))
    await messaging.mail_to(address, count=2)  # welcome, and the link confirming the address
    async with httpx.AsyncClient() as http:
        found = await http.get(f"{messaging.identity}/alumni", params={"employee_id": employee_id}, headers=messaging.auth("alumni:read"))
    alumnus_id = found.json()["alumnus_id"]
    await messaging.publish(_invited(_hosted("Conférence annuelle"), [alumnus_id]))
    [invitation] = [m for m in await messaging.mail_to(address, count=3) if m["List-Unsubscribe"]]
    link = invitation["List-Unsubscribe"].strip("<>")

    async with httpx.AsyncClient() as http:
        page = await http.get(link)
        one_click = await http.post(link, content="List-Unsubscribe=One-Click", headers={"Content-Type": "application/x-www-form-urlencoded"})
        for _ in range(100):
            ledger = (await http.get(f"{messaging.identity}/alumni/{alumnus_id}/consents", headers=messaging.auth("alumni:read"))).json()
            if ledger["consents"]["events"]["granted"] is False:
                break
            await asyncio.sleep(0.2)

    assert page.status_code == 200 and "<form method=\"post\">" in page.text
    assert one_click.status_code == 200 and one_click.json() == {"unsubscribed": "events"}
    assert ledger["consents"]["events"] == {"granted": False, "changed_at": ledger["consents"]["events"]["changed_at"], "source": "unsubscribe-link"}
    await messaging.publish(_invited(_hosted("Encore un événement"), [alumnus_id]))
    await asyncio.sleep(3)
    assert len(messaging.mailbox.to(address)) == 3  # welcome, confirmation and the first invitation, nothing after


async def test_an_erased_alumnus_gets_nothing(messaging: Messaging) -> None:
    alumnus_id, address = await messaging.register(consents={"events": True})
    await messaging.mail_to(address)
    await messaging.publish(AlumnusErased(alumnus_id=alumnus_id, employee_ids=["E-x"], version=2, erased_at=datetime.now(UTC)))
    await asyncio.sleep(1)
    hosted = _hosted("After erasure")
    await messaging.publish(hosted)
    await messaging.publish(_invited(hosted, [alumnus_id]))
    await messaging.publish(RsvpRecorded(event_id=hosted.event_id, alumnus_id=alumnus_id, response="yes", recorded_at=datetime.now(UTC)))

    assert len(await messaging.mail_to(address, count=2, timeout=4)) == 1
    audit = await messaging.deliveries(alumnus_id=alumnus_id)
    assert [d["template"] for d in audit] == ["welcome"]


async def test_smtp_down_then_up_delivers_once(messaging: Messaging) -> None:
    messaging.mailbox.stop()
    try:
        alumnus_id, address = await messaging.register()
        await asyncio.sleep(2)  # attempts fail meanwhile and are retried
    finally:
        messaging.mailbox.start()

    mails = await messaging.mail_to(address, settle=3)
    assert len(mails) == 1
    delivered = await messaging.records("alumni.notification.delivered", lambda r: r.json()["recipient_id"] == alumnus_id and r.json()["channel"] == "email", settle=2)
    assert len(delivered) == 1


async def test_a_rate_limited_webhook_gets_one_post_after_the_delay(messaging: Messaging) -> None:
    messaging.chat.answer_next(HR, (429, {"Retry-After": "2"}))
    started = time.monotonic()
    _, _ = await messaging.register(first_name="Bérénice")

    [post] = await messaging.posts(HR, "Bérénice")
    attempts = [(t, s) for t, p, s in messaging.chat.attempts if p == HR and t >= started]
    refused = [t for t, s in attempts if s == 429]
    accepted = [t for t, s in attempts if s == 200]
    assert post["text"].startswith(":tada: New alumnus Bérénice")
    assert len(refused) == 1 and len(accepted) >= 1
    assert accepted[0] - refused[0] >= 2.0  # waited for Retry-After


async def test_a_repeated_event_sends_no_second_message(messaging: Messaging) -> None:
    from shared.events.alumni import AlumnusProfile, AlumnusRegistered, Stint

    event = AlumnusRegistered(
        alumnus_id=f"alm_{time.time_ns()}", version=1, boomerang=False,
        stint=Stint(employee_id="E-dup", hire_date="2020-01-01", departure_date="2026-11-01"),
        profile=AlumnusProfile(first_name="Twice", last_name="Sent", personal_email=f"dup{time.time_ns()}@home.example"),
    )
    await messaging.publish(event, ce_id="the-same-event")
    await messaging.publish(event, ce_id="the-same-event")

    assert len(await messaging.mail_to(str(event.profile.personal_email), count=2, timeout=5)) == 1


async def test_a_delivery_requested_again_under_another_event_id_is_not_sent_again(messaging: Messaging) -> None:
    """Deliveries recognise repeats by their own status, not by the request's event id."""
    from tests.integration.kafka_io import produce

    alumnus_id, address = await messaging.register()
    assert len(await messaging.mail_to(address)) == 1
    [request] = await messaging.records("alumni.notification.email", lambda r: r.json()["recipient_id"] == alumnus_id)
    headers = dict(request.headers) | {"ce_id": f"again-{time.time_ns()}"}
    await produce(messaging.bootstrap, request.topic, [(request.key, request.value, [(k, v.encode()) for k, v in headers.items()])])

    [delivered] = await messaging.records("alumni.notification.delivered", lambda r: r.json()["recipient_id"] == alumnus_id, settle=3)
    assert delivered.json()["template"] == "welcome"
    assert len(await messaging.mail_to(address, count=2, timeout=4)) == 1
    assert [d["status"] for d in await messaging.deliveries(alumnus_id=alumnus_id) if d["channel"] == "email"] == ["sent"]


async def test_a_permanent_refusal_fails_once_without_retries(messaging: Messaging) -> None:
    alumnus_id, address = await messaging.register(email=f"refuse-{time.time_ns()}@home.example")

    [failed] = await messaging.records("alumni.notification.failed", lambda r: r.json()["recipient_id"] == alumnus_id, settle=3)

    assert failed.json()["permanent"] is True and failed.json()["attempts"] == 1
    assert "refused the recipient (550)" in failed.json()["reason"]
    assert messaging.mailbox.rcpt_attempts[address] == 1
    [delivery] = [d for d in await messaging.deliveries(alumnus_id=alumnus_id) if d["channel"] == "email"]
    assert delivery["status"] == "failed" and "550" in delivery["reason"]


async def test_a_repeated_event_read_after_a_restart_sends_no_second_message(messaging: Messaging) -> None:
    """The restarted process remembers nothing of what it sent: the repeat stops on the event's
    marker, written before the welcome email goes, as it would on another instance that took
    the partition over in a rebalance. Last in this module: the restart forgets the mail
    server's measured latency, which decides whether an email goes at planning."""
    alumnus_id, address = f"alm_{time.time_ns()}", f"restart{time.time_ns()}@home.example"
    event = AlumnusRegistered(
        alumnus_id=alumnus_id, version=1, boomerang=False,
        stint=Stint(employee_id="E-restart", hire_date=date(2020, 1, 6), departure_date=date(2026, 11, 2)),
        profile=AlumnusProfile(first_name="Once", last_name="Only", personal_email=address),
    )
    await messaging.publish(event, ce_id="sent-before-a-restart")
    assert len(await messaging.mail_to(address)) == 1

    notifications = messaging.stack.services["notifications"]
    await asyncio.to_thread(notifications.stop)
    notifications.start()
    await notifications.wait_ready(timeout=120)
    await messaging.publish(event, ce_id="sent-before-a-restart")
    assert await wait_until_consumed(messaging.bootstrap, ("notifications",), timeout=60) == 0
    _, later = await messaging.register()  # and it still sends what is new
    assert len(await messaging.mail_to(later)) == 1

    assert len(await messaging.mail_to(address, count=2, timeout=3)) == 1
    assert [d["status"] for d in await messaging.deliveries(alumnus_id=alumnus_id) if d["channel"] == "email"] == ["sent"]
