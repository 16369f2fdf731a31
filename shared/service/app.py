"""One factory builds every service the same way, so that whoever knows one knows them all.
A service's `app.py` (its composition root) builds its dependencies, then:

    create_service(NAME, settings, events=event_handlers(deps), http_routers=[http_router(deps)])

gives a FastAPI app whose lifespan connects MongoDB and Kafka (waiting for them at start-up),
consumes the router's events idempotently, relays the outbox, serves `/health/live`,
`/health/ready` and `/metrics`, traces everything, and on SIGTERM stops consuming, lets
in-flight handlers finish, publishes what the outbox still holds and closes its clients.
"""

import gc
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager

import uvicorn
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from shared.clock import Clock
from shared.messaging import aiokafka_fix, long_poll
from shared.messaging.kafka import KafkaBus
from shared.messaging.kafka_security import KafkaSecurity, KafkaSecurityError
from shared.messaging.outbox import EventTooLarge
from shared.messaging.router import EventRouter
from shared.observability.logs import configure_logging
from shared.observability.telemetry import configure_telemetry
from shared.service.runtime import Hook, ServiceRuntime
from shared.settings import InsecureConfiguration, ServiceSettings
from shared.testing import failpoints
from shared.testing.clock import clock_for
from shared.web.auth import TokenVerifier
from shared.web.health import health_router
from shared.web.jwks import JwksKeys
from shared.web.limits import BodySizeLimit
from shared.web.redaction import redact_paths

log = logging.getLogger(__name__)


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
    body_limits: Mapping[str, int] | None = None,
) -> FastAPI:
    """`secret_paths`: path prefixes followed by a secret (a one-time token), which spans must
    not record. `body_limits`: path prefixes whose request bodies may be larger (or must be
    smaller) than HTTP_MAX_BODY_BYTES, with their bound."""
    configure_logging(name, settings.log_level)
    try:
        settings.refuse_weak_secrets()
    except InsecureConfiguration as refusal:
        log.critical(str(refusal.code))
        raise
    telemetry = configure_telemetry(name)
    aiokafka_fix.apply()
    long_poll.apply(settings.kafka_fetch_idle_max_wait_ms)
    failpoints.arm(settings.alumni_failpoints)
    try:
        kafka_security = KafkaSecurity.from_settings(settings)
    except KafkaSecurityError as refusal:
        log.critical(f"refusing to start: {refusal}")
        raise InsecureConfiguration(f"refusing to start: {refusal}") from None
    kafka = KafkaBus(
        settings.kafka_bootstrap_servers,
        security=kafka_security,
        client_id=name,
        shutdown_timeout=settings.shutdown_timeout_seconds,
        tracer_provider=telemetry.tracer_provider,
        registry=REGISTRY,
    )
    runtime = ServiceRuntime(name, settings, kafka, telemetry, clock or clock_for(settings.clock_file))
    if events is not None:
        runtime.subscribe(events)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start(events)
        if keys is not None:
            await keys.refresh()  # a failure is logged; readiness reports it until keys are held
        for hook in on_start:
            await hook(runtime)
        if weak := settings.weak_secrets():
            log.warning("development mode: development secrets accepted", extra={"secrets": weak})
        # What start-up built (modules, models, clients) lives as long as the process: out of the
        # collector's sight, a full collection takes milliseconds instead of a hundred or more.
        gc.collect()
        gc.freeze()
        log.info("service started", extra={"port": settings.http_port})
        try:
            yield
        finally:
            await runtime.stop(on_stop)
            log.info("service stopped")
            telemetry.shutdown()

    app = FastAPI(title=title or f"alumni {name}", lifespan=lifespan)
    app.state.runtime = runtime
    app.add_middleware(BodySizeLimit, max_bytes=settings.http_max_body_bytes, by_path=body_limits)

    @app.exception_handler(EventTooLarge)
    async def event_too_large(request: Request, exc: EventTooLarge) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    keys = jwks_keys(settings)
    app.state.token_verifier = TokenVerifier(
        settings.auth_jwt_secret, issuer=settings.auth_jwt_issuer, audience=settings.auth_jwt_audience,
        max_lifetime_seconds=settings.auth_token_max_lifetime_seconds, algorithms=settings.jwt_algorithms(), keys=keys,
    )
    checks = {"kafka": runtime.kafka_reachable, "mongodb": runtime.mongodb_reachable}
    if keys is not None:
        checks["jwks"] = keys.ready
    app.include_router(health_router(checks))

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


def jwks_keys(settings: ServiceSettings) -> JwksKeys | None:
    if not settings.auth_jwks_url:
        return None
    return JwksKeys(
        settings.auth_jwks_url, timeout_seconds=settings.auth_jwks_timeout_seconds, max_bytes=settings.auth_jwks_max_bytes,
        min_refresh_interval_seconds=settings.auth_jwks_refresh_min_interval_seconds, max_age_seconds=settings.auth_jwks_max_age_seconds,
    )


def serve(app: FastAPI) -> None:
    """Run a service's app under uvicorn, honouring SIGTERM with a bounded graceful shutdown."""
    settings: ServiceSettings = app.state.runtime.settings
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,  # keep the JSON logging configured by create_service
        access_log=False,
        loop="uvloop",  # a pinned dependency: the loop in C costs each record less than asyncio's own
        timeout_graceful_shutdown=int(settings.shutdown_timeout_seconds),
    )
