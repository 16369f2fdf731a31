"""Transactional email sent in the transaction that plans it, while the mail server answers
quickly: no request on the email topic, the delivery recorded sent and reported; an email that
cannot be sent at once, and every one while the server is slow, goes through its topic as before.
On the real stack: every integration test runs with it (SMTP_SEND_AT_PLANNING_MS defaults to 100)."""

from services.notifications.pacing import MailLatency
from shared.events.notifications import ChatPostRequested, EmailRequested, NotificationDelivered
from shared.messaging.failures import PermanentError, TransientError
from shared.testing.fakes import envelope_for
from tests.unit.notifications.events import registered
from tests.unit.notifications.fakes import InMemoryNotifications


def quick_service() -> InMemoryNotifications:
    service = InMemoryNotifications()
    service.configure(send_at_planning_seconds=0.1)
    return service


async def test_a_welcome_email_is_sent_while_its_registration_is_planned() -> None:
    service = quick_service()
    assert await service.receive(registered("alm_1", first_name="Anaïs")) == "handled"

    [mail] = service.mailer.sent
    assert mail.to == "alm_1@home.example" and mail.email.subject.startswith("Welcome to the alumni network, Anaïs")
    assert service.published(EmailRequested) == []  # no second hop
    [delivered] = service.published(NotificationDelivered)
    assert delivered.template == "welcome" and delivered.recipient_id == "alm_1"
    [welcome] = [d for d in service.store.deliveries.values() if d["template"] == "welcome"]
    assert (welcome["status"], welcome["settled_at"]) == ("sent", welcome["created_at"])
    # Chat posts keep their own topic: a slow webhook never holds back planning.
    [post] = service.published(ChatPostRequested)
    assert service.status(post)["status"] == "planned"
    assert await service.deliver() == ["handled"] and len(service.mailer.sent) == 1


async def test_a_repeated_registration_sends_nothing_again() -> None:
    service = quick_service()
    event = registered("alm_1")
    envelope = envelope_for(event)
    assert await service.receive(event, envelope) == "handled"

    assert await service.receive(event, envelope) == "repeat"  # the marker
    assert len(service.mailer.sent) == 1 and len(service.published(NotificationDelivered)) == 1


async def test_a_repeat_read_by_another_process_sends_nothing_again() -> None:
    """Another process (a restart, or a partition moved to another instance) has no memory of
    what was sent: the event's marker, written before the send, stops the repeat first."""
    service = quick_service()
    event = registered("alm_1")
    envelope = envelope_for(event)
    assert await service.receive(event, envelope) == "handled"

    service.configure(send_at_planning_seconds=0.1)  # the handlers made again: another process
    assert await service.receive(event, envelope) == "repeat"
    assert len(service.mailer.sent) == 1 and len(service.published(NotificationDelivered)) == 1


async def test_an_email_the_server_refuses_at_planning_goes_through_its_topic() -> None:
    service = quick_service()
    service.mailer.failures = [TransientError("mail server unavailable: SMTPServerDisconnected")]

    assert await service.receive(registered("alm_1")) == "handled"  # planning is not held back
    assert service.mailer.sent == []
    [request] = service.published(EmailRequested)
    assert service.status(request)["status"] == "planned" and service.published(NotificationDelivered) == []

    await service.deliver()  # the topic's handler sends it
    assert [m.delivery_id for m in service.mailer.sent] == [request.delivery_id]
    assert service.status(request)["status"] == "sent"


async def test_while_the_server_is_slow_every_email_goes_through_its_topic_until_it_is_quick_again() -> None:
    service = quick_service()
    service.mailer.failures = [TransientError("timeout")]
    await service.receive(registered("alm_1"))  # one failure: the average is past the limit
    await service.receive(registered("alm_2"))

    assert service.mailer.attempts == 1  # the second was not even tried at planning
    assert {r.recipient_id for r in service.published(EmailRequested)} == {"alm_1", "alm_2"}
    for _ in range(20):  # quick sends through the topic bring the average down
        await service.deliver()
        await service.receive(registered(f"alm_more_{_}"))
    assert service.published(EmailRequested)[-1].recipient_id != "alm_more_19"
    assert any(d.recipient_id == "alm_more_19" for d in service.published(NotificationDelivered))


async def test_a_transaction_that_fails_after_the_send_records_it_without_sending_again() -> None:
    service = quick_service()
    plan, failures = service.deliveries.plan, [TransientError("the database stepped down")]

    async def failing_once(*args, **kwargs) -> None:
        if failures:
            raise failures.pop()
        await plan(*args, **kwargs)

    service.deliveries.plan = failing_once
    assert await service.receive(registered("alm_1")) == "handled"  # retried by the consumer

    assert service.mailer.attempts == 1 and len(service.mailer.sent) == 1
    [welcome] = [d for d in service.store.deliveries.values() if d["template"] == "welcome"]
    assert welcome["status"] == "sent"
    assert len([d for d in service.published(NotificationDelivered) if d.template == "welcome"]) == 1


def test_the_average_latency_decides_and_a_failure_counts_as_slow() -> None:
    latency = MailLatency(0.1)
    assert latency.quick
    latency.observe(0.01)
    assert latency.quick
    latency.observe(None)
    assert not latency.quick and latency.average > 0.1
    for _ in range(30):
        latency.observe(0.01)
    assert latency.quick
    assert not MailLatency(0).quick  # 0: never at planning


async def test_a_refused_recipient_at_planning_is_not_taken_for_a_slow_server() -> None:
    service = quick_service()
    service.mailer.failures = [PermanentError("the mail server refused 1 recipient(s)")]
    await service.receive(registered("alm_1"))  # refused at planning: through its topic, where it fails for good
    await service.receive(registered("alm_2"))

    assert [m.to for m in service.mailer.sent] == ["alm_2@home.example"]  # sent at planning: the server is quick
    assert [r.recipient_id for r in service.published(EmailRequested)] == ["alm_1"]
