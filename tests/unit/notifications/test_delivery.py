"""Delivery over in-memory senders: each request sent once and reported, repeats dropped, consent
and erasure checked again at send time, failures retried then recorded. The same on the real
SMTP server and webhook receiver: tests/integration/notifications/test_delivery.py."""

import pytest

from services.notifications.domain import ChannelNotConfigured
from services.notifications.unsubscribe import UnsubscribeLinks
from shared.events.notifications import (
    BulkEmailRequested,
    ChatPostRequested,
    EmailRequested,
    NotificationDelivered,
    NotificationFailed,
)
from shared.events.types import Purpose
from shared.messaging.failures import PermanentError, TransientError
from shared.testing.fakes import envelope_for
from tests.unit.notifications.events import consent_changed, erased, invited, registered
from tests.unit.notifications.fakes import SECRET, InMemoryNotifications


async def test_a_request_is_sent_once_and_reported_delivered() -> None:
    service = InMemoryNotifications()
    await service.receive(registered("alm_1", locale="fr", first_name="Anaïs"))

    assert await service.deliver() == ["handled", "handled"]

    [mail] = service.mailer.sent
    assert (mail.to, mail.email.subject, mail.unsubscribe_url) == ("alm_1@home.example", "Bienvenue dans le réseau des anciens, Anaïs", None)
    [(channel, fmt, text)] = service.chat.posts
    assert (channel, fmt) == ("hr", "slack") and text.startswith(":tada: New alumnus Anaïs Moreau")
    delivered = service.published(NotificationDelivered)
    assert sorted(d.template for d in delivered) == ["hr_new_alumnus", "welcome"]
    assert [service.status(r)["status"] for r in service.requests] == ["sent", "sent"]


async def test_a_consent_gated_email_carries_its_unsubscribe_link() -> None:
    service = InMemoryNotifications()
    await service.receive(registered("alm_1", consents={"events": True}))
    await service.receive(invited("evt_1", ["alm_1"]))
    await service.deliver()

    [invitation] = [m for m in service.mailer.sent if m.email.subject.startswith("You are invited")]
    token = invitation.unsubscribe_url.rpartition("/unsubscribe/")[2]
    assert UnsubscribeLinks(SECRET, "https://x").read(token, service.transactions.clock()) == ("alm_1", Purpose.EVENTS)


async def test_a_repeated_request_is_dropped_even_under_another_event_id() -> None:
    service = InMemoryNotifications()
    await service.receive(registered("alm_1"))
    await service.deliver()
    [welcome] = service.published(EmailRequested)

    assert await service.receive(welcome, service.transactions.committed[0][1]) == "handled"  # no marker: the delivery says
    assert await service.receive(welcome, envelope_for(welcome, event_id="another-id")) == "handled"

    assert len(service.mailer.sent) == 1 and len(service.published(NotificationDelivered)) == 2  # welcome and HR post
    assert service.status(welcome)["status"] == "sent"


async def test_a_consent_withdrawn_between_planning_and_sending_skips_the_delivery() -> None:
    service = InMemoryNotifications()
    await service.receive(registered("alm_1", consents={"events": True}))
    await service.receive(invited("evt_1", ["alm_1"]))
    await service.receive(consent_changed("alm_1", 2, "events", False))

    await service.deliver()

    [invitation] = [r for r in service.requests if isinstance(r, BulkEmailRequested)]
    assert service.status(invitation)["status"] == "skipped" and service.status(invitation)["reason"] == "no consent for events"
    assert [m.email.subject for m in service.mailer.sent] == ["Welcome to the alumni network, Inès"]
    assert invitation.delivery_id not in {d.delivery_id for d in service.published(NotificationDelivered)}


async def test_an_alumnus_erased_before_sending_gets_nothing() -> None:
    service = InMemoryNotifications()
    await service.receive(registered("alm_1"))
    await service.receive(erased("alm_1"))

    await service.deliver()

    [welcome] = service.published(EmailRequested)
    assert (service.status(welcome)["status"], service.status(welcome)["reason"]) == ("skipped", "the alumnus was erased")
    assert service.mailer.sent == [] and len(service.chat.posts) == 1  # the HR post names nobody's address


async def test_a_failed_send_leaves_the_delivery_unsettled_and_is_retried() -> None:
    service = InMemoryNotifications(attempts=3)
    await service.receive(registered("alm_1"))
    [welcome] = service.published(EmailRequested)
    service.mailer.failures = [TransientError("mail server unavailable: ConnectionRefusedError")]

    _, handler = service.events.handlers[welcome.event_type.type]
    with pytest.raises(TransientError):
        await service.transactions.run(lambda ctx: handler(welcome, ctx), envelope=envelope_for(welcome))
    assert service.status(welcome)["status"] == "planned"  # the claim rolled back with the failed send

    service.mailer.failures = [TransientError("mail server unavailable: ConnectionRefusedError")]
    assert await service.receive(welcome) == "handled"  # the platform's retry
    assert service.mailer.attempts == 3 and len(service.mailer.sent) == 1
    assert service.status(welcome)["status"] == "sent"


async def test_when_retries_run_out_the_delivery_is_recorded_failed() -> None:
    service = InMemoryNotifications(attempts=2)
    await service.receive(registered("alm_1"))
    [welcome] = service.published(EmailRequested)
    service.mailer.failures = [TransientError("mail server unavailable: TimeoutError")] * 2

    assert await service.receive(welcome) == "dead_letter"

    [failed] = service.published(NotificationFailed)
    assert (failed.delivery_id, failed.reason, failed.attempts, failed.permanent) == (
        welcome.delivery_id, "mail server unavailable: TimeoutError", 2, False,
    )
    record = service.status(welcome)
    assert (record["status"], record["reason"], record["attempts"], record["permanent"]) == ("failed", failed.reason, 2, False)
    assert service.dead_letters.letters == [("TransientError", failed.reason, 2)]


async def test_a_refused_recipient_fails_at_once() -> None:
    service = InMemoryNotifications(attempts=5)
    await service.receive(registered("alm_1"))
    [welcome] = service.published(EmailRequested)
    service.mailer.failures = [PermanentError("the mail server refused the recipient (550)")]

    assert await service.receive(welcome) == "dead_letter"

    assert service.mailer.attempts == 1
    [failed] = service.published(NotificationFailed)
    assert failed.permanent is True and failed.attempts == 1 and service.status(welcome)["status"] == "failed"


async def test_a_post_to_a_channel_no_longer_configured_is_a_broken_rule() -> None:
    service = InMemoryNotifications()
    await service.receive(registered("alm_1"))
    [post] = service.published(ChatPostRequested)
    stale = post.model_copy(update={"address": "former-team"})

    assert await service.receive(stale) == "dead_letter"

    assert service.events.is_permanent(ChannelNotConfigured("x"))
    assert service.dead_letters.letters == [("ChannelNotConfigured", "chat channel 'former-team' is not configured", 1)]
    assert service.chat.posts == [] and service.published(NotificationFailed)[0].permanent is True


async def test_a_message_sent_whose_recording_failed_is_recorded_without_sending_it_again() -> None:
    service = InMemoryNotifications()
    await service.receive(registered("alm_1"))
    [welcome] = service.published(EmailRequested)
    _, handler = service.events.handlers[welcome.event_type.type]

    async def send_then_lose_the_commit(ctx) -> None:
        await handler(welcome, ctx)
        raise ConnectionError("the database stepped down before the commit")

    with pytest.raises(ConnectionError):
        await service.transactions.run(send_then_lose_the_commit, envelope=envelope_for(welcome))
    assert len(service.mailer.sent) == 1 and service.status(welcome)["status"] == "planned"

    assert await service.receive(welcome) == "handled"
    assert len(service.mailer.sent) == 1 and service.status(welcome)["status"] == "sent"
    assert [d.delivery_id for d in service.published(NotificationDelivered)] == [welcome.delivery_id]


def test_delivery_topics_have_three_consumers_and_no_processed_marker() -> None:
    events = InMemoryNotifications().events
    requests = {m.event_type for m in (EmailRequested, BulkEmailRequested, ChatPostRequested)}
    assert {t.type for t in requests} <= events.idempotent and {t.type for t in requests} <= set(events.give_ups)
    assert {events.concurrency[t.topic] for t in requests} == {3}


async def test_a_confirmation_email_goes_to_the_unconfirmed_address_with_the_link_derived_at_send_time() -> None:
    from shared.events.alumni import EmailConfirmationRequested, MergeReviewOpened
    from tests.unit.notifications.fakes import CONFIRMATION_TOKENS, IDENTITY_URL

    service = InMemoryNotifications()
    requested = EmailConfirmationRequested(
        alumnus_id="alm_9", email="typed@home.example", first_name="Inès", locale="fr", link_id="lnk_1",
        link_key_id=CONFIRMATION_TOKENS.kid, expires_at="2026-11-29T09:00:00Z",
    )
    await service.receive(requested)  # the projection does not know alm_9 yet: the email goes anyway
    await service.receive(MergeReviewOpened(review_id="rev_1", employee_id="E-2", alumnus_id="alm_9", opened_at="2026-11-22T09:00:00Z"))
    assert await service.deliver() == ["handled", "handled"]
    [request] = service.published(EmailRequested)
    assert request.recipient_kind == "alumnus_address" and request.recipient_id == "alm_9"
    token = CONFIRMATION_TOKENS.token("lnk_1")
    assert token not in request.model_dump_json()  # the request on the topic holds no token either
    [mail] = service.mailer.sent
    assert mail.to == "typed@home.example" and mail.email.subject == "Confirmez votre adresse e-mail"
    assert f"{IDENTITY_URL}/email-confirmation/{token}" in mail.email.text
    [(channel, _, text)] = service.chat.posts
    assert channel == "hr" and "rev_1" in text and "E-2" in text and "alm_9" in text and "@" not in text


async def test_a_confirmation_naming_a_key_no_longer_held_fails_at_once_and_sends_nothing() -> None:
    from shared.events.alumni import EmailConfirmationRequested

    service = InMemoryNotifications(attempts=5)
    await service.receive(EmailConfirmationRequested(
        alumnus_id="alm_9", email="typed@home.example", first_name="Inès\r\nBcc: x@evil.example", locale="en", link_id="lnk_1",
        link_key_id="00000000", expires_at="2026-11-29T09:00:00Z",
    ))
    [request] = service.published(EmailRequested)
    assert await service.receive(request) == "dead_letter"
    [failed] = service.published(NotificationFailed)
    assert failed.permanent is True and failed.attempts == 1 and service.mailer.sent == []
