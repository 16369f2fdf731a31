"""The notification rules, without I/O: who can be reached (the projection of identity's alumni,
applied in version order), who receives what when an event arrives (through the routing table,
one delivery per recipient and channel), and whether a planned delivery may still be sent."""

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.notifications.channels import ChatChannel
from services.notifications.routing import Route, RoutingTable
from shared.events.alumni import AlumnusProfile
from shared.events.notifications import MAX_EMAILS_PER_BATCH, BulkEmailRequested, BulkEmailsRequested, ChatPostRequested, DeliveryRequest, EmailRequested
from shared.events.types import Purpose

ATTENDING = ("yes", "maybe")  # the answers of those who attend a hosted event

PLANNED, SENT, SKIPPED, FAILED = "planned", "sent", "skipped", "failed"
SETTLED = (SENT, SKIPPED)  # final: never sent again


class ChannelNotConfigured(Exception):
    """A chat post to a channel that is not configured: it can never be sent."""


class RecipientsNotYetKnown(Exception):
    """An event names alumni not yet registered here (another service was ahead): it waits."""

    def __init__(self, message: str, waiting_for: list[str]) -> None:
        super().__init__(message)
        self.waiting_for = waiting_for  # checked again at once when one of them registers here


@dataclass(frozen=True)
class Contact:
    email: str | None
    first_name: str
    last_name: str
    locale: str
    country: str | None

    @classmethod
    def of(cls, profile: AlumnusProfile) -> "Contact":
        email = str(profile.personal_email) if profile.personal_email else None
        return cls(email, profile.first_name, profile.last_name, profile.locale.value, profile.country)


@dataclass
class ReachableAlumnus:
    """What the service knows to reach an alumnus. Profile changes and consent changes travel on
    different topics and may arrive in any order: the contact details and each consent keep the
    version they were set at, and only a newer change applies. An erased alumnus is a tombstone
    (nothing personal but when), so that a late event never brings them back."""

    alumnus_id: str
    contact: Contact | None = None
    contact_version: int = 0
    consents: dict[Purpose, bool] = field(default_factory=dict)
    consent_versions: dict[Purpose, int] = field(default_factory=dict)
    erased_at: datetime | None = None

    @classmethod
    def tombstone(cls, alumnus_id: str, erased_at: datetime) -> "ReachableAlumnus":
        return cls(alumnus_id, erased_at=erased_at)

    @property
    def erased(self) -> bool:
        return self.erased_at is not None

    @property
    def registered(self) -> bool:  # its contact details or erasure read, not only an early consent change
        return self.erased or self.contact_version > 0

    @property
    def email(self) -> str | None:
        return self.contact.email if self.contact else None

    def consents_to(self, purpose: Purpose) -> bool:
        return self.consents.get(purpose, False)

    def register(self, version: int, contact: Contact, consents: Mapping[Purpose, bool]) -> bool:
        """A registration brings the contact details and every consent at `version`. Whether
        anything changed."""
        changed = self.update_contact(version, contact)
        for purpose, granted in consents.items():
            changed = self.set_consent(purpose, granted, version) or changed
        return changed

    def update_contact(self, version: int, contact: Contact) -> bool:
        if self.erased or version <= self.contact_version:
            return False
        self.contact, self.contact_version = contact, version
        return True

    def set_consent(self, purpose: Purpose, granted: bool, version: int | None = None) -> bool:
        """`version` None: a change made here (an unsubscribe link), honoured at once."""
        if self.erased or (version is not None and version <= self.consent_versions.get(purpose, 0)):
            return False
        self.consents[purpose] = granted
        if version is not None:
            self.consent_versions[purpose] = version
        return True

    def reachable_for(self, purpose: Purpose | None) -> bool:
        """Not erased, with an address, and consenting to `purpose` (None: transactional)."""
        return not self.erased and bool(self.email) and (purpose is None or self.consents_to(purpose))


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
    """The same event (source and id) to the same recipient by the same channel is one delivery."""
    return hashlib.sha256(f"{source}|{event_id}|{recipient.kind}:{recipient.id}|{channel}".encode()).hexdigest()[:32]


class Planning:
    """The routing table over the configured chat channels: a route to a channel that is not
    configured sends nothing (`unconfigured`)."""

    def __init__(self, table: RoutingTable, channels: Mapping[str, ChatChannel]) -> None:
        self.table = table
        self.channels = dict(channels)
        self.routes = tuple(r for r in table.routes if r.team is None or r.team in self.channels)
        self.unconfigured = tuple(r for r in table.routes if r not in self.routes)

    def routes_for(self, ce_type: str) -> list[Route]:
        return [r for r in self.routes if r.event == ce_type]

    def recipients(
        self, route: Route, payload: Mapping[str, Any], candidates: Iterable[ReachableAlumnus | None] = ()
    ) -> list[Recipient]:
        """Who receives the route's message. `candidates`: what the projection says of the alumni
        the audience names (None: unknown, left out)."""
        if route.team is not None:
            channel = self.channels[route.team]
            return [Recipient(channel.recipient_kind, route.team, route.team, channel.locale, channel=channel.format)]
        if route.audience == "leaver":
            return [Recipient("leaver", payload["employee_id"], payload["email"], payload["locale"], payload["first_name"])]
        if route.audience == "address":  # an alumnus's address waiting for its confirmation, not the projection's
            return [Recipient("alumnus_address", payload["alumnus_id"], payload["email"], payload["locale"], payload["first_name"])]
        countries = (payload.get("countries") or []) if route.audience == "invitees" else []
        return [
            Recipient("alumnus", a.alumnus_id, a.contact.email, a.contact.locale, a.contact.first_name, a.contact.last_name)
            for a in candidates
            if a is not None and a.reachable_for(route.purpose) and (not countries or a.contact.country in countries)
        ]

    def requests(
        self, route: Route, source: str, event_id: str, payload: dict[str, Any], candidates: Iterable[ReachableAlumnus | None] = ()
    ) -> list[DeliveryRequest]:
        """One delivery request per recipient of the route, for the event `event_id` of `source`."""
        if not route.applies_to(payload):
            return []
        request_type = ChatPostRequested if route.channel == "chat" else (BulkEmailRequested if route.purpose else EmailRequested)
        # A notice naming its alumni: each message needs the event, not the list of everyone told.
        event = {k: v for k, v in payload.items() if k != "alumnus_ids"} if route.audience == "named" else payload
        return [
            request_type(
                delivery_id=delivery_id(source, event_id, recipient, route.channel),
                source_event_id=event_id,
                source_event_type=route.event,
                recipient_kind=recipient.kind,
                recipient_id=recipient.id,
                channel=recipient.channel,
                address=recipient.address,
                template=route.template,
                locale=recipient.locale,
                purpose=route.purpose,
                context={
                    "event": event,
                    "recipient": {"first_name": recipient.first_name, "last_name": recipient.last_name, "locale": recipient.locale},
                },
            )
            for recipient in self.recipients(route, payload, candidates)
        ]


# A batch's serialised requests stay under this, far below what one event may be (900,000 bytes).
MAX_BATCH_BYTES = 300_000


def batches(requests: Iterable[BulkEmailRequested], size: int) -> list[BulkEmailsRequested]:
    """Consent-gated emails grouped in batches of at most `size` (and MAX_BATCH_BYTES), in order.
    A batch's id derives from its deliveries, so planning the same event again makes the same
    batches."""
    size = max(1, min(size, MAX_EMAILS_PER_BATCH))
    grouped: list[list[BulkEmailRequested]] = []
    weight = 0
    for request in requests:
        cost = len(request.model_dump_json())
        if not grouped or len(grouped[-1]) >= size or weight + cost > MAX_BATCH_BYTES:
            grouped.append([])
            weight = 0
        grouped[-1].append(request)
        weight += cost
    return [BulkEmailsRequested(batch_id=batch_id(g), requests=g) for g in grouped]


def batch_id(requests: Iterable[DeliveryRequest], *, rest_of: str = "") -> str:
    """`rest_of`: the batch this one is what was left of."""
    return hashlib.sha256("|".join([rest_of, *(r.delivery_id for r in requests)]).encode()).hexdigest()[:32]


def alumnus_to_check(request: DeliveryRequest) -> str | None:
    """At send time, the alumnus whose erasure and consent are checked again; None for a leaver or a chat channel."""
    return request.recipient_id if request.recipient_kind == "alumnus" else None


def skip_reason(request: DeliveryRequest, alumnus: ReachableAlumnus | None) -> str | None:
    """Why a planned delivery must not be sent after all: its alumnus was erased, or withdrew the
    consent it needs, since it was planned. None: send it."""
    if alumnus_to_check(request) is None:
        return None
    if alumnus is None or alumnus.erased:
        return "the alumnus was erased"
    if request.purpose is not None and not alumnus.consents_to(request.purpose):
        return f"no consent for {request.purpose.value}"
    return None


def carries_unsubscribe_link(request: DeliveryRequest) -> bool:
    """A consent-gated message to an alumnus; transactional messages have none."""
    return request.purpose is not None and request.recipient_kind == "alumnus"


@dataclass(frozen=True)
class Delivery:
    """One delivery as the audit shows it."""

    delivery_id: str
    source_event_id: str
    source_event_type: str
    recipient_kind: str
    recipient_id: str
    channel: str
    template: str
    status: str
    created_at: datetime
    reason: str | None = None
    settled_at: datetime | None = None
