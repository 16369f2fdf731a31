"""One factory builds every service: its Kafka broker, its database, health routes, lifecycle.

A service module supplies its name, settings, Kafka routers and HTTP routers; the factory
wires them the same way everywhere, so whoever knows one service knows them all.
"""

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import uvicorn
from fastapi import APIRouter, FastAPI
from faststream.kafka import KafkaBroker, KafkaRouter
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from shared import mongo
from shared.health import health_router
from shared.kafka import build_broker
from shared.logs import configure_logging
from shared.settings import ServiceSettings

log = logging.getLogger(__name__)

Hook = Callable[["ServiceRuntime"], Awaitable[None]]


@dataclass
class ServiceRuntime:
    """What a running service holds: handlers and repositories get their resources here."""

    name: str
    settings: ServiceSettings
    broker: KafkaBroker
    mongo: AsyncMongoClient = field(init=False)

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


def create_service(
    name: str,
    settings: ServiceSettings,
    *,
    kafka_routers: Sequence[KafkaRouter] = (),
    http_routers: Sequence[APIRouter] = (),
    on_start: Sequence[Hook] = (),
    on_stop: Sequence[Hook] = (),
    title: str | None = None,
) -> FastAPI:
    configure_logging(name, settings.log_level)
    runtime = ServiceRuntime(name, settings, build_broker(name, settings, kafka_routers))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        deadline = asyncio.get_running_loop().time() + settings.startup_timeout_seconds
        runtime.mongo = mongo.connect(settings.mongodb_uri, app_name=name)
        await _retry_until(deadline, "MongoDB", runtime.mongodb_reachable)
        await _retry_until(deadline, "Kafka", runtime.broker.start)
        for hook in on_start:
            await hook(runtime)
        log.info("service started", extra={"port": settings.http_port})
        try:
            yield
        finally:
            # Stop consuming first (in-flight handlers finish within graceful_timeout),
            # then the service's own workers, then the clients.
            for hook in reversed(on_stop):
                await hook(runtime)
            await runtime.broker.stop()
            await runtime.mongo.close()
            log.info("service stopped")

    app = FastAPI(title=title or f"alumni {name}", lifespan=lifespan)
    app.state.runtime = runtime
    app.include_router(
        health_router({"kafka": runtime.kafka_reachable, "mongodb": runtime.mongodb_reachable})
    )
    for router in http_routers:
        app.include_router(router)
    return app


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
