"""The identity service's composition root: the only place that builds and wires its parts."""

from fastapi import FastAPI

from services import DEFAULT_HTTP_PORTS
from services.identity import repository
from services.identity.api import http_router
from services.identity.dependencies import Dependencies
from services.identity.handlers import event_handlers
from shared.service import ServiceRuntime, create_service
from shared.erasure import ErasureKeys
from shared.messaging.parking import MongoWaitingEvents
from shared.settings import DEVELOPMENT_ERASURE_HASH_KEY, ServiceSettings

NAME = "identity"


class Settings(ServiceSettings):
    http_port: int = DEFAULT_HTTP_PORTS[NAME]
    # Keys the hashes by which erased alumni's stints are remembered (the same in offboarding).
    erasure_hash_key: str = DEVELOPMENT_ERASURE_HASH_KEY

    def secrets(self) -> dict[str, str]:
        return super().secrets() | {"ERASURE_HASH_KEY": self.erasure_hash_key}


def build(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    deps = Dependencies(
        alumni=repository.MongoAlumni, erased=repository.mongo_erased_people, erasure_keys=ErasureKeys(settings.erasure_hash_key),
        waiting=MongoWaitingEvents,
    )

    async def prepare(runtime: ServiceRuntime) -> None:
        await repository.ensure_indexes(runtime.db)

    return create_service(
        NAME, settings, events=event_handlers(deps), http_routers=[http_router(deps)], on_start=[prepare]
    )
