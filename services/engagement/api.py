"""The engagement HTTP API: no endpoint yet beyond health and metrics (the service is being built)."""

from fastapi import APIRouter

from services.engagement.dependencies import Dependencies


def http_router(deps: Dependencies) -> APIRouter:
    return APIRouter(tags=["engagement"])
