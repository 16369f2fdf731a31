"""The offboarding service's composition root: the only place that builds and wires its parts."""

from datetime import timedelta

import httpx
from fastapi import FastAPI
from pydantic import Field, model_validator

from services import DEFAULT_HTTP_PORTS
from services.offboarding import repository
from services.offboarding.api import http_router, personal_data
from services.offboarding.dependencies import Dependencies
from services.offboarding.domain import EligibilityPolicy, ExitFormLinks
from services.offboarding.handlers import event_handlers
from services.offboarding.imports import repository as imports
from services.offboarding.intake.sources import HrisSource
from services.offboarding.pages import ExitFormPages
from services.offboarding.scheduler import scheduled_round
from shared.events.types import DepartureReason
from shared.service import Periodic, ServiceRuntime, create_service
from shared.links import EXIT_FORM_LINKS, DerivedLinks
from shared.messaging.parking import MongoWaitingEvents
from shared.web.personal_data import personal_data_router
from shared.erasure import ErasureKeys
from shared.settings import DEVELOPMENT_ERASURE_HASH_KEY, DEVELOPMENT_EXIT_FORM_LINK_SECRET, ServiceSettings

NAME = "offboarding"


class Settings(ServiceSettings):
    http_port: int = DEFAULT_HTTP_PORTS[NAME]
    # Eligibility: departures for these reasons, and (when set) pending litigation, are excluded.
    excluded_departure_reasons: list[DepartureReason] = [DepartureReason.TERMINATION_FOR_CAUSE]
    exclude_litigation: bool = True
    # Links to the exit form: where the form is served, and how long after the departure date a link stays valid.
    exit_form_base_url: str = f"http://127.0.0.1:{DEFAULT_HTTP_PORTS[NAME]}"
    exit_form_valid_days: int = Field(default=30, ge=1)
    # Derives the links' tokens; notifications holds it too, to write the link in the email.
    # Rotate by moving it to the previous ones (JSON list) once notifications has both.
    exit_form_link_secret: str = DEVELOPMENT_EXIT_FORM_LINK_SECRET
    exit_form_link_previous_secrets: list[str] = []
    # Keys the hashes by which erased employees are remembered (the same in identity).
    erasure_hash_key: str = DEVELOPMENT_ERASURE_HASH_KEY
    # How often future-dated cases are checked for their departure date.
    due_cases_interval_seconds: float = Field(default=60.0, gt=0)
    # Closed cases (completed, excluded, cancelled) are forgotten this long after they closed;
    # at least as long as a link stays valid, so that a completed case outlives its exit form.
    exit_case_retention_days: int = Field(default=90, ge=1)
    # HRIS webhooks: the sources (JSON, see services/offboarding/intake/sources.py) and how far
    # a request's signing time may be from now.
    hris_sources: dict[str, HrisSource] = {}
    webhook_tolerance_seconds: int = Field(default=300, ge=1)
    vendor_api_timeout_seconds: float = 10.0
    # Imports of historic leavers: the bound on one batch's body (up to 1,000 rows), and how
    # long the record of a batch done is kept (a re-run of the file within it skips the batch).
    import_max_batch_bytes: int = Field(default=1_048_576, ge=65_536, le=8_388_608)
    import_batch_retention_days: int = Field(default=30, ge=1)

    @model_validator(mode="after")
    def _retention_outlives_the_links(self) -> "Settings":
        if self.exit_case_retention_days < self.exit_form_valid_days:
            raise ValueError("EXIT_CASE_RETENTION_DAYS must be at least EXIT_FORM_VALID_DAYS: a case must outlive its link")
        return self

    def secrets(self) -> dict[str, str]:
        """Each HRIS source's webhook secret (the vendor API keys are the vendors' to judge)."""
        sources = {f"HRIS_SOURCES.{name}.secret": s.secret.get_secret_value() for name, s in self.hris_sources.items()}
        return super().secrets() | sources | {"EXIT_FORM_LINK_SECRET": self.exit_form_link_secret, "ERASURE_HASH_KEY": self.erasure_hash_key}


def build(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    vendor_api = httpx.AsyncClient(timeout=settings.vendor_api_timeout_seconds)
    deps = Dependencies(
        cases=repository.MongoExitCases,
        invitations=repository.MongoInvitations,
        webhook_requests=repository.MongoWebhookRequests,
        erased=repository.mongo_erased_people,
        erasure_keys=ErasureKeys(settings.erasure_hash_key),
        waiting=MongoWaitingEvents,
        import_batches=imports.MongoImportBatches,
        policy=EligibilityPolicy(frozenset(settings.excluded_departure_reasons), settings.exclude_litigation),
        exit_form=ExitFormLinks(
            settings.exit_form_base_url, timedelta(days=settings.exit_form_valid_days),
            DerivedLinks(EXIT_FORM_LINKS, settings.exit_form_link_secret, settings.exit_form_link_previous_secrets),
        ),
        pages=ExitFormPages(),
        vendor_api=vendor_api,
        hris_sources=settings.hris_sources,
        webhook_tolerance_seconds=settings.webhook_tolerance_seconds,
        case_retention=timedelta(days=settings.exit_case_retention_days),
    )
    scheduler = Periodic("due-exit-cases", lambda runtime: scheduled_round(runtime, deps), settings.due_cases_interval_seconds)

    async def prepare(runtime: ServiceRuntime) -> None:
        await repository.ensure_indexes(runtime.db, webhook_tolerance_seconds=settings.webhook_tolerance_seconds)
        await imports.ensure_indexes(runtime.db, retention_days=settings.import_batch_retention_days)

    async def close_vendor_api(runtime: ServiceRuntime) -> None:
        await vendor_api.aclose()

    return create_service(
        NAME,
        settings,
        events=event_handlers(deps),
        http_routers=[http_router(deps), personal_data_router(NAME, personal_data(deps))],
        on_start=[prepare, scheduler.start],
        on_stop=[close_vendor_api, scheduler.stop],
        secret_paths=("/exit-form/",),
        body_limits={"/imports/": settings.import_max_batch_bytes},
    )
