"""Events in: identity's and engagement's events keep the projection of reachable alumni and
RSVPs; every event with a route becomes delivery requests (one per recipient and channel), each
recorded as planned and published on its channel's topic, in the event's one transaction.

Transactional email, consent-gated email and chat have topics of their own, read by consumers
of their own: an invitation to tens of thousands of alumni never delays a welcome email, and a
slow chat webhook never holds back email.

A delivery is claimed (its status set to sent or skipped) in the transaction that sends it,
only if it is not settled yet: a repeated request finds it settled and does nothing; a failed
send aborts the claim and is retried by the platform. When the platform gives up, the delivery
is recorded failed and `alumni.notification.failed` says why.
"""

import logging
from dataclasses import replace
from datetime import datetime
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry import metrics

from services.notifications.dependencies import Dependencies
from services.notifications.domain import (
    FAILED,
    SENT,
    SKIPPED,
    ChannelNotConfigured,
    Contact,
    ReachableAlumnus,
    alumnus_to_check,
    carries_unsubscribe_link,
    skip_reason,
)
from services.notifications.repository import ReachableAlumni
from services.notifications.routing import Route
from services.notifications.templating import Attachment, TemplateError
from shared.events import Event, registry
from shared.events.alumni import AlumniImported, AlumnusErased, AlumnusRegistered, AlumnusUpdated, ConsentChanged
from shared.events.engagement import RsvpRecorded
from shared.events.notifications import (
    BulkEmailRequested,
    ChatPostRequested,
    DeliveryRequest,
    EmailRequested,
    NotificationDelivered,
    NotificationFailed,
    UnsubscribeRequested,
)
from shared.messaging.failures import GaveUp
from shared.links import InvalidLink
from shared.messaging.router import EventRouter
from shared.messaging.uow import EventContext

log = logging.getLogger(__name__)

# The service's own events: handled by the delivery handler, or by identity.
OWN = {EmailRequested, BulkEmailRequested, ChatPostRequested, UnsubscribeRequested}
# The events that feed the projection of reachable alumni and RSVPs.
PROJECTED = {AlumnusRegistered, AlumniImported, AlumnusUpdated, ConsentChanged, AlumnusErased, RsvpRecorded}
# Deliveries this process sent whose recording has not been seen to succeed: bounded, since once
# recorded, the delivery's status answers for it.
SENT_MEMORY = 10_000


def event_handlers(deps: Dependencies) -> EventRouter:
    planning = deps.planning
    events = EventRouter(permanent=(ChannelNotConfigured, TemplateError, InvalidLink))
    for route in planning.unconfigured:
        log.warning("no chat channel configured for a route: it sends nothing",
                    extra={"team": route.team, "template": route.template, "event_type": route.event})

    async def plan(event: Event, ctx: EventContext, projected: ReachableAlumnus | None = None) -> None:
        """`projected`: the alumnus this transaction just projected, not read back."""
        envelope = ctx.envelope
        routes = planning.routes_for(envelope.type)
        if not routes:
            return
        payload = event.model_dump(mode="json")
        reachable = deps.reachable(ctx)
        known = {projected.alumnus_id: projected} if projected else {}
        requests: list[DeliveryRequest] = []
        for route in routes:
            if route.applies_to(payload):
                candidates = await _candidates(route, payload, reachable, known)
                requests += planning.requests(route, envelope.source, envelope.id, payload, candidates)
        for request in requests:
            ctx.publish(request, subject=request.recipient_id)
        await deps.deliveries(ctx).plan(requests, ctx.now())
        if requests:
            log.info("deliveries planned", extra={"event_id": envelope.id, "event_type": envelope.type, "deliveries": len(requests)})

    async def project(ctx: EventContext, alumnus_id: str, change: Callable[[ReachableAlumnus], bool]) -> ReachableAlumnus:
        """One read and, when something changed, one write of the projection."""
        reachable = deps.reachable(ctx)
        alumnus = await reachable.get(alumnus_id) or ReachableAlumnus(alumnus_id)
        if change(alumnus):
            await reachable.save(alumnus)
        return alumnus

    @events.on(AlumnusRegistered)
    async def registered(event: AlumnusRegistered, ctx: EventContext) -> None:
        contact = Contact.of(event.profile)
        await plan(event, ctx, await project(ctx, event.alumnus_id, lambda a: a.register(event.version, contact, event.consents)))

    @events.on(AlumniImported)
    async def imported(event: AlumniImported, ctx: EventContext) -> None:
        """An import's alumni, projected as registrations are, many at a time; no message is
        planned (the routing table keeps the type silent: historic leavers get no welcome)."""
        reachable = deps.reachable(ctx)
        known = await reachable.many([a.alumnus_id for a in event.alumni])
        projected: dict[str, ReachableAlumnus] = {}
        for a in event.alumni:
            alumnus = projected.get(a.alumnus_id) or known.get(a.alumnus_id) or ReachableAlumnus(a.alumnus_id)
            if alumnus.register(a.version, Contact.of(a.profile), a.consents):
                projected[a.alumnus_id] = alumnus
        await reachable.save_many([a for i, a in projected.items() if i not in known], new=True)
        await reachable.save_many([a for i, a in projected.items() if i in known], new=False)

    @events.on(AlumnusUpdated)
    async def updated(event: AlumnusUpdated, ctx: EventContext) -> None:
        contact = Contact.of(event.profile)
        await plan(event, ctx, await project(ctx, event.alumnus_id, lambda a: a.update_contact(event.version, contact)))

    @events.on(ConsentChanged)
    async def consent_changed(event: ConsentChanged, ctx: EventContext) -> None:
        alumnus = await project(ctx, event.alumnus_id, lambda a: a.set_consent(event.purpose, event.granted, event.version))
        await plan(event, ctx, alumnus)

    @events.on(AlumnusErased)
    async def erased(event: AlumnusErased, ctx: EventContext) -> None:
        await deps.reachable(ctx).erase(event.alumnus_id, event.erased_at)
        await deps.deliveries(ctx).forget_recipient(event.alumnus_id)
        await plan(event, ctx, ReachableAlumnus.tombstone(event.alumnus_id, event.erased_at))

    @events.on(RsvpRecorded)
    async def rsvp_recorded(event: RsvpRecorded, ctx: EventContext) -> None:
        await deps.reachable(ctx).record_rsvp(event.event_id, event.alumnus_id, event.response)
        await plan(event, ctx)

    # The other events read are those with a route; the silent ones are left unread (each read
    # costs a transaction). Those whose routes all go to unconfigured chat channels are read and
    # skipped, so that configuring the channel later does not replay their topic's history.
    active = {route.event for route in planning.routes}
    routed = {route.event for route in planning.table.routes}
    events.on(*(t.model for t in registry if t.type in active and t.model not in OWN | PROJECTED))(plan)
    events.skip(*(t.model for t in registry if t.type in routed - active and t.model not in PROJECTED))

    # Deliveries this process sent: when only their recording failed (the database restarting)
    # and the transaction is retried, they are recorded without being sent again.
    sent: OrderedDict[str, None] = OrderedDict()
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

    # Several consumers per delivery topic: a slow recipient server holds back one partition.
    @events.on(EmailRequested, BulkEmailRequested, ChatPostRequested, on_give_up=failed, concurrency=3, idempotent=True)
    async def deliver(request: DeliveryRequest, ctx: EventContext) -> None:
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
            await _send(deps, request, now)
            outcomes.add(1, {"channel": request.channel, "status": SENT})
            sent[request.delivery_id] = None
            if len(sent) > SENT_MEMORY:
                sent.popitem(last=False)
        ctx.publish(NotificationDelivered(**request.facts(), delivered_at=now), subject=request.recipient_id)

    return events


async def _candidates(
    route: Route, payload: Mapping[str, Any], reachable: ReachableAlumni, known: Mapping[str, ReachableAlumnus]
) -> list[ReachableAlumnus | None]:
    """What the projection says of the alumni the route's audience names."""
    if route.audience == "invitees":
        assert route.purpose is not None  # the routing table requires it
        return await reachable.consenting(route.purpose, payload.get("countries") or [])
    if route.audience == "alumnus":
        ids = [payload["alumnus_id"]]
    elif route.audience == "attendees":
        ids = await reachable.attendees(payload["event_id"])
    elif route.audience == "named":
        ids = list(dict.fromkeys(payload["alumnus_ids"]))
    else:
        return []  # the leaver and chat channels are named by the event and the configuration
    if route.audience == "named":  # up to a chunk of alumni: one read for them all
        found = await reachable.many([i for i in ids if i not in known])
        return [known.get(i) or found.get(i) for i in ids]
    return [known[i] if i in known else await reachable.get(i) for i in ids]


async def _send(deps: Dependencies, request: DeliveryRequest, now: datetime) -> None:
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
        await deps.mailer.send(request.delivery_id, request.address, email, unsubscribe_url)
