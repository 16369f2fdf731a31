"""The referrals service's composition root: the only place that builds and wires its parts."""

from datetime import timedelta

import httpx
from fastapi import FastAPI
from pydantic import Field

from services import DEFAULT_HTTP_PORTS
from services.referrals import bonus_repository, repository
from services.referrals.api import http_router, personal_data
from services.referrals.ats import repository as ats_repository
from services.referrals.ats.sources import AtsSource
from services.referrals.bonuses import load_rules
from services.referrals.dependencies import Dependencies
from services.referrals.handlers import event_handlers
from services.referrals.referrers import MongoReferrers
from services.referrals.scheduler import scheduled_round
from shared.service import Periodic, ServiceRuntime, create_service
from shared.settings import ServiceSettings
from shared.web.personal_data import personal_data_router

NAME = "referrals"


class Settings(ServiceSettings):
    http_port: int = DEFAULT_HTTP_PORTS[NAME]
    # First referrer wins for this long after a referral's last movement; an idle referral
    # expires after it. Candidate data is deleted this long after a final status, unless hired.
    referral_validity_days: int = Field(default=180, ge=1, le=3650)
    candidate_retention_days: int = Field(default=180, ge=1, le=3650)
    # An ATS application that matched no referral is forgotten this long after it was last seen.
    unmatched_application_retention_days: int = Field(default=180, ge=1, le=3650)
    # How often due milestones, idle referrals and retention are looked at.
    referrals_scheduler_interval_seconds: float = Field(default=60.0, gt=0)
    # ATS webhooks: the sources (JSON, see services/referrals/ats/sources.py) and how far a
    # request's signing time may be from now.
    ats_sources: dict[str, AtsSource] = {}
    webhook_tolerance_seconds: int = Field(default=300, ge=1)
    ats_api_timeout_seconds: float = Field(default=10.0, gt=0)

    def secrets(self) -> dict[str, str]:
        sources = {f"ATS_SOURCES.{name}.secret": s.secret.get_secret_value() for name, s in self.ats_sources.items()}
        return super().secrets() | sources


def build(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    ats_api = httpx.AsyncClient(timeout=settings.ats_api_timeout_seconds)
    deps = Dependencies(
        referrals=repository.MongoReferrals,
        referrers=MongoReferrers,
        bonuses=bonus_repository.MongoBonuses,
        unmatched=ats_repository.MongoUnmatched,
        webhook_requests=ats_repository.MongoWebhookRequests,
        rules=load_rules(),
        validity=timedelta(days=settings.referral_validity_days),
        retention=timedelta(days=settings.candidate_retention_days),
        ats_sources=settings.ats_sources,
        webhook_tolerance_seconds=settings.webhook_tolerance_seconds,
        ats_api=ats_api,
    )
    scheduler = Periodic("referrals-scheduler", lambda runtime: scheduled_round(runtime, deps), settings.referrals_scheduler_interval_seconds)

    async def prepare(runtime: ServiceRuntime) -> None:
        await repository.ensure_indexes(
            runtime.db, webhook_tolerance_seconds=settings.webhook_tolerance_seconds,
            unmatched_retention_days=settings.unmatched_application_retention_days,
        )

    async def close(runtime: ServiceRuntime) -> None:
        await ats_api.aclose()

    return create_service(
        NAME, settings, events=event_handlers(deps), http_routers=[http_router(deps), personal_data_router(NAME, personal_data(deps))],
        on_start=[prepare, scheduler.start], on_stop=[close, scheduler.stop],
        # DELETE /candidates?email=...: the candidate's address stays out of the traced URL.
        secret_paths=("/candidates",),
    )
