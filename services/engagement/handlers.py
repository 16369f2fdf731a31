"""Events in: none handled yet (the service is being built)."""

from services.engagement.dependencies import Dependencies
from shared.messaging.router import EventRouter


def event_handlers(deps: Dependencies) -> EventRouter:
    return EventRouter()
