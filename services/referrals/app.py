"""The referrals service's composition root: the only place that builds and wires its parts."""

from fastapi import FastAPI

from services import DEFAULT_HTTP_PORTS
from services.referrals.api import http_router
from services.referrals.dependencies import Dependencies
from services.referrals.handlers import event_handlers
from shared.service import create_service
from shared.settings import ServiceSettings

NAME = "referrals"


class Settings(ServiceSettings):
    http_port: int = DEFAULT_HTTP_PORTS[NAME]


def build(settings: Settings | None = None) -> FastAPI:
    deps = Dependencies()
    return create_service(NAME, settings or Settings(), events=event_handlers(deps), http_routers=[http_router(deps)])
