"""One factory builds every service the same way, so that whoever knows one knows them all:

    app = create_service("offboarding", settings, events=handlers.events, http_routers=[api.router])

gives a FastAPI app whose lifespan connects MongoDB and Kafka (waiting for them at start-up),
consumes the router's events idempotently, relays the outbox, serves `/health/live`,
`/health/ready` and `/metrics`, traces everything, and on SIGTERM stops consuming, lets
in-flight handlers finish, publishes what the outbox still holds and closes its clients.
"""

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta

import uvicorn
from fastapi import APIRouter, FastAPI, Response
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from shared import mongo
from shared.auth import TokenVerifier
from shared.clock import Clock, clock_for
from shared.consumer import EventConsumer, EventRouter, tolerant_parser, whole_message
from shared.deadletters import DeadLetters
from shared.failures import RetryPolicy
from shared.health import health_router
from shared.kafka import build_broker, consumer_group
from shared.logs import configure_logging
from shared.outbox import Outbox, OutboxRelay
from shared.settings import DEVELOPMENT_JWT_SECRET, ServiceSettings
from shared.telemetry import MongoCommandSpans, Telemetry, configure_telemetry
from shared.uow import Transactions, supports_bulk_write

log = logging.getLogger(__name__)

Hook = Callable[["ServiceRuntime"], Awaitable[None]]


@dataclass
class ServiceRuntime:
    """What a running service holds. HTTP handlers reach it as `request.app.state.runtime`."""

    name: str
    settings: ServiceSettings
    broker: KafkaBroker
    telemetry: Telemetry
    clock: Clock
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    mongo: AsyncMongoClient = field(init=False)
    outbox: Outbox = field(init=False)
    relay: OutboxRelay = field(init=False)
    transactions: Transactions = field(init=False)
    consumer: EventConsumer | None = field(init=False, default=None)

    @property
    def db(self) -> AsyncDatabase:
        return self.mongo[self.settings.database_name(self.name)]

    async def kafka_reachable(self) -> bool:
        return await self.broker.ping(timeout=1.5)

    async def mongodb_reachable(self) -> bool:
        reply = await self.mongo.admin.command("ping")
        return reply.get("ok") == 1


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


def _subscribe(runtime: ServiceRuntime, events: EventRouter) -> None:
    async def handle(message: KafkaMessage) -> None:
        assert runtime.consumer is not None
        await runtime.consumer.handle(message)

    for topic in events.topics():
        runtime.broker.subscriber(
            topic,
            group_id=consumer_group(runtime.name, topic),
            ack_policy=AckPolicy.MANUAL,  # the consumer commits offsets once the effects are durable
            auto_offset_reset="earliest",
            max_workers=events.concurrency.get(topic, runtime.settings.consumer_workers),
            parser=tolerant_parser,
            decoder=whole_message,
            title=f"{runtime.name}:{topic}",
            fetch_max_wait_ms=runtime.settings.kafka_fetch_max_wait_ms,
        )(handle)


async def _start(runtime: ServiceRuntime, events: EventRouter | None) -> None:
    settings = runtime.settings
    deadline = asyncio.get_running_loop().time() + settings.startup_timeout_seconds
    runtime.mongo = mongo.connect(settings.mongodb_uri, app_name=runtime.name, listeners=[MongoCommandSpans()])
    await _retry_until(deadline, "MongoDB", runtime.mongodb_reachable)
    runtime.outbox = Outbox(runtime.db, source=f"/alumni/{runtime.name}")
    runtime.relay = OutboxRelay(
        runtime.outbox,
        runtime.broker,
        sweep_interval=settings.outbox_sweep_interval_seconds,
        lease=timedelta(seconds=settings.outbox_lease_seconds),
    )
    runtime.transactions = Transactions(
        runtime.mongo, runtime.db, runtime.outbox, runtime.relay, runtime.clock, bulk_write=await supports_bulk_write(runtime.mongo)
    )
    await runtime.outbox.ensure_indexes()
    if events is not None:
        runtime.consumer = EventConsumer(
            runtime.name,
            events,
            runtime.transactions,
            DeadLetters(runtime.broker, runtime.name, runtime.stopping),
            policy=RetryPolicy(settings.retry_attempts, settings.retry_base_delay_seconds, settings.retry_max_delay_seconds),
            handler_timeout=settings.handler_timeout_seconds,
            stopping=runtime.stopping,
            commit_interval=settings.consumer_commit_interval_seconds,
        )
        await runtime.consumer.ensure_indexes()
    await _retry_until(deadline, "Kafka", runtime.broker.start)
    runtime.relay.start()


async def _stop(runtime: ServiceRuntime, on_stop: Sequence[Hook]) -> None:
    runtime.stopping.set()
    if runtime.consumer is not None:
        await runtime.consumer.offsets.flush()  # from now on, each handled record commits at once
    # Stop consuming; handlers in flight finish (within the broker's graceful timeout).
    await asyncio.gather(*(subscriber.stop() for subscriber in runtime.broker.subscribers))
    for hook in reversed(on_stop):
        await hook(runtime)
    await runtime.relay.stop()  # publishes what the outbox still holds
    await runtime.broker.stop()
    await runtime.mongo.close()


def create_service(
    name: str,
    settings: ServiceSettings,
    *,
    events: EventRouter | None = None,
    http_routers: Sequence[APIRouter] = (),
    on_start: Sequence[Hook] = (),
    on_stop: Sequence[Hook] = (),
    clock: Clock | None = None,
    title: str | None = None,
    secret_paths: Sequence[str] = (),
) -> FastAPI:
    """`secret_paths`: path prefixes followed by a secret (a one-time token), which spans must
    not record."""
    configure_logging(name, settings.log_level)
    telemetry = configure_telemetry(name)
    broker = build_broker(
        name,
        settings,
        middlewares=[
            KafkaTelemetryMiddleware(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider),
            KafkaPrometheusMiddleware(registry=REGISTRY, app_name=name),
        ],
    )
    runtime = ServiceRuntime(name, settings, broker, telemetry, clock or clock_for(settings.clock_file))
    if events is not None:
        _subscribe(runtime, events)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await _start(runtime, events)
        for hook in on_start:
            await hook(runtime)
        if settings.auth_jwt_secret == DEVELOPMENT_JWT_SECRET:
            log.warning("AUTH_JWT_SECRET is the development default: set it outside a development machine")
        # What start-up built (modules, models, clients) lives as long as the process: out of the
        # collector's sight, a full collection takes milliseconds instead of a hundred or more.
        gc.collect()
        gc.freeze()
        log.info("service started", extra={"port": settings.http_port})
        try:
            yield
        finally:
            await _stop(runtime, on_stop)
            log.info("service stopped")
            telemetry.shutdown()

    app = FastAPI(title=title or f"alumni {name}", lifespan=lifespan)
    app.state.runtime = runtime
    app.state.token_verifier = TokenVerifier(
        settings.auth_jwt_secret, issuer=settings.auth_jwt_issuer, audience=settings.auth_jwt_audience
    )
    app.include_router(health_router({"kafka": runtime.kafka_reachable, "mongodb": runtime.mongodb_reachable}))

    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics() -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    for router in http_routers:
        app.include_router(router)
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=telemetry.tracer_provider,
        meter_provider=telemetry.meter_provider,
        excluded_urls="/health/.*,/metrics",
        server_request_hook=redact_paths(secret_paths) if secret_paths else None,
    )
    return app


URL_ATTRIBUTES = ("http.target", "http.url", "url.path", "url.full")


def redact_paths(prefixes: Sequence[str]) -> Callable[[Any, dict], None]:
    """A span hook that replaces whatever follows a secret path prefix with `{redacted}`."""

    def redact(span: Any, scope: dict) -> None:
        path = scope.get("path", "")
        for prefix in prefixes:
            if path.startswith(prefix) and span.is_recording():
                safe = prefix + "{redacted}"
                for attribute in URL_ATTRIBUTES:
                    span.set_attribute(attribute, safe)

    return redact


def serve(app: FastAPI) -> None:
    """Run a service's app under uvicorn, honouring SIGTERM with a bounded graceful shutdown."""
    settings: ServiceSettings = app.state.runtime.settings
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,  # keep the JSON logging configured by create_service
        access_log=False,
        timeout_graceful_shutdown=int(settings.shutdown_timeout_seconds),
    )
