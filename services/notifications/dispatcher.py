"""Delivery: one message per delivery request. The delivery is claimed (its status set to sent or
skipped) in the transaction that sends it, only if it is not settled yet: a repeated request
finds it settled and does nothing; a failed send aborts the claim. A message this process sent
is not sent again when only its recording failed and is retried. Consent and erasure are checked
again at send time: a withdrawal or an erasure between planning and sending is honoured. Failures are retried by the platform; when it gives
up, the delivery is recorded failed and `alumni.notification.failed` says why."""

import logging
from collections import OrderedDict
from dataclasses import dataclass, field

from services.notifications.channels import ChatChannel
from services.notifications.repository import Deliveries, ReachableAlumni
from services.notifications.senders import SmtpSender, WebhookSender
from services.notifications.templating import Templates, TemplateError
from services.notifications.unsubscribe import make_token
from shared.messaging.router import EventRouter
from shared.messaging.uow import EventContext
from shared.events.notifications import (
    BulkEmailRequested,
    ChatPostRequested,
    DeliveryRequest,
    EmailRequested,
    NotificationDelivered,
    NotificationFailed,
)
from shared.messaging.failures import GaveUp, PermanentError

log = logging.getLogger(__name__)


@dataclass
class Dispatcher:
    templates: Templates
    smtp: SmtpSender
    webhooks: WebhookSender
    channels: dict[str, ChatChannel]
    public_base_url: str
    portal_url: str
    unsubscribe_secret: str
    # Deliveries this process sent whose recording has not been seen to succeed: when recording
    # fails (the database restarting) and the transaction is retried, it records without sending
    # again. Bounded: once recorded, the delivery's status answers for it.
    _sent: OrderedDict[str, None] = field(default_factory=OrderedDict)
    SENT_MEMORY = 10_000

    def unsubscribe_url(self, request: DeliveryRequest) -> str | None:
        if request.purpose is None or request.recipient_kind != "alumnus":
            return None  # transactional: no unsubscribe
        token = make_token(self.unsubscribe_secret, request.recipient_id, request.purpose)
        return f"{self.public_base_url.rstrip('/')}/unsubscribe/{token}"

    async def _skip_reason(self, request: DeliveryRequest, ctx: EventContext) -> str | None:
        if request.recipient_kind != "alumnus":
            return None
        reachable = await ReachableAlumni(ctx).get(request.recipient_id)
        if reachable is None:
            return "the alumnus was erased"
        if request.purpose is not None and not reachable.consents_to(request.purpose):
            return f"no consent for {request.purpose.value}"
        return None

    async def deliver(self, request: DeliveryRequest, ctx: EventContext) -> None:
        reason = await self._skip_reason(request, ctx)
        now = ctx.now()
        fields = {"reason": reason} if reason else {}
        if not await Deliveries(ctx).claim(request.delivery_id, "skipped" if reason else "sent", now, **fields):
            log.info("delivery already settled: repeat dropped", extra={"delivery_id": request.delivery_id})
            return
        if reason:
            return
        if request.delivery_id not in self._sent:
            await self._send(request)
            self._sent[request.delivery_id] = None
            if len(self._sent) > self.SENT_MEMORY:
                self._sent.popitem(last=False)
        ctx.publish(NotificationDelivered(**request.facts(), delivered_at=now), subject=request.recipient_id)

    async def _send(self, request: DeliveryRequest) -> None:
        context = request.context | {"portal_url": self.portal_url, "unsubscribe_url": self.unsubscribe_url(request)}
        try:
            if isinstance(request, ChatPostRequested):
                channel = self.channels.get(request.address)
                if channel is None:
                    raise PermanentError(f"chat channel {request.address!r} is not configured")
                await self.webhooks.post(request.address, channel, self.templates.chat(request.template, request.locale.value, context))
            else:
                email = self.templates.email(request.template, request.locale.value, context)
                message = self.smtp.message(request.delivery_id, request.address, email, context["unsubscribe_url"])
                await self.smtp.send(message)
        except TemplateError as exc:
            raise PermanentError(str(exc)) from None

    async def failed(self, request: DeliveryRequest, ctx: EventContext, gave_up: GaveUp) -> None:
        now = ctx.now()
        await Deliveries(ctx).settle(
            request.delivery_id, "failed", now, reason=gave_up.message, attempts=gave_up.attempts, permanent=gave_up.permanent
        )
        ctx.publish(
            NotificationFailed(
                **request.facts(), reason=gave_up.message, permanent=gave_up.permanent, attempts=gave_up.attempts, failed_at=now
            ),
            subject=request.recipient_id,
        )

    def register(self, events: EventRouter) -> None:
        # Several consumers per delivery topic: a slow recipient server holds back one partition.
        events.on(
            EmailRequested, BulkEmailRequested, ChatPostRequested, on_give_up=self.failed, concurrency=3, idempotent=True
        )(self.deliver)

