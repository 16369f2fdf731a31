"""Wiring of the engagement service."""

from fastapi import FastAPI

from services import DEFAULT_HTTP_PORTS
from shared.service import create_service
from shared.settings import ServiceSettings

NAME = "engagement"


class Settings(ServiceSettings):
    http_port: int = DEFAULT_HTTP_PORTS[NAME]


def build(settings: Settings | None = None) -> FastAPI:
    return create_service(NAME, settings or Settings())
