"""Liveness and readiness over HTTP: ready means Kafka and MongoDB both answer."""

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from opentelemetry import metrics

Check = Callable[[], Awaitable[bool]]
CHECK_TIMEOUT_SECONDS = 2.0


async def _run(check: Check) -> str:
    try:
        ok = await asyncio.wait_for(check(), CHECK_TIMEOUT_SECONDS)
    except Exception as exc:  # a readiness probe reports failures, it does not raise them
        return f"error: {type(exc).__name__}"
    return "ok" if ok else "unreachable"


def health_router(checks: dict[str, Check]) -> APIRouter:
    router = APIRouter(prefix="/health", tags=["health"])
    # Each readiness probe's answer, per dependency, for dashboards and the "not ready" alert.
    dependency_up = metrics.get_meter("alumni.health").create_gauge(
        "alumni.dependency.up", description="1 when the dependency answered the last readiness check, else 0"
    )

    @router.get("/live")
    async def live() -> dict[str, str]:
        return {"status": "alive"}

    @router.get("/ready")
    async def ready() -> JSONResponse:
        names = list(checks)
        results = await asyncio.gather(*(_run(checks[n]) for n in names))
        report = dict(zip(names, results, strict=True))
        for name, result in report.items():
            dependency_up.set(1 if result == "ok" else 0, {"dependency": name})
        is_ready = all(r == "ok" for r in results)
        return JSONResponse(
            {"status": "ready" if is_ready else "not ready", "checks": report},
            status_code=200 if is_ready else 503,
        )

    return router
