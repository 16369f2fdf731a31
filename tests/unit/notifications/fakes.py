"""Notifications in memory, for fast tests of its handlers: the projection, RSVPs and deliveries
(`ReachableAlumni`, `Deliveries`), senders standing for SMTP and the chat webhooks, and the
service fed record by record by the platform's consumer over the in-memory unit of work. Used
only under tests/unit: tests/integration/notifications is the proof on the real broker, database,
SMTP server and webhook receiver."""

import asyncio
import copy
import dataclasses
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import ConsumerRecord

from services.notifications.channels import ChatChannel
from services.notifications.dependencies import Dependencies
from services.notifications.domain import ATTENDING, FAILED, PLANNED, SENT, SETTLED, Delivery, Planning, ReachableAlumnus
from services.notifications.handlers import event_handlers
from services.notifications.routing import load_routes
from services.notifications.templating import Email, Templates
from services.notifications.hosted_events import HostedEventMessages
from services.notifications.links import EmailConfirmationLinks, ExitFormLinks
from services.notifications.unsubscribe import UnsubscribeLinks
from shared.events import Envelope, Event
from shared.events.notifications import BulkEmailsRequested, DeliveryRequest
from shared.events.types import Purpose
from shared.links import EMAIL_CONFIRMATION_LINKS, EXIT_FORM_LINKS, DerivedLinks, RsvpLinks
from shared.messaging.consumer import EventConsumer
from shared.messaging.failures import RetryPolicy
from shared.messaging.recheck import ParkedEvents
from shared.testing.fakes import FakeTransactions, envelope_for
from shared.testing.parked import InMemoryParkedStore, InMemoryParkedView

SECRET = "unit-test-unsubscribe-secret"
OFFBOARDING_URL = "https://alumni.example/offboarding"
EXIT_FORM_TOKENS = DerivedLinks(EXIT_FORM_LINKS, "unit-test-exit-form-link-secret-32-chars")
IDENTITY_URL = "https://alumni.example/identity"
CONFIRMATION_TOKENS = DerivedLinks(EMAIL_CONFIRMATION_LINKS, "unit-test-email-confirmation-secret-32c")
BASE_URL = "https://alumni.example/notifications"
ENGAGEMENT_URL = "https://alumni.example/engagement"
RSVP_LINKS = RsvpLinks("unit-test-rsvp-link-secret-of-32-chars")
CHANNELS = {
    "hr": ChatChannel(format="slack", url="http://127.0.0.1:9/hr"),
    "recruiting": ChatChannel(format="teams", url="http://127.0.0.1:9/recruiting", recipient_kind="recruiter"),
    "community": ChatChannel(format="discord", url="http://127.0.0.1:9/community", recipient_kind="community_channel", locale="fr"),
}


class DuplicateDelivery(Exception):
    """A delivery planned twice: what the deliveries' unique `_id` refuses in MongoDB."""


class Store:
    """All the service's data, so that `FakeTransactions(state=store)` rolls it back as one."""

    def __init__(self) -> None:
        self.alumni: dict[str, ReachableAlumnus] = {}
        self.rsvps: dict[tuple[str, str], str] = {}  # (hosted event, alumnus) -> response
        self.deliveries: dict[str, dict[str, Any]] = {}


class InMemoryReachableAlumni:
    """Hands out copies, as a database does: a change is kept only once saved."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.reads = 0
        self.writes = 0

    def __call__(self, uow: object) -> "InMemoryReachableAlumni":
        return self

    async def get(self, alumnus_id: str) -> ReachableAlumnus | None:
        self.reads += 1
        return copy.deepcopy(self.store.alumni.get(alumnus_id))

    async def many(self, alumnus_ids: list[str]) -> dict[str, ReachableAlumnus]:
        self.reads += 1
        return {i: copy.deepcopy(self.store.alumni[i]) for i in alumnus_ids if i in self.store.alumni}

    async def save(self, alumnus: ReachableAlumnus) -> None:
        self.writes += 1
        self.store.alumni[alumnus.alumnus_id] = copy.deepcopy(alumnus)

    async def save_many(self, alumni: list[ReachableAlumnus], *, new: bool) -> None:
        if alumni:
            self.writes += 1
        for alumnus in alumni:
            assert not new or alumnus.alumnus_id not in self.store.alumni, "a duplicate key"
            self.store.alumni[alumnus.alumnus_id] = copy.deepcopy(alumnus)

    async def erase(self, alumnus_id: str, at: datetime) -> None:
        self.store.alumni[alumnus_id] = ReachableAlumnus.tombstone(alumnus_id, at)
        self.store.rsvps = {k: v for k, v in self.store.rsvps.items() if k[1] != alumnus_id}

    async def consenting(self, purpose: Purpose, countries: list[str]) -> list[ReachableAlumnus]:
        return [
            copy.deepcopy(a) for a in self.store.alumni.values()
            if a.consents_to(purpose) and a.email and (not countries or a.contact.country in countries)
        ]

    async def record_rsvp(self, hosted_event_id: str, alumnus_id: str, response: str) -> None:
        self.store.rsvps[(hosted_event_id, alumnus_id)] = response

    async def attendees(self, hosted_event_id: str) -> list[str]:
        return [a for (e, a), response in self.store.rsvps.items() if e == hosted_event_id and response in ATTENDING]

    async def held(self, alumnus_id: str) -> dict[str, Any]:
        projected = self.store.alumni.get(alumnus_id)
        rsvps = [{"event_id": e, "alumnus_id": a, "response": r} for (e, a), r in self.store.rsvps.items() if a == alumnus_id]
        return {"reachable_alumnus": dataclasses.asdict(projected) if projected else None, "rsvps": rsvps}


class InMemoryDeliveries:
    def __init__(self, store: Store) -> None:
        self.store = store

    def __call__(self, uow: object) -> "InMemoryDeliveries":
        return self

    async def plan(self, requests: list[DeliveryRequest], at: datetime, *, sent: Collection[str] = ()) -> None:
        for request in requests:
            if request.delivery_id in self.store.deliveries:
                raise DuplicateDelivery(request.delivery_id)
            self.store.deliveries[request.delivery_id] = request.facts() | {"status": PLANNED, "attempts": 0, "created_at": at}
            if request.delivery_id in sent:
                self.store.deliveries[request.delivery_id] |= {"status": SENT, "settled_at": at}

    async def claim(self, delivery_id: str, status: str, at: datetime, reason: str | None = None) -> bool:
        delivery = self.store.deliveries.get(delivery_id)
        if delivery is None or delivery["status"] in SETTLED:
            return False
        delivery.update({"status": status, "settled_at": at} | ({"reason": reason} if reason else {}))
        return True

    async def statuses(self, delivery_ids: list[str]) -> dict[str, str]:
        return {i: self.store.deliveries[i]["status"] for i in delivery_ids if i in self.store.deliveries}

    async def claim_many(self, delivery_ids: list[str], status: str, at: datetime, reason: str | None = None) -> None:
        for delivery_id in delivery_ids:
            await self.claim(delivery_id, status, at, reason)

    async def restore(self, statuses: dict[str, str]) -> None:
        for delivery_id, status in statuses.items():
            self.store.deliveries[delivery_id]["status"] = status
            self.store.deliveries[delivery_id].pop("settled_at", None)

    async def record_failure(self, delivery_id: str, at: datetime, *, reason: str, attempts: int, permanent: bool) -> None:
        if delivery := self.store.deliveries.get(delivery_id):
            delivery.update(status=FAILED, settled_at=at, reason=reason, attempts=attempts, permanent=permanent)

    async def to_recipient(self, recipient_id: str, limit: int) -> list[Delivery]:
        return self._find("recipient_id", recipient_id, limit)

    async def of_event(self, source_event_id: str, limit: int) -> list[Delivery]:
        return self._find("source_event_id", source_event_id, limit)

    def _find(self, name: str, value: str, limit: int) -> list[Delivery]:
        found = sorted((d for d in self.store.deliveries.values() if d[name] == value), key=lambda d: d["created_at"])
        fields = set(Delivery.__dataclass_fields__)
        return [Delivery(**{k: v for k, v in d.items() if k in fields}) for d in found[:limit]]

    async def forget_recipient(self, alumnus_id: str) -> None:
        for delivery in self.store.deliveries.values():
            if delivery["recipient_id"] == alumnus_id:
                delivery.pop("address", None)

    async def held(self, recipient_ids: list[str]) -> list[dict[str, Any]]:
        return sorted((dict(d) for d in self.store.deliveries.values() if d["recipient_id"] in recipient_ids), key=lambda d: d["created_at"])


@dataclass(frozen=True)
class SentEmail:
    delivery_id: str
    to: str
    email: Email
    unsubscribe_url: str | None


class InMemoryMailer:
    """Stands for the SMTP server: `failures` are raised, one per attempt, before it accepts."""

    def __init__(self) -> None:
        self.sent: list[SentEmail] = []
        self.failures: list[Exception] = []
        self.attempts = 0

    async def send(self, delivery_id: str, to: str, email: Email, unsubscribe_url: str | None, *, bulk: bool = False) -> None:
        self.attempts += 1
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(SentEmail(delivery_id, to, email, unsubscribe_url))


class InMemoryChat:
    """Stands for the chat webhooks."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, str, str]] = []  # (channel name, format, text)

    async def post(self, name: str, channel: ChatChannel, text: str) -> None:
        self.posts.append((name, channel.format, text))


class DeadLetters:
    def __init__(self) -> None:
        self.letters: list[tuple[str, str, int]] = []  # (error class, message, attempts)

    async def send(self, record: ConsumerRecord, error_class: str, message: str, attempts: int) -> None:
        self.letters.append((error_class, message, attempts))


class InMemoryNotifications:
    """The service's handlers over in-memory repositories and senders, fed by the platform's
    consumer (its decisions: repeats, retries, dead letters, give-up) record by record."""

    def __init__(self, channels: dict[str, ChatChannel] | None = None, *, attempts: int = 3) -> None:
        self.store = Store()
        self.reachable = InMemoryReachableAlumni(self.store)
        self.deliveries = InMemoryDeliveries(self.store)
        self.mailer = InMemoryMailer()
        self.chat = InMemoryChat()
        self.deps = Dependencies(
            reachable=self.reachable, deliveries=self.deliveries,
            planning=Planning(load_routes(), CHANNELS if channels is None else channels), templates=Templates(),
            mailer=self.mailer, chat=self.chat, unsubscribe=UnsubscribeLinks(SECRET, BASE_URL), portal_url="https://alumni.example",
            exit_form=ExitFormLinks(OFFBOARDING_URL, EXIT_FORM_TOKENS),
            email_confirmation=EmailConfirmationLinks(IDENTITY_URL, CONFIRMATION_TOKENS),
            hosted_events=HostedEventMessages(ENGAGEMENT_URL, RSVP_LINKS, "alumni.example"),
            waiting=InMemoryParkedView(parked := InMemoryParkedStore()),
        )
        self.events = event_handlers(self.deps)
        self.transactions = FakeTransactions(state=self.store)
        self.dead_letters = DeadLetters()
        self.consumer = EventConsumer(
            "notifications", self.events, self.transactions, self.dead_letters,  # type: ignore[arg-type]
            policy=RetryPolicy(attempts, base_delay=0.001, max_delay=0.002), handler_timeout=5.0, stopping=asyncio.Event(),
        )
        self.now = datetime(2026, 12, 1, 9, tzinfo=UTC)  # the parked events' wall clock
        self.parked = self.consumer.parking = ParkedEvents(
            parked, self.consumer, max_wait=3600, first_delay=5, max_delay=60, clock=lambda: self.now
        )
        self._offset = 0
        self._fed: set[str] = set()

    def configure(self, **changes: Any) -> None:
        """Other dependencies (a batch size, a send budget): the handlers are made again over them."""
        self.deps = dataclasses.replace(self.deps, **changes)
        self.events = self.consumer.router = event_handlers(self.deps)

    async def receive(self, event: Event, envelope: Envelope | None = None) -> str:
        """The consumer's outcome: handled, repeat, skipped, parked or dead_letter."""
        envelope = envelope or envelope_for(event)
        value = event.model_dump_json().encode()
        headers = [(k, v.encode()) for k, v in envelope.headers().items()]
        self._offset += 1
        record = ConsumerRecord(event.event_type.topic, 0, self._offset, 0, 0, event.key.encode(), value, None, 0, len(value), headers)
        outcome, _ = await self.consumer.process(record)
        return outcome

    async def recheck(self, after: float) -> dict[str, int]:
        """`after` seconds later, one round of the parked events' checks: what became of them."""
        self.now += timedelta(seconds=after)
        return await self.parked.check_due()

    def published(self, model: type[Event] = Event) -> list[Any]:
        return [e for e in self.transactions.events if isinstance(e, model)]

    @property
    def requests(self) -> list[DeliveryRequest]:
        """Every delivery request published, those in batches too (the first time each)."""
        found = {}
        for event in self.published():
            for request in event.requests if isinstance(event, BulkEmailsRequested) else [event]:
                if isinstance(request, DeliveryRequest):
                    found.setdefault(request.delivery_id, request)
        return list(found.values())

    async def deliver(self) -> list[str]:
        """Feed the delivery requests (and batches) published so far, each once, as the delivery
        topics would."""
        outcomes = []
        for request, envelope in list(self.transactions.committed):
            if isinstance(request, DeliveryRequest | BulkEmailsRequested) and envelope.id not in self._fed:
                self._fed.add(envelope.id)
                outcomes.append(await self.receive(request, envelope))
        return outcomes

    def status(self, request: DeliveryRequest) -> dict[str, Any]:
        return self.store.deliveries[request.delivery_id]
