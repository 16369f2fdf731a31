"""The engagement service's composition root: the only place that builds and wires its parts."""

from fastapi import FastAPI
from pydantic import Field

from services import DEFAULT_HTTP_PORTS
from services.engagement import repository
from services.engagement.api import http_router, personal_data
from services.engagement.dependencies import Dependencies
from services.engagement.handlers import event_handlers
from services.engagement.known_alumni import MongoKnownAlumni
from services.engagement.pages import RsvpPages
from services.engagement.scheduler import scheduled_round
from shared.events.engagement import MAX_RECIPIENTS_PER_EVENT
from shared.links import RsvpLinks
from shared.service import Periodic, ServiceRuntime, create_service
from shared.settings import DEVELOPMENT_RSVP_LINK_SECRET, ServiceSettings
from shared.web.personal_data import personal_data_router

NAME = "engagement"


class Settings(ServiceSettings):
    http_port: int = DEFAULT_HTTP_PORTS[NAME]
    # Signs the one-click answers of invitations; notifications holds it too, to write the links.
    # Rotate by moving it to the previous ones (JSON list) in both services.
    rsvp_link_secret: str = DEVELOPMENT_RSVP_LINK_SECRET
    rsvp_link_previous_secrets: list[str] = []
    # Those going are reminded this long before the start.
    event_reminder_hours: float = Field(default=24.0, gt=0)
    # Alumni named by one invitation, reminder or update event (a larger audience is several).
    # Notifications plans a chunk in one transaction: 500 held every other write back for up to
    # half a second at a time on the local database; 100 a few tens of milliseconds.
    event_notice_chunk_size: int = Field(default=100, ge=1, le=MAX_RECIPIENTS_PER_EVENT)
    # Alumni told per second by one instance's scheduler, all mailings together (0: no limit).
    # A fan-out is planned at about the pace it can be sent, so that the burst of planning it all
    # at once does not hold back everything else the database and notifications do meanwhile.
    event_notices_per_second: float = Field(default=100.0, ge=0)
    # How often the scheduler looks for reminders due and mailings left (publishing wakes it).
    event_scheduler_interval_seconds: float = Field(default=30.0, gt=0)

    def secrets(self) -> dict[str, str]:
        previous = {f"RSVP_LINK_PREVIOUS_SECRETS[{i}]": s for i, s in enumerate(self.rsvp_link_previous_secrets)}
        return super().secrets() | {"RSVP_LINK_SECRET": self.rsvp_link_secret} | previous


def build(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    scheduler: Periodic | None = None

    def wake() -> None:
        if scheduler is not None:
            scheduler.wake()

    deps = Dependencies(
        hosted_events=repository.MongoHostedEvents, answers=repository.MongoAnswers, check_ins=repository.MongoCheckIns,
        alumni=MongoKnownAlumni, mailings=repository.MongoMailings,
        rsvp_links=RsvpLinks(settings.rsvp_link_secret, settings.rsvp_link_previous_secrets), pages=RsvpPages(),
        chunk_size=settings.event_notice_chunk_size, notices_per_second=settings.event_notices_per_second, reminder_hours=settings.event_reminder_hours, wake_scheduler=wake,
    )
    scheduler = Periodic("engagement-mailings", lambda runtime: scheduled_round(runtime, deps), settings.event_scheduler_interval_seconds)

    async def prepare(runtime: ServiceRuntime) -> None:
        await repository.ensure_indexes(runtime.db)

    return create_service(
        NAME, settings, events=event_handlers(deps), http_routers=[http_router(deps), personal_data_router(NAME, personal_data(deps))],
        on_start=[prepare, scheduler.start], on_stop=[scheduler.stop], secret_paths=("/rsvp/",),
    )
