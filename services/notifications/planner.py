"""From events to deliveries: keep the projections of reachable alumni and RSVPs, then turn each
event into delivery requests through the routing table (one per recipient and channel), each
recorded as a planned delivery and published on its channel's topic, in one transaction.

Transactional email, consent-gated email and chat have topics of their own, read by consumers
of their own: an invitation to tens of thousands of alumni never delays a welcome email, and a
slow chat webhook never holds back email.
"""

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from services.notifications.channels import ChatChannel
from services.notifications.repository import Deliveries, ReachableAlumni
from services.notifications.routing import Route, RoutingTable
from shared.messaging.router import EventRouter
from shared.messaging.uow import EventContext
from shared.events import registry
from shared.events.alumni import AlumnusErased, AlumnusRegistered, AlumnusUpdated, ConsentChanged
from shared.events.base import Event
from shared.events.engagement import RsvpRecorded
from shared.events.notifications import (
    BulkEmailRequested,
    ChatPostRequested,
    DeliveryRequest,
    EmailRequested,
    UnsubscribeRequested,
)

log = logging.getLogger(__name__)

# The service's own events: handled by the senders, or by identity.
OWN = {EmailRequested, BulkEmailRequested, ChatPostRequested, UnsubscribeRequested}


@dataclass(frozen=True)
class Recipient:
    kind: str
    id: str
    address: str
    locale: str
    first_name: str = ""
    last_name: str = ""
    channel: str = "email"  # for a chat channel, its webhook's format


def delivery_id(source: str, event_id: str, recipient: Recipient, channel: str) -> str:
    return hashlib.sha256(f"{source}|{event_id}|{recipient.kind}:{recipient.id}|{channel}".encode()).hexdigest()[:32]


def _contact(profile: Any) -> dict[str, Any]:
    return {
        "email": str(profile.personal_email) if profile.personal_email else None,
        "first_name": profile.first_name,
        "last_name": profile.last_name,
        "locale": profile.locale.value,
        "country": profile.country,
    }


async def update_projections(event: Event, ctx: EventContext, reachable: ReachableAlumni) -> None:
    if isinstance(event, AlumnusRegistered):
        await reachable.register(event.alumnus_id, event.version, _contact(event.profile), {p.value: g for p, g in event.consents.items()})
    elif isinstance(event, AlumnusUpdated):
        await reachable.update_contact(event.alumnus_id, event.version, _contact(event.profile))
    elif isinstance(event, ConsentChanged):
        await reachable.set_consent(event.alumnus_id, event.purpose, event.granted, event.version)
    elif isinstance(event, AlumnusErased):
        await reachable.erase(event.alumnus_id, event.erased_at)
        await Deliveries(ctx).forget_recipient(event.alumnus_id)
    elif isinstance(event, RsvpRecorded):
        await reachable.record_rsvp(event.event_id, event.alumnus_id, event.response)


class Planner:
    def __init__(self, table: RoutingTable, channels: dict[str, ChatChannel]) -> None:
        self.table = table
        self.channels = channels
        # A route to a chat channel that is not configured sends nothing: left out, said once.
        self.routes = tuple(r for r in table.routes if r.team is None or r.team in channels)
        for route in table.routes:
            if route not in self.routes:
                log.warning("no chat channel configured for a route: it sends nothing",
                            extra={"team": route.team, "template": route.template, "event_type": route.event})

    def routes_for(self, ce_type: str) -> list[Route]:
        return [r for r in self.routes if r.event == ce_type]

    async def recipients(self, route: Route, payload: dict[str, Any], reachable: ReachableAlumni) -> list[Recipient]:
        if route.team is not None:
            channel = self.channels[route.team]
            return [Recipient(channel.recipient_kind, route.team, route.team, channel.locale, channel=channel.format)]
        if route.audience == "leaver":
            return [Recipient("leaver", payload["employee_id"], payload["email"], payload["locale"], payload["first_name"])]
        if route.audience == "alumnus":
            ids = [payload["alumnus_id"]]
        elif route.audience == "attendees":
            ids = await reachable.attendees(payload["event_id"])
        else:  # invitees
            assert route.purpose is not None
            found = await reachable.consenting(route.purpose, payload.get("countries") or [])
            return [Recipient("alumnus", r.alumnus_id, r.email, r.locale, r.first_name, r.last_name) for r in found if r.email]
        people = []
        for alumnus_id in ids:
            r = await reachable.get(alumnus_id)
            if r is None or not r.email or (route.purpose is not None and not r.consents_to(route.purpose)):
                continue  # erased, unknown, no address, or no consent
            people.append(Recipient("alumnus", r.alumnus_id, r.email, r.locale, r.first_name, r.last_name))
        return people

    async def plan(self, event: Event, ctx: EventContext) -> None:
        reachable = ReachableAlumni(ctx)
        await update_projections(event, ctx, reachable)
        envelope = ctx.envelope
        payload = event.model_dump(mode="json")
        documents = []
        for route in self.routes_for(envelope.type):
            if not route.applies_to(payload):
                continue
            for recipient in await self.recipients(route, payload, reachable):
                request_type = ChatPostRequested if route.channel == "chat" else (BulkEmailRequested if route.purpose else EmailRequested)
                request = request_type(
                    delivery_id=delivery_id(envelope.source, envelope.id, recipient, route.channel),
                    source_event_id=envelope.id,
                    source_event_type=envelope.type,
                    recipient_kind=recipient.kind,
                    recipient_id=recipient.id,
                    channel=recipient.channel,
                    address=recipient.address,
                    template=route.template,
                    locale=recipient.locale,
                    purpose=route.purpose,
                    context={"event": payload, "recipient": {"first_name": recipient.first_name, "last_name": recipient.last_name, "locale": recipient.locale}},
                )
                ctx.publish(request, subject=recipient.id)
                documents.append(_planned(request, route, ctx))
        await Deliveries(ctx).plan(documents)
        if documents:
            log.info("deliveries planned", extra={"event_id": envelope.id, "event_type": envelope.type, "deliveries": len(documents)})


def _planned(request: DeliveryRequest, route: Route, ctx: EventContext) -> dict[str, Any]:
    return {"_id": request.delivery_id} | request.facts() | {
        "purpose": request.purpose.value if request.purpose else None,
        "status": "planned",
        "attempts": 0,
        "created_at": ctx.now(),
    }


PROJECTED = {AlumnusRegistered, AlumnusUpdated, ConsentChanged, AlumnusErased, RsvpRecorded}


def planner_handlers(events: EventRouter, planner: Planner) -> None:
    """The planner reads the events that have a route, or that feed its projections; the silent
    ones it leaves unread (each read costs a transaction). Those whose routes all go to chat
    channels that are not configured it reads and skips."""
    active = {route.event for route in planner.routes}
    routed = {route.event for route in planner.table.routes}
    models = [t.model for t in registry if t.model not in OWN and (t.type in active or t.model in PROJECTED)]
    events.on(*models)(planner.plan)
    events.skip(*(t.model for t in registry if t.type in routed - active and t.model not in PROJECTED))
