"""The events a service handles, declared on an `EventRouter` by its `handlers.py`:

    def event_handlers(deps: Dependencies) -> EventRouter:
        events = EventRouter(permanent=(CaseClosed,))

        @events.on(EmployeeDeparted)
        async def departed(event: EmployeeDeparted, ctx: EventContext) -> None:
            ...                       # domain logic, through deps' repositories
            ctx.publish(OffboardingCompleted(...))

        return events

`permanent`: the service's domain errors that mean an event breaks a rule (retrying cannot help):
such an event is dead-lettered at once. `waiting`: the domain errors that mean what the event
depends on is not there yet (it travels on another topic): such an event is parked, its
partition moves on, and it is handled when a later check finds what it waits for, or
dead-lettered after PARKED_EVENT_MAX_WAIT_SECONDS (shared/messaging/recheck.py). Any other
error is retried with backoff.

Every handled record is a transaction by default. Two options spare the database that cost where
it is not needed: `transaction=False` for a handler whose one effect is a write of one document,
atomic and conditional by itself (a projection applied in version order); `relevant=` for an
event that mostly concerns nothing here (a departure, for the referrals of the few hires among
those leaving), read once outside any transaction and let pass when it does not.
"""

from collections.abc import Awaitable, Callable
from typing import Any

from shared.events import Event, EventType
from shared.messaging.failures import GaveUp
from shared.messaging.uow import EventContext

Handler = Callable[[Any, EventContext], Awaitable[None]]
GiveUp = Callable[[Any, EventContext, GaveUp], Awaitable[None]]
Relevance = Callable[[Any, EventContext], Awaitable[bool]]


class EventRouter:
    """The events a service handles, by CloudEvents type."""

    def __init__(self, *, permanent: tuple[type[Exception], ...] = (), waiting: tuple[type[Exception], ...] = ()) -> None:
        self.handlers: dict[str, tuple[EventType, Handler]] = {}
        self.give_ups: dict[str, GiveUp] = {}
        self.concurrency: dict[str, int] = {}  # topic -> consumers, where it is not the default
        self.skipped: set[str] = set()
        self.idempotent: set[str] = set()
        self.untransacted: set[str] = set()
        self.relevance: dict[str, Relevance] = {}
        self.permanent = permanent
        self.waiting = waiting
        self.consumed: frozenset[str] | None = None  # None: every topic with a handler

    def on(
        self, *models: type[Event], on_give_up: GiveUp | None = None, concurrency: int | None = None, idempotent: bool = False,
        transaction: bool = True, relevant: Relevance | None = None,
    ) -> Callable[[Handler], Handler]:
        """`on_give_up(event, ctx, gave_up)` runs, in a transaction of its own, when the event is
        dead-lettered after the handler failed (a permanent error, or retries exhausted).
        `concurrency`: consumers for these events' topics (each handles its partitions in
        order), where it should differ from CONSUMER_WORKERS.
        `idempotent`: the handler recognises a repeat from its own state, in its transaction,
        and then changes nothing; the platform writes no processed-event marker for it.
        `transaction=False`: the handler's one effect is a single write of one document, atomic
        and conditional by itself (applied only if newer, or only if the document is as it was
        read, else `Superseded`): it runs outside any transaction (its context has no session),
        without a marker, and publishes nothing. A repeat finds its write applied already.
        `relevant(event, ctx)`: reads, outside any transaction (no session), whether the event
        concerns this service's state at all; when it does not, the record is let pass as a
        skipped one (no transaction, no marker)."""

        if not transaction and self.waiting:
            # A parked event is handled again in a transaction with its removal (`settle`).
            raise ValueError("a handler without a transaction cannot be on a router whose events wait")

        def register(handler: Handler) -> Handler:
            for model in models:
                if model.event_type.type in self.handlers:
                    raise ValueError(f"{model.event_type.type} has two handlers")
                self.handlers[model.event_type.type] = (model.event_type, handler)
                if on_give_up is not None:
                    self.give_ups[model.event_type.type] = on_give_up
                if concurrency is not None:
                    self.concurrency[model.event_type.topic] = concurrency
                if idempotent:
                    self.idempotent.add(model.event_type.type)
                if not transaction:
                    self.untransacted.add(model.event_type.type)
                if relevant is not None:
                    self.relevance[model.event_type.type] = relevant
            return handler

        return register

    def skip(self, *models: type[Event]) -> None:
        """Read these events and let them pass: no transaction, no marker, the offset committed.
        For a type the service reads only in some configurations: its consumer group keeps up
        with the topic, so that turning the feature on does not replay the topic's history."""

        async def nothing(event: Event, ctx: EventContext) -> None:
            raise AssertionError("a skipped event reached a handler")

        self.on(*models)(nothing)
        self.skipped.update(model.event_type.type for model in models)

    def consume_only(self, topics: set[str]) -> None:
        """Subscribe to these of the handled topics only: the others are left to another
        deployment of the same service (its consumer groups are per topic)."""
        if unknown := topics - self.handled_topics():
            raise ValueError(f"no handler reads {sorted(unknown)}")
        self.consumed = frozenset(topics)

    def handled_topics(self) -> set[str]:
        return {event_type.topic for event_type, _ in self.handlers.values()}

    def topics(self) -> list[str]:
        """The topics this process subscribes to."""
        handled = self.handled_topics()
        return sorted(handled if self.consumed is None else handled & self.consumed)

    def is_permanent(self, exc: BaseException) -> bool:
        return isinstance(exc, self.permanent)

    def is_waiting(self, exc: BaseException) -> bool:
        return isinstance(exc, self.waiting)
