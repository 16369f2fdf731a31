"""Wiring of the identity service."""

from fastapi import FastAPI

from services import DEFAULT_HTTP_PORTS
from services.identity import repository
from services.identity.api import router
from services.identity.handlers import events
from shared.service import ServiceRuntime, create_service
from shared.settings import ServiceSettings

NAME = "identity"


class Settings(ServiceSettings):
    http_port: int = DEFAULT_HTTP_PORTS[NAME]


async def prepare(runtime: ServiceRuntime) -> None:
    await repository.ensure_indexes(runtime.db)


def build(settings: Settings | None = None) -> FastAPI:
    return create_service(NAME, settings or Settings(), events=events, http_routers=[router], on_start=[prepare])
