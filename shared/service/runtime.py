"""What a running service holds, and how it starts and stops: MongoDB (waited for at start-up),
the outbox and its relay, the units of work, the event consumer, Kafka."""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from shared.clock import Clock
from shared.messaging.consumer import EventConsumer
from shared.messaging.deadletters import DeadLetters
from shared.messaging.failures import RetryPolicy
from shared.messaging.kafka import KafkaBus
from shared.messaging.outbox import Outbox
from shared.messaging.parking import MongoParkedStore
from shared.messaging.recheck import ParkedEvents
from shared.messaging.relay import OutboxRelay
from shared.messaging.router import EventRouter
from shared.messaging.uow import Transactions, supports_bulk_write
from shared.observability.telemetry import MongoCommandSpans, Telemetry
from shared.service import mongo
from shared.settings import ServiceSettings
from shared.topics import consumer_group

log = logging.getLogger(__name__)

Hook = Callable[["ServiceRuntime"], Awaitable[None]]


@dataclass
class ServiceRuntime:
    """What a running service holds. HTTP handlers reach it as `request.app.state.runtime`."""

    name: str
    settings: ServiceSettings
    kafka: KafkaBus
    telemetry: Telemetry
    clock: Clock
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    mongo: AsyncMongoClient = field(init=False)
    outbox: Outbox = field(init=False)
    relay: OutboxRelay = field(init=False)
    transactions: Transactions = field(init=False)
    consumer: EventConsumer | None = field(init=False, default=None)
    # Topic -> consumers of this process: what the deployment manifests scale on.
    subscriptions: dict[str, int] = field(default_factory=dict)
    parked: ParkedEvents | None = field(init=False, default=None)

    @property
    def db(self) -> AsyncDatabase:
        return self.mongo[self.settings.database_name(self.name)]

    async def kafka_reachable(self) -> bool:
        return await self.kafka.ping(timeout=1.5)

    async def mongodb_reachable(self) -> bool:
        reply = await self.mongo.admin.command("ping")
        return reply.get("ok") == 1

    def subscribe(self, events: EventRouter) -> None:
        async def handle(record, consumer) -> None:
            assert self.consumer is not None
            await self.consumer.handle(record, consumer)

        for topic in events.topics():
            self.subscriptions[topic] = events.concurrency.get(topic, self.settings.consumer_workers)
            self.kafka.subscribe(
                topic,
                group=consumer_group(self.name, topic),
                workers=self.subscriptions[topic],
                fetch_max_wait_ms=self.settings.kafka_fetch_max_wait_ms,
                handle=handle,
            )

    async def start(self, events: EventRouter | None) -> None:
        settings = self.settings
        deadline = asyncio.get_running_loop().time() + settings.startup_timeout_seconds
        self.mongo = mongo.connect(
            settings.mongodb_uri, app_name=self.name, listeners=[MongoCommandSpans(self.telemetry.tracer_provider)], username=settings.mongodb_username,
            password=settings.mongodb_password, tls_ca_file=settings.mongodb_tls_ca_file,
        )
        await _retry_until(deadline, "MongoDB", self.mongodb_reachable)
        self.outbox = Outbox(self.db, source=f"/alumni/{self.name}")
        self.relay = OutboxRelay(
            self.outbox,
            self.kafka,
            sweep_interval=settings.outbox_sweep_interval_seconds,
            lease=timedelta(seconds=settings.outbox_lease_seconds),
        )
        self.transactions = Transactions(
            self.mongo, self.db, self.outbox, self.relay, self.clock, bulk_write=await supports_bulk_write(self.mongo)
        )
        await self.outbox.ensure_indexes()
        await self.transactions.ensure_indexes()
        if events is not None:
            self.consumer = EventConsumer(
                self.name,
                events,
                self.transactions,
                DeadLetters(self.kafka, self.name, self.stopping),
                policy=RetryPolicy(settings.retry_attempts, settings.retry_base_delay_seconds, settings.retry_max_delay_seconds),
                handler_timeout=settings.handler_timeout_seconds,
                stopping=self.stopping,
                commit_interval=settings.consumer_commit_interval_seconds,
            )
            if events.waiting:
                store = MongoParkedStore(self.db)
                await store.ensure_indexes()
                self.parked = self.consumer.parking = ParkedEvents(
                    store, self.consumer, max_wait=settings.parked_event_max_wait_seconds,
                    first_delay=settings.parked_event_recheck_seconds, max_delay=settings.parked_event_recheck_max_seconds,
                    lease=max(settings.parked_event_lease_seconds, settings.handler_timeout_seconds),
                    max_parked=settings.parked_events_max, instance=self.outbox.instance,
                )
        await _retry_until(deadline, "Kafka", self.kafka.start)
        self.relay.start()
        if self.parked is not None:
            self.parked.start(self.stopping)

    async def stop(self, on_stop: Sequence[Hook]) -> None:
        self.stopping.set()
        if self.consumer is not None:
            await self.consumer.offsets.flush()  # from now on, each handled record commits at once
        await self.kafka.stop_consuming()
        if self.parked is not None:
            await self.parked.stop()
        for hook in reversed(on_stop):
            await hook(self)
        await self.relay.stop()  # publishes what the outbox still holds
        await self.kafka.stop()
        await self.mongo.close()


async def _retry_until(deadline: float, what: str, attempt: Callable[[], Awaitable[object]]) -> None:
    """Retry a connection at start-up with backoff: dependencies may come up after us."""
    loop = asyncio.get_running_loop()
    delay = 0.5
    while True:
        try:
            await attempt()
            return
        except Exception as exc:
            if loop.time() + delay > deadline:
                raise RuntimeError(f"{what} unreachable at start-up: {exc}") from exc
            log.warning("waiting for %s", what, extra={"error": f"{type(exc).__name__}: {exc}"})
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
