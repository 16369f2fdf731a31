"""The identity service's composition root: the only place that builds and wires its parts."""

from fastapi import FastAPI

from services import DEFAULT_HTTP_PORTS
from services.identity import repository
from services.identity.api import http_router
from services.identity.dependencies import Dependencies
from services.identity.handlers import event_handlers
from shared.service import ServiceRuntime, create_service
from shared.settings import ServiceSettings

NAME = "identity"


class Settings(ServiceSettings):
    http_port: int = DEFAULT_HTTP_PORTS[NAME]


def build(settings: Settings | None = None) -> FastAPI:
    deps = Dependencies(alumni=repository.MongoAlumni)

    async def prepare(runtime: ServiceRuntime) -> None:
        await repository.ensure_indexes(runtime.db)

    return create_service(
        NAME, settings or Settings(), events=event_handlers(deps), http_routers=[http_router(deps)], on_start=[prepare]
    )
