"""Wiring of the notifications service."""

import httpx
from fastapi import FastAPI
from pydantic import Field

from services import DEFAULT_HTTP_PORTS
from services.notifications import repository
from services.notifications.api import api_router
from services.notifications.channels import ChatChannel
from services.notifications.dispatcher import Dispatcher
from services.notifications.planner import Planner, planner_handlers
from services.notifications.routing import RoutingTable, load_routes
from services.notifications.samples import SAMPLES, sample_context
from services.notifications.senders import SmtpSender, WebhookSender
from services.notifications.templating import LOCALES, Templates, TemplateError
from shared.messaging.router import EventRouter
from shared.service import ServiceRuntime, create_service
from shared.settings import ServiceSettings

NAME = "notifications"


class Settings(ServiceSettings):
    http_port: int = DEFAULT_HTTP_PORTS[NAME]
    smtp_starttls: bool = False
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_timeout_seconds: float = 10.0
    mail_from: str = "Alumni network <alumni@example.com>"
    message_id_domain: str = "alumni.example.com"
    # Chat channels (JSON, see services/notifications/channels.py); a route to an absent one sends nothing.
    chat_channels: dict[str, ChatChannel] = {}
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    # Where this service is reached from an email (unsubscribe links), and the alumni portal.
    public_base_url: str = f"http://127.0.0.1:{DEFAULT_HTTP_PORTS[NAME]}"
    portal_url: str = "http://127.0.0.1:8001/docs"
    unsubscribe_secret: str = "local-development-unsubscribe-secret"


def check_templates(table: RoutingTable, templates: Templates) -> None:
    """Every route renders, in every locale, for its sample event: a missing template or
    variable stops the service at start-up instead of breaking a message."""
    problems = []
    for route in table.routes:
        if route.event not in SAMPLES:
            problems.append(f"{route.event}: no sample event in samples.py")
            continue
        for locale in LOCALES:
            context = sample_context(route.event, locale, consent_gated=route.purpose is not None)
            try:
                templates.chat(route.template, locale, context) if route.channel == "chat" else templates.email(route.template, locale, context)
            except TemplateError as exc:
                problems.append(str(exc))
            if not templates.has(route.template, locale, "chat" if route.channel == "chat" else "txt"):
                problems.append(f"{route.template}: no {locale} version")
    if problems:
        raise TemplateError("templates are broken:\n" + "\n".join(problems))


def build(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    table = load_routes()
    templates = Templates()
    check_templates(table, templates)
    http = httpx.AsyncClient(timeout=settings.webhook_timeout_seconds)
    dispatcher = Dispatcher(
        templates=templates,
        smtp=SmtpSender(
            settings.smtp_host, settings.smtp_port, sender=settings.mail_from, message_id_domain=settings.message_id_domain,
            starttls=settings.smtp_starttls, username=settings.smtp_username, password=settings.smtp_password,
            timeout=settings.smtp_timeout_seconds,
        ),
        webhooks=WebhookSender(http),
        channels=settings.chat_channels,
        public_base_url=settings.public_base_url,
        portal_url=settings.portal_url,
        unsubscribe_secret=settings.unsubscribe_secret,
    )
    events = EventRouter()
    planner_handlers(events, Planner(table, settings.chat_channels))
    dispatcher.register(events)

    async def prepare(runtime: ServiceRuntime) -> None:
        await repository.ensure_indexes(runtime.db)

    async def close(runtime: ServiceRuntime) -> None:
        await http.aclose()

    return create_service(
        NAME, settings, events=events, http_routers=[api_router(table, templates, settings.unsubscribe_secret)],
        on_start=[prepare], on_stop=[close],
    )
