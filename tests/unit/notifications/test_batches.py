"""Consent-gated email in batches, over in-memory senders: a chunk of invitations planned as a few
batches (each delivery in exactly one, no list of everyone in any message), each sent once,
repeats and replays dropped, consent checked again, a failed send going on alone, a batch that
runs out of time going on as a new batch, and one that can send nothing retried whole then
reported. The same on the real SMTP server: tests/integration/fanout."""

import asyncio

import pytest

from services.notifications.domain import MAX_BATCH_BYTES, Contact, ReachableAlumnus, batches
from services.notifications.pacing import Rate
from shared.events.notifications import (
    MAX_EMAILS_PER_BATCH,
    BulkEmailRequested,
    BulkEmailsRequested,
    NotificationDelivered,
    NotificationFailed,
)
from shared.events.types import Purpose
from shared.messaging.failures import PermanentError, TransientError
from shared.testing.fakes import envelope_for
from tests.unit.notifications.events import consent_changed, invited, registered
from tests.unit.notifications.fakes import InMemoryNotifications


async def invitations_to(service: InMemoryNotifications, count: int, *, batch_size: int = 4) -> list[str]:
    service.configure(bulk_batch_size=batch_size)
    ids = [f"alm_{n:02d}" for n in range(count)]
    for alumnus_id in ids:
        await service.receive(registered(alumnus_id, consents={"events": True}))
    await service.deliver()  # their welcome emails, and the HR posts
    await service.receive(invited("evt_1", ids))
    return ids


def invitations(service: InMemoryNotifications) -> list:
    return [m for m in service.mailer.sent if m.email.subject.startswith("You are invited")]


async def test_a_chunk_is_planned_as_batches_each_delivery_in_one_and_no_message_lists_the_others() -> None:
    service = InMemoryNotifications()
    ids = await invitations_to(service, 10, batch_size=4)

    planned = service.published(BulkEmailsRequested)
    assert [len(b.requests) for b in planned] == [4, 4, 2]
    assert sorted(r.recipient_id for b in planned for r in b.requests) == ids
    assert not service.published(BulkEmailRequested)  # none alone
    assert all("alumnus_ids" not in r.context["event"] for b in planned for r in b.requests)
    assert all(service.status(r)["status"] == "planned" for b in planned for r in b.requests)


def test_batches_are_bounded_by_count_and_size_and_the_same_for_the_same_requests() -> None:
    service = InMemoryNotifications()
    [route] = [r for r in service.deps.planning.routes if r.template == "event_invitation"]
    notice = invited("evt_1", ["alm_1"])
    payload = notice.model_dump(mode="json") | {"hosted_event": notice.hosted_event.model_dump(mode="json") | {"description": "x" * 500}}
    alumni = [ReachableAlumnus(f"alm_{n:04d}", Contact(f"a{n}@home.example", "Inès", "Moreau", "en", "FR"), 1, {Purpose.EVENTS: True}) for n in range(400)]
    requests = service.deps.planning.requests(route, "/alumni/engagement", "ce-1", payload, alumni)

    grouped = batches(requests, 500)
    assert all(len(b.requests) <= MAX_EMAILS_PER_BATCH for b in grouped)
    assert all(sum(len(r.model_dump_json()) for r in b.requests) <= MAX_BATCH_BYTES for b in grouped)
    assert [r.delivery_id for b in grouped for r in b.requests] == [r.delivery_id for r in requests]
    assert [b.batch_id for b in batches(requests, 500)] == [b.batch_id for b in grouped]
    assert len({b.batch_id for b in grouped}) == len(grouped)


async def test_each_invitation_is_sent_once_even_when_its_batch_comes_again() -> None:
    service = InMemoryNotifications()
    ids = await invitations_to(service, 6)
    assert set(await service.deliver()) == {"handled"}
    [first, *_] = service.published(BulkEmailsRequested)

    assert await service.receive(first, envelope_for(first, event_id="a-replay")) == "handled"

    assert sorted(m.to for m in invitations(service)) == sorted(f"{i}@home.example" for i in ids)
    delivered = [d.delivery_id for d in service.published(NotificationDelivered) if d.template == "event_invitation"]
    assert len(delivered) == len(set(delivered)) == 6
    assert all(service.status(r)["status"] == "sent" for b in service.published(BulkEmailsRequested) for r in b.requests)


async def test_a_consent_withdrawn_before_the_batch_is_sent_skips_that_alumnus_only() -> None:
    service = InMemoryNotifications()
    await invitations_to(service, 3)
    await service.receive(consent_changed("alm_01", 2, "events", False))

    await service.deliver()

    assert sorted(m.to for m in invitations(service)) == ["alm_00@home.example", "alm_02@home.example"]
    [batch] = service.published(BulkEmailsRequested)
    assert [service.status(r)["status"] for r in batch.requests] == ["sent", "skipped", "sent"]
    assert service.status(batch.requests[1])["reason"] == "no consent for events"


async def test_a_send_that_fails_in_a_batch_goes_on_alone_and_the_rest_are_settled() -> None:
    service = InMemoryNotifications()
    await invitations_to(service, 3)
    service.mailer.failures = [PermanentError("the mail server refused the recipient (550)")]

    await service.deliver()  # the batch: one refused, two sent
    [batch] = service.published(BulkEmailsRequested)
    [alone] = service.published(BulkEmailRequested)
    assert alone.delivery_id == batch.requests[0].delivery_id and service.status(alone)["status"] == "planned"
    assert len(invitations(service)) == 2

    service.mailer.failures = [PermanentError("the mail server refused the recipient (550)")]
    assert await service.deliver() == ["dead_letter"]  # alone, as any delivery: reported
    assert service.status(alone)["status"] == "failed"
    [failure] = service.published(NotificationFailed)
    assert failure.delivery_id == alone.delivery_id and failure.permanent


async def test_a_batch_that_can_send_nothing_is_retried_whole_then_each_delivery_reported() -> None:
    service = InMemoryNotifications(attempts=3)
    await invitations_to(service, 2)
    service.mailer.failures = [TransientError("mail server unavailable: ConnectionRefusedError")] * 2  # the first try: both fail

    await service.deliver()
    assert len(invitations(service)) == 2 and not service.published(BulkEmailRequested)  # the second try sent both

    again = InMemoryNotifications(attempts=2)
    await invitations_to(again, 2)
    again.mailer.failures = [TransientError("mail server unavailable: ConnectionRefusedError")] * 10
    assert await again.deliver() == ["dead_letter"]
    [batch] = again.published(BulkEmailsRequested)
    assert [again.status(r)["status"] for r in batch.requests] == ["failed", "failed"]
    assert len(again.published(NotificationFailed)) == 2 and not invitations(again)


async def test_a_batch_out_of_time_sends_the_rest_as_a_new_batch() -> None:
    service = InMemoryNotifications()
    await invitations_to(service, 4)
    service.configure(send_budget_seconds=0.0)
    [batch] = service.published(BulkEmailsRequested)

    assert await service.receive(batch) == "handled"

    assert not invitations(service)
    [_, rest] = service.published(BulkEmailsRequested)
    assert [r.delivery_id for r in rest.requests] == [r.delivery_id for r in batch.requests] and rest.batch_id != batch.batch_id
    assert all(service.status(r)["status"] == "planned" for r in rest.requests)


@pytest.mark.parametrize("size", [0, MAX_EMAILS_PER_BATCH + 1])
def test_a_batch_out_of_bounds_is_refused(size: int) -> None:
    service = InMemoryNotifications()
    request = BulkEmailRequested(
        delivery_id="d1", source_event_id="e1", source_event_type="t", recipient_kind="alumnus", recipient_id="alm_1",
        channel="email", template="event_invitation", address="a@home.example", purpose="events",
    )
    with pytest.raises(ValueError):
        BulkEmailsRequested(batch_id="b1", requests=[request] * size)
    assert service.events.handlers[BulkEmailsRequested.event_type.type]


async def test_bulk_mail_waits_while_a_transactional_email_is_being_delivered() -> None:
    import asyncio

    from shared.events.notifications import EmailRequested

    service = InMemoryNotifications()
    await invitations_to(service, 2)
    await service.receive(registered("alm_new"))  # a welcome, planned after the invitations
    [welcome] = [r for r in service.published(EmailRequested) if r.recipient_id == "alm_new"]
    [batch] = service.published(BulkEmailsRequested)
    released, order = asyncio.Event(), []

    class Mailer:
        async def send(self, delivery_id, to, email, unsubscribe_url, *, bulk=False) -> None:
            if not bulk:
                await released.wait()
            order.append("bulk" if bulk else "welcome")

    service.configure(mailer=Mailer())
    welcoming = asyncio.create_task(service.receive(welcome))
    await asyncio.sleep(0.01)
    inviting = asyncio.create_task(service.receive(batch))
    await asyncio.sleep(0.05)
    assert order == []  # the batch holds back while the welcome is under way
    released.set()
    assert await welcoming == "handled" and await inviting == "handled"
    assert order == ["welcome", "bulk", "bulk"]


async def test_bulk_mail_keeps_to_its_rate_and_what_the_budget_cannot_fit_goes_on_as_a_new_batch() -> None:
    service = InMemoryNotifications()
    await invitations_to(service, 4)
    service.configure(bulk_per_second=2.0, send_budget_seconds=0.8)  # slots at 0, 0.5 s, 1 s, ...
    [batch] = service.published(BulkEmailsRequested)

    assert await service.receive(batch) == "handled"

    sent = invitations(service)
    assert len(sent) == 2  # the slots within the budget
    [_, rest] = service.published(BulkEmailsRequested)
    assert sorted(r.delivery_id for r in rest.requests) == sorted(r.delivery_id for r in batch.requests if r.delivery_id not in {m.delivery_id for m in sent})


async def test_a_rate_spaces_its_slots_and_never_takes_one_past_the_wait_allowed() -> None:
    rate = Rate(20.0)  # one every 50 ms
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert all([await rate.take_within(1.0) for _ in range(4)])
    assert loop.time() - started >= 0.15  # three intervals at least; a sleep never ends early
    assert not await rate.take_within(0.0)  # the next slot is ahead: not taken
    assert await Rate(0).take_within(0.0)  # no limit


async def test_bulk_mail_waits_while_an_event_that_plans_transactional_email_is_handled() -> None:
    from tests.unit.notifications.fakes import InMemoryReachableAlumni

    service = InMemoryNotifications()
    await invitations_to(service, 2)
    [batch] = service.published(BulkEmailsRequested)
    released = asyncio.Event()

    class SlowProjection(InMemoryReachableAlumni):  # the registration's read, held back
        async def get(self, alumnus_id: str):
            if alumnus_id == "alm_new":
                await released.wait()
            return await super().get(alumnus_id)

    service.configure(reachable=SlowProjection(service.store))
    welcoming = asyncio.create_task(service.receive(registered("alm_new")))
    await asyncio.sleep(0.01)
    inviting = asyncio.create_task(service.receive(batch))
    await asyncio.sleep(0.05)
    assert invitations(service) == []  # held back before the welcome is even planned
    released.set()
    assert await welcoming == "handled" and await inviting == "handled"
    assert len(invitations(service)) == 2


async def test_bulk_mail_does_not_wait_for_reminders_which_come_in_chunks_like_a_fan_out() -> None:
    from shared.events.engagement import EventReminderDue
    from tests.unit.notifications.fakes import InMemoryReachableAlumni

    service = InMemoryNotifications()
    await invitations_to(service, 2)
    [batch] = service.published(BulkEmailsRequested)
    await service.receive(registered("alm_going"))
    notice = invited("evt_1", ["alm_going"])
    reminder = EventReminderDue(event_id="evt_1", hosted_event=notice.hosted_event, alumnus_ids=["alm_going"])
    released = asyncio.Event()

    class SlowProjection(InMemoryReachableAlumni):  # the reminder's read of those it names, held back
        async def many(self, alumnus_ids: list[str]):
            if "alm_going" in alumnus_ids:
                await released.wait()
            return await super().many(alumnus_ids)

        async def get(self, alumnus_id: str):
            if alumnus_id == "alm_going":
                await released.wait()
            return await super().get(alumnus_id)

    service.configure(reachable=SlowProjection(service.store))
    reminding = asyncio.create_task(service.receive(reminder))
    await asyncio.sleep(0.01)
    assert not reminding.done()
    assert await asyncio.wait_for(service.receive(batch), 2.0) == "handled"  # not held back by it
    assert len(invitations(service)) == 2  # sent while the reminder is still being planned
    released.set()
    assert await reminding == "handled"
