"""One delivery made and handed to its channel: the email from its template (and calendar
invitation), or the chat post; and the mail server's latency observed."""

import asyncio
import time
from collections.abc import Awaitable
from dataclasses import replace
from datetime import datetime

from services.notifications.dependencies import Dependencies
from services.notifications.domain import ChannelNotConfigured, carries_unsubscribe_link
from services.notifications.pacing import MailLatency
from services.notifications.templating import Attachment
from shared.events.notifications import ChatPostRequested, DeliveryRequest
from shared.messaging.failures import TransientError


async def timed(latency: MailLatency, send: Awaitable[None], *, email: bool) -> None:
    """`send`, its duration observed when it is an email: an outage or a timeout counts as slow;
    a refusal or a template error is an answer, as quick as it came."""
    started, slow = time.monotonic(), False
    try:
        await send
    except (TransientError, TimeoutError, OSError, asyncio.CancelledError):
        slow = True
        raise
    finally:
        if email:
            latency.observe(None if slow else time.monotonic() - started)


async def send_one(deps: Dependencies, request: DeliveryRequest, now: datetime, *, bulk: bool = False) -> None:
    unsubscribe_url = deps.unsubscribe.url(request.recipient_id, request.purpose, now) if carries_unsubscribe_link(request) else None
    context = request.context | {"portal_url": deps.portal_url, "unsubscribe_url": unsubscribe_url}
    if "event" in context:
        for links in (deps.exit_form, deps.email_confirmation):
            context["event"] = links.add_to(request.source_event_type, context["event"])
        context["event"] = deps.hosted_events.add_to(request.source_event_type, context["event"], request.recipient_id)
    if isinstance(request, ChatPostRequested):
        channel = deps.planning.channels.get(request.address)
        if channel is None:
            raise ChannelNotConfigured(f"chat channel {request.address!r} is not configured")
        await deps.chat.post(request.address, channel, deps.templates.chat(request.template, request.locale.value, context))
    else:
        email = deps.templates.email(request.template, request.locale.value, context)
        if calendar := deps.hosted_events.calendar(request.source_event_type, request.context.get("event", {}), now):
            method, data = calendar
            email = replace(email, attachments=(Attachment("event.ics", f"text/calendar; method={method}", data),))
        await deps.mailer.send(request.delivery_id, request.address, email, unsubscribe_url, bulk=bulk)
