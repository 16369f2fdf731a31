"""Sending what planning requested: each delivery request (transactional email, chat post, a
consent-gated email alone) in its own transaction, and consent-gated email in batches; and
transactional email sent at once, in the transaction that plans it, while the mail server
answers quickly (`send_now`): no second hop through Kafka and the database for a welcome email.

Transactional email, consent-gated email and chat have topics of their own, read by consumers
of their own: an invitation to tens of thousands of alumni never delays a welcome email, and a
slow chat webhook never holds back email. A batch (one record per BULK_EMAIL_BATCH_SIZE
deliveries) is claimed, sent over the pooled SMTP connections and settled in one transaction,
within a time budget (half the handler timeout): what it could not send in time goes on as a
new batch, and a delivery whose send failed goes on alone, retried and dead-lettered like any
other; when nothing of a batch could be sent (the server down), the batch is retried whole.

A delivery is claimed (its status set to sent or skipped) in the transaction that sends it,
only if it is not settled yet: a repeated request finds it settled and does nothing; a failed
send aborts the claim and is retried by the platform. When the platform gives up, the delivery
is recorded failed and `alumni.notification.failed` says why.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from opentelemetry import metrics

from services.notifications.dependencies import Dependencies
from services.notifications.domain import (
    FAILED,
    PLANNED,
    SENT,
    SETTLED,
    SKIPPED,
    ReachableAlumnus,
    alumnus_to_check,
    batch_id,
    skip_reason,
)
from services.notifications.dispatch import send_one, timed
from services.notifications.pacing import InFlight, MailLatency, Rate, SentMemory
from shared.events.notifications import (
    BulkEmailRequested,
    BulkEmailsRequested,
    ChatPostRequested,
    DeliveryRequest,
    EmailRequested,
    NotificationDelivered,
    NotificationFailed,
)
from shared.messaging.failures import GaveUp, is_permanent
from shared.messaging.router import EventRouter
from shared.messaging.uow import EventContext

log = logging.getLogger(__name__)

SEND_NOW_TIMEOUT_SECONDS = 2.0  # an email sent at planning that takes longer goes through its topic

@dataclass(frozen=True)
class SendNow:
    """Transactional email sent in the transaction that plans it: `choose` which, then `send`
    them once their deliveries are planned (services/notifications/handlers.py `plan`)."""

    choose: Callable[[Sequence[DeliveryRequest], EventContext, Mapping[str, ReachableAlumnus]], Awaitable[list[EmailRequested]]]
    send: Callable[[Sequence[EmailRequested], EventContext], Awaitable[None]]


def register_deliveries(events: EventRouter, deps: Dependencies, urgent: InFlight) -> SendNow:
    """The delivery handlers; returns what planning calls to send transactional email at once.
    No bulk send starts while `urgent` counts transactional email under way in the process."""
    sent = SentMemory()  # when only a recording failed and the transaction is retried: not sent again
    latency = MailLatency(deps.send_at_planning_seconds)
    outcomes = metrics.get_meter("alumni.notifications").create_counter(
        "alumni.notifications.deliveries", unit="{delivery}", description="Deliveries settled, by channel and status (sent, skipped, failed)"
    )

    async def failed(request: DeliveryRequest, ctx: EventContext, gave_up: GaveUp) -> None:
        outcomes.add(1, {"channel": request.channel, "status": FAILED})
        now = ctx.now()
        await deps.deliveries(ctx).record_failure(
            request.delivery_id, now, reason=gave_up.message, attempts=gave_up.attempts, permanent=gave_up.permanent
        )
        ctx.publish(
            NotificationFailed(
                **request.facts(), reason=gave_up.message, permanent=gave_up.permanent, attempts=gave_up.attempts, failed_at=now
            ),
            subject=request.recipient_id,
        )

    def record_sent(request: DeliveryRequest) -> None:
        outcomes.add(1, {"channel": request.channel, "status": SENT})
        sent.add(request.delivery_id)

    # Several consumers per delivery topic: a slow recipient server holds back one partition.
    # Bulk sends in flight in this process: at most the pool's bulk connections, each making its
    # message only once it may send it; and none while transactional email is under way (`urgent`).
    bulk_slots, bulk_rate = asyncio.Semaphore(deps.bulk_concurrency), Rate(deps.bulk_per_second)

    @events.on(EmailRequested, BulkEmailRequested, ChatPostRequested, on_give_up=failed, concurrency=3, idempotent=True)
    async def deliver(request: DeliveryRequest, ctx: EventContext) -> None:
        if not isinstance(request, EmailRequested):
            return await deliver_one(request, ctx)
        with urgent:
            await deliver_one(request, ctx)

    async def deliver_one(request: DeliveryRequest, ctx: EventContext) -> None:
        # Consent and erasure are checked again: a change since planning is honoured.
        alumnus_id = alumnus_to_check(request)
        alumnus = await deps.reachable(ctx).get(alumnus_id) if alumnus_id else None
        reason = skip_reason(request, alumnus)
        now = ctx.now()
        if not await deps.deliveries(ctx).claim(request.delivery_id, SKIPPED if reason else SENT, now, reason):
            log.info("delivery already settled: repeat dropped", extra={"delivery_id": request.delivery_id})
            return
        if reason:
            outcomes.add(1, {"channel": request.channel, "status": SKIPPED})
            return
        if request.delivery_id not in sent:
            await timed(latency, send_one(deps, request, now), email=isinstance(request, EmailRequested))
            record_sent(request)
        ctx.publish(NotificationDelivered(**request.facts(), delivered_at=now), subject=request.recipient_id)

    async def choose(requests: Sequence[DeliveryRequest], ctx: EventContext, known: Mapping[str, ReachableAlumnus]) -> list[EmailRequested]:
        """The transactional emails among `requests` to send in the transaction that plans them:
        all of them while the mail server answers within `send_at_planning_seconds` on average,
        none while it is slow (they go through their topic)."""
        chosen = []
        for request in requests:
            if not isinstance(request, EmailRequested) or not latency.quick:
                continue
            alumnus_id = alumnus_to_check(request)
            alumnus = (known.get(alumnus_id) or await deps.reachable(ctx).get(alumnus_id)) if alumnus_id else None
            if not skip_reason(request, alumnus):  # a skipped one: its topic's handler records why
                chosen.append(request)
        return chosen

    async def send(chosen: Sequence[EmailRequested], ctx: EventContext) -> None:
        """Send the `chosen` emails, planned as sent in this transaction, their `delivered` events
        published here. Everything the transaction holds, the event's marker included, is
        written before the first send: a repeat of the event (redelivered after a crash, read by
        another consumer after a rebalance) stops on its marker there, before any email goes
        again. One that fails or takes too long, and the rest while the server is slow, go back
        to planned and through their topic (retried there, with the same Message-ID), so that a
        slow server never holds back planning."""
        if not chosen:
            return
        now = ctx.now()
        delivered = {r.delivery_id: ctx.publish(NotificationDelivered(**r.facts(), delivered_at=now), subject=r.recipient_id) for r in chosen}
        await ctx.write_now()
        back = []
        for request in chosen:
            if request.delivery_id in sent:
                continue
            if not latency.quick:  # slow since the first of them: the others through their topic too
                back.append(request)
                continue
            try:
                with urgent:
                    async with asyncio.timeout(SEND_NOW_TIMEOUT_SECONDS):
                        await timed(latency, send_one(deps, request, now), email=True)
            except Exception as exc:
                log.info("email not sent at planning: through its topic", extra={
                    "delivery_id": request.delivery_id, "error_class": type(exc).__name__})
                back.append(request)
                continue
            record_sent(request)
        if back:
            await deps.deliveries(ctx).restore({r.delivery_id: PLANNED for r in back})
            for request in back:
                await ctx.withdraw(delivered[request.delivery_id])
                ctx.publish(request, subject=request.recipient_id)

    async def batch_failed(batch: BulkEmailsRequested, ctx: EventContext, gave_up: GaveUp) -> None:
        statuses = await deps.deliveries(ctx).statuses([r.delivery_id for r in batch.requests])
        for request in batch.requests:
            if request.delivery_id in statuses and statuses[request.delivery_id] not in SETTLED:
                await failed(request, ctx, gave_up)

    @events.on(BulkEmailsRequested, on_give_up=batch_failed, idempotent=True)
    async def deliver_batch(batch: BulkEmailsRequested, ctx: EventContext) -> None:
        """Claim the batch's unsettled deliveries, send them, settle them: one transaction."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + deps.send_budget_seconds
        deliveries, now = deps.deliveries(ctx), ctx.now()
        statuses = await deliveries.statuses([r.delivery_id for r in batch.requests])
        # Settled already (a repeat), or not recorded (past retention): dropped, as one alone would be.
        pending = [r for r in batch.requests if r.delivery_id in statuses and statuses[r.delivery_id] not in SETTLED]
        checked = await deps.reachable(ctx).many([i for r in pending if (i := alumnus_to_check(r))])
        to_send, skipped = [], {}
        for request in pending:
            alumnus_id = alumnus_to_check(request)
            if reason := skip_reason(request, checked.get(alumnus_id) if alumnus_id else None):
                skipped.setdefault(reason, []).append(request.delivery_id)
            else:
                to_send.append(request)
        for reason, ids in skipped.items():
            await deliveries.claim_many(ids, SKIPPED, now, reason)
            outcomes.add(len(ids), {"channel": "email", "status": SKIPPED})
        await deliveries.claim_many([r.delivery_id for r in to_send], SENT, now)

        async def attempt(request: DeliveryRequest) -> BaseException | None | bool:
            """None: sent; False: not tried (out of time); else why it failed."""
            if request.delivery_id in sent:
                return None
            async with bulk_slots:
                if not await urgent.none_within(deadline - loop.time()) or not await bulk_rate.take_within(deadline - loop.time()):
                    return False
                try:
                    await send_one(deps, request, now, bulk=True)
                except Exception as exc:
                    return exc
            return None

        results = await asyncio.gather(*(attempt(r) for r in to_send))
        done = [r for r, result in zip(to_send, results) if result is None]
        failures = [(r, result) for r, result in zip(to_send, results) if isinstance(result, BaseException)]
        later = [r for r, result in zip(to_send, results) if result is False]
        if failures and not done and not later and not any(is_permanent(e) or events.is_permanent(e) for _, e in failures):
            raise failures[0][1]  # nothing went out (the server is down): the whole batch is retried
        for request in done:
            if request.delivery_id not in sent:
                record_sent(request)
            ctx.publish(NotificationDelivered(**request.facts(), delivered_at=now), subject=request.recipient_id)
        await deliveries.restore({r.delivery_id: statuses[r.delivery_id] for r in [*(r for r, _ in failures), *later]})
        for request, error in failures:  # alone, as any delivery: retried with backoff, then reported
            ctx.publish(request, subject=request.recipient_id)
        if later:
            ctx.publish(BulkEmailsRequested(batch_id=batch_id(later, rest_of=batch.batch_id), requests=later), subject=batch.batch_id)
        log.info("bulk emails sent", extra={
            "batch_id": batch.batch_id, "sent": len(done), "skipped": sum(map(len, skipped.values())),
            "failed_alone": len(failures), "left_for_later": len(later),
        })

    return SendNow(choose, send)
