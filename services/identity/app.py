"""The identity service's composition root: the only place that builds and wires its parts."""

from datetime import timedelta

import httpx
from fastapi import FastAPI
from pydantic import Field
from pymongo.errors import DuplicateKeyError

from services import DEFAULT_HTTP_PORTS
from services.identity import directory_build, repository
from services.identity.bulk_repository import MongoAlumniInBulk
from services.identity.api import http_router, personal_data
from services.identity.dependencies import Dependencies
from services.identity.handlers import event_handlers
from services.identity.pages import ConfirmationPages
from services.identity.verification import ConfirmationLinks
from shared.service import ServiceRuntime, create_service
from shared.erasure import ErasureKeys
from shared.links import EMAIL_CONFIRMATION_LINKS, DerivedLinks
from shared.messaging.parking import MongoWaitingEvents
from shared.web.personal_data import Peers, personal_data_router
from shared.settings import DEVELOPMENT_EMAIL_CONFIRMATION_LINK_SECRET, DEVELOPMENT_ERASURE_HASH_KEY, ServiceSettings

NAME = "identity"


class Settings(ServiceSettings):
    http_port: int = DEFAULT_HTTP_PORTS[NAME]
    # Keys the hashes by which erased alumni's stints are remembered (the same in offboarding).
    erasure_hash_key: str = DEVELOPMENT_ERASURE_HASH_KEY
    # The services asked for what they hold about a person when an alumnus's data is exported
    # (JSON: name -> base URL); each serves GET /personal-data (shared/web/personal_data.py).
    personal_data_peers: dict[str, str] = {
        name: f"http://127.0.0.1:{DEFAULT_HTTP_PORTS[name]}" for name in ("offboarding", "notifications", "referrals", "engagement")
    }
    personal_data_timeout_seconds: float = Field(default=10.0, gt=0)
    # Derives the tokens of the links confirming a personal email; notifications holds it too,
    # to write the link in the email. Rotate by moving it to the previous ones (JSON list).
    email_confirmation_link_secret: str = DEVELOPMENT_EMAIL_CONFIRMATION_LINK_SECRET
    email_confirmation_link_previous_secrets: list[str] = []
    email_confirmation_valid_days: int = Field(default=7, ge=1, le=90)

    def secrets(self) -> dict[str, str]:
        return super().secrets() | {"ERASURE_HASH_KEY": self.erasure_hash_key, "EMAIL_CONFIRMATION_LINK_SECRET": self.email_confirmation_link_secret}


def build(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    http = httpx.AsyncClient(timeout=settings.personal_data_timeout_seconds)
    deps = Dependencies(
        alumni=repository.MongoAlumni, alumni_in_bulk=MongoAlumniInBulk, erased=repository.mongo_erased_people, erasure_keys=ErasureKeys(settings.erasure_hash_key),
        waiting=MongoWaitingEvents, peers=Peers(http, settings.personal_data_peers),
        confirmations=repository.MongoEmailConfirmations, reviews=repository.MongoMergeReviews,
        confirmation_links=ConfirmationLinks(
            DerivedLinks(EMAIL_CONFIRMATION_LINKS, settings.email_confirmation_link_secret, settings.email_confirmation_link_previous_secrets),
            timedelta(days=settings.email_confirmation_valid_days),
        ),
        pages=ConfirmationPages(),
    )

    async def prepare(runtime: ServiceRuntime) -> None:
        await repository.ensure_indexes(runtime.db)
        try:
            await runtime.transactions.run(lambda uow: directory_build.ensure_built(uow.db, uow.session))
        except DuplicateKeyError:
            pass  # another instance built the directory's counts at the same moment

    async def close(runtime: ServiceRuntime) -> None:
        await http.aclose()

    return create_service(
        NAME, settings, events=event_handlers(deps), http_routers=[http_router(deps), personal_data_router(NAME, personal_data(deps))],
        on_start=[prepare], on_stop=[close], secret_paths=("/email-confirmation/",),
    )
