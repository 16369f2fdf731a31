"""The referrals HTTP API: no endpoint yet beyond health and metrics (the service is being built)."""

from fastapi import APIRouter

from services.referrals.dependencies import Dependencies


def http_router(deps: Dependencies) -> APIRouter:
    return APIRouter(tags=["referrals"])
