"""Events in: identity's and engagement's events keep the projection of reachable alumni and
RSVPs; every event with a route becomes delivery requests (one per recipient and channel), each
recorded as planned and published on its channel's topic, in the event's one transaction;
consent-gated emails are published in batches (services/notifications/sending.py sends them), and
transactional email is sent in that transaction while the mail server answers quickly.
"""

import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from services.notifications.dependencies import Dependencies
from services.notifications.domain import ChannelNotConfigured, Contact, ReachableAlumnus, RecipientsNotYetKnown, batches
from services.notifications.pacing import InFlight
from services.notifications.repository import ReachableAlumni
from services.notifications.routing import Route
from services.notifications.sending import register_deliveries
from services.notifications.templating import TemplateError
from shared.events import Event, registry
from shared.events.alumni import AlumniImported, AlumnusErased, AlumnusRegistered, AlumnusUpdated, ConsentChanged
from shared.events.engagement import RsvpRecorded
from shared.events.notifications import (
    BulkEmailRequested,
    BulkEmailsRequested,
    ChatPostRequested,
    DeliveryRequest,
    EmailRequested,
    UnsubscribeRequested,
)
from shared.links import InvalidLink
from shared.messaging.failures import GaveUp
from shared.messaging.recheck import TooManyWaiting
from shared.messaging.router import EventRouter
from shared.messaging.uow import EventContext

log = logging.getLogger(__name__)

# The service's own events: handled by the delivery handler, or by identity.
OWN = {EmailRequested, BulkEmailRequested, BulkEmailsRequested, ChatPostRequested, UnsubscribeRequested}
# The events that feed the projection of reachable alumni and RSVPs.
PROJECTED = {AlumnusRegistered, AlumniImported, AlumnusUpdated, ConsentChanged, AlumnusErased, RsvpRecorded}


def event_handlers(deps: Dependencies) -> EventRouter:
    planning = deps.planning
    events = EventRouter(permanent=(ChannelNotConfigured, TemplateError, InvalidLink), waiting=(RecipientsNotYetKnown,))
    urgent = InFlight()  # transactional email being planned or sent here: bulk sends wait
    send_now = register_deliveries(events, deps, urgent)
    # One person's transactional email (a welcome, an exit form, a confirmation); not the
    # reminders and updates to those going, which come in chunks like a fan-out.
    pressing = {
        route.event for route in planning.routes
        if route.channel == "email" and route.purpose is None and route.audience in ("alumnus", "leaver", "address")
    }

    def first(handler: Callable[[Any, EventContext], Awaitable[None]]) -> Callable[[Any, EventContext], Awaitable[None]]:
        """The whole handling of an event that plans transactional email holds bulk sends back,
        not only its send: during a fan-out the welcome email waited for the loop otherwise."""
        @functools.wraps(handler)
        async def held(event: Any, ctx: EventContext) -> None:
            if ctx.envelope.type not in pressing:
                return await handler(event, ctx)
            with urgent:
                return await handler(event, ctx)
        return held
    for route in planning.unconfigured:
        log.warning("no chat channel configured for a route: it sends nothing",
                    extra={"team": route.team, "template": route.template, "event_type": route.event})

    async def plan(event: Event, ctx: EventContext, projected: ReachableAlumnus | None = None, *, waited: bool = False) -> None:
        """`projected`: the alumnus this transaction just projected, not read back. `waited`: the
        event waited its bound for alumni never registered here: plan it without them."""
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
                candidates = await _candidates(route, payload, reachable, known, waited=waited)
                requests += planning.requests(route, envelope.source, envelope.id, payload, candidates)
        chosen = await send_now.choose(requests, ctx, known)
        at_once = {r.delivery_id for r in chosen}
        bulk = [r for r in requests if isinstance(r, BulkEmailRequested)]
        for request in requests:
            if not isinstance(request, BulkEmailRequested) and request.delivery_id not in at_once:
                ctx.publish(request, subject=request.recipient_id)
        for batch in batches(bulk, deps.bulk_batch_size):
            ctx.publish(batch, subject=envelope.id)
        await deps.deliveries(ctx).plan(requests, ctx.now(), sent=at_once)
        await send_now.send(chosen, ctx)
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
    @first
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

    async def without_the_unknown(event: Event, ctx: EventContext, gave_up: GaveUp) -> None:
        """Dead-lettered after waiting for alumni who never registered here (a forged id, a
        registration older than the topic's retention), or at once because as many events wait
        as the service keeps: the others still get their messages (the dead letter, replayed
        once the unknown are registered, reaches them; the others' deliveries are not repeated)."""
        if gave_up.error_class in (RecipientsNotYetKnown.__name__, TooManyWaiting.__name__):
            log.warning("planned without the alumni never registered here", extra={"event_id": ctx.envelope.id, "event_type": ctx.envelope.type})
            await plan(event, ctx, waited=True)

    routed_here = (t.model for t in registry if t.type in active and t.model not in OWN | PROJECTED)
    events.on(*routed_here, on_give_up=without_the_unknown)(first(plan))
    events.skip(*(t.model for t in registry if t.type in routed - active and t.model not in PROJECTED))

    return events


async def _candidates(
    route: Route, payload: Mapping[str, Any], reachable: ReachableAlumni, known: Mapping[str, ReachableAlumnus], *, waited: bool = False
) -> list[ReachableAlumnus | None]:
    """What the projection says of the alumni the route's audience names. An alumnus it has not
    seen registered (no record, or only a consent or profile change read before the
    registration) makes the event wait for them (parked, checked again), unless it `waited`."""
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
        candidates = [known.get(i) or found.get(i) for i in ids]
    else:
        candidates = [known[i] if i in known else await reachable.get(i) for i in ids]
    if waited:
        return candidates
    if unknown := [i for i, a in zip(ids, candidates) if a is None or not a.registered]:
        raise RecipientsNotYetKnown(f"{len(unknown)} of the {len(ids)} alumni named not yet registered here, {unknown[0]} first", unknown)
    return candidates
