"""The notifications service's composition root: the only place that builds and wires its parts."""

from datetime import timedelta
from typing import Literal

import httpx
from fastapi import FastAPI
from pydantic import Field

from services import DEFAULT_HTTP_PORTS
from services.notifications import repository
from services.notifications.api import http_router, personal_data
from services.notifications.channels import ChatChannel
from services.notifications.dependencies import Dependencies
from services.notifications.hosted_events import HostedEventMessages
from services.notifications.links import EmailConfirmationLinks, ExitFormLinks
from services.notifications.domain import Planning
from services.notifications.handlers import event_handlers
from services.notifications.routing import fan_out_topics, load_routes
from services.notifications.senders import SmtpSender, WebhookSender
from services.notifications.templating import Templates, check_templates
from services.notifications.unsubscribe import UnsubscribeLinks
from shared.events.notifications import MAX_EMAILS_PER_BATCH, BulkEmailsRequested
from shared.web.personal_data import personal_data_router
from shared.messaging.parking import MongoWaitingEvents
from shared.service import ServiceRuntime, create_service
from shared.links import EMAIL_CONFIRMATION_LINKS, EXIT_FORM_LINKS, DerivedLinks, RsvpLinks
from shared.settings import DEVELOPMENT_EMAIL_CONFIRMATION_LINK_SECRET, DEVELOPMENT_EXIT_FORM_LINK_SECRET, DEVELOPMENT_RSVP_LINK_SECRET, ServiceSettings

NAME = "notifications"


class Settings(ServiceSettings):
    http_port: int = DEFAULT_HTTP_PORTS[NAME]
    smtp_starttls: bool = False
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_timeout_seconds: float = 10.0
    # Connections to the mail server kept open and reused (bulk mail uses at most this many at
    # once; transactional mail one more), each replaced after this many messages.
    smtp_connections: int = Field(default=4, ge=1, le=50)
    smtp_messages_per_connection: int = Field(default=100, ge=1, le=10_000)
    # A transactional email is sent in the transaction that plans it (no second hop) while the
    # mail server's sends take at most this long on average; else, and with 0, through its topic.
    smtp_send_at_planning_ms: int = Field(default=100, ge=0, le=2000)
    # Consent-gated emails per record of alumni.notification.email-bulk, sent together.
    bulk_email_batch_size: int = Field(default=50, ge=1, le=MAX_EMAILS_PER_BATCH)
    # At most this many consent-gated emails a second from one process (0: as fast as it can):
    # a mail provider's rate, or room left on the machine for transactional mail.
    bulk_emails_per_second: float = Field(default=0.0, ge=0, le=10_000)
    # Which of the two message streams this deployment handles: `bulk` (fan-outs to many alumni
    # and every consent-gated send), `transactional` (everything else: one person's email, chat,
    # the projections) or both. Run one deployment of each, the bulk one with a lower CPU share,
    # so that a campaign to 50,000 alumni never slows a leaver's welcome email.
    message_stream: Literal["all", "transactional", "bulk"] = "all"
    mail_from: str = "Alumni network <alumni@example.com>"
    message_id_domain: str = "alumni.example.com"
    # Chat channels (JSON, see services/notifications/channels.py); a route to an absent one sends nothing.
    chat_channels: dict[str, ChatChannel] = {}
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    # Where this service is reached from an email (unsubscribe links), and the alumni portal.
    public_base_url: str = f"http://127.0.0.1:{DEFAULT_HTTP_PORTS[NAME]}"
    portal_url: str = "http://127.0.0.1:8001/docs"
    # Signs unsubscribe links; the previous secrets (JSON list) still verify the links they
    # signed, until those expire: rotate by moving the secret there and setting a new one.
    unsubscribe_secret: str = "local-development-unsubscribe-secret"
    unsubscribe_previous_secrets: list[str] = []
    unsubscribe_link_valid_days: int = Field(default=180, ge=1)
    # The exit form's links: where offboarding serves the form, and the secret (and previous
    # ones) it derives their tokens from, the same as offboarding's.
    exit_form_base_url: str = f"http://127.0.0.1:{DEFAULT_HTTP_PORTS['offboarding']}"
    exit_form_link_secret: str = DEVELOPMENT_EXIT_FORM_LINK_SECRET
    exit_form_link_previous_secrets: list[str] = []
    # The delivery audit is kept this long after each delivery was planned. At least 31 days:
    # a delivery must outlive the processed-event markers (30 days), so that a redelivered
    # request still finds it sent and is not sent again.
    delivery_retention_days: int = Field(default=365, ge=31)
    # The links confirming a personal email: where identity serves them, and its secret.
    email_confirmation_base_url: str = f"http://127.0.0.1:{DEFAULT_HTTP_PORTS['identity']}"
    email_confirmation_link_secret: str = DEVELOPMENT_EMAIL_CONFIRMATION_LINK_SECRET
    email_confirmation_link_previous_secrets: list[str] = []

    # The one-click answers of invitations: where engagement serves them, and the secret (and
    # previous ones) they are signed with, the same as engagement's.
    engagement_base_url: str = f"http://127.0.0.1:{DEFAULT_HTTP_PORTS['engagement']}"
    rsvp_link_secret: str = DEVELOPMENT_RSVP_LINK_SECRET
    rsvp_link_previous_secrets: list[str] = []


    def secrets(self) -> dict[str, str]:
        previous = {f"UNSUBSCRIBE_PREVIOUS_SECRETS[{i}]": s for i, s in enumerate(self.unsubscribe_previous_secrets)}
        links = {
            "EXIT_FORM_LINK_SECRET": self.exit_form_link_secret, "EMAIL_CONFIRMATION_LINK_SECRET": self.email_confirmation_link_secret,
            "RSVP_LINK_SECRET": self.rsvp_link_secret,
        }
        return super().secrets() | {"UNSUBSCRIBE_SECRET": self.unsubscribe_secret} | previous | links


def build(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    table = load_routes()
    templates = Templates()
    check_templates(table, templates)
    http = httpx.AsyncClient(timeout=settings.webhook_timeout_seconds)
    mailer = SmtpSender(
        settings.smtp_host, settings.smtp_port, sender=settings.mail_from, message_id_domain=settings.message_id_domain,
        starttls=settings.smtp_starttls, username=settings.smtp_username, password=settings.smtp_password,
        timeout=settings.smtp_timeout_seconds, connections=settings.smtp_connections,
        messages_per_connection=settings.smtp_messages_per_connection,
    )
    deps = Dependencies(
        reachable=repository.MongoReachableAlumni,
        deliveries=repository.MongoDeliveries,
        waiting=MongoWaitingEvents,
        planning=Planning(table, settings.chat_channels),
        templates=templates,
        mailer=mailer,
        chat=WebhookSender(http),
        unsubscribe=UnsubscribeLinks(
            settings.unsubscribe_secret, settings.public_base_url,
            valid_for=timedelta(days=settings.unsubscribe_link_valid_days), previous_secrets=settings.unsubscribe_previous_secrets,
        ),
        exit_form=ExitFormLinks(
            settings.exit_form_base_url,
            DerivedLinks(EXIT_FORM_LINKS, settings.exit_form_link_secret, settings.exit_form_link_previous_secrets),
        ),
        email_confirmation=EmailConfirmationLinks(
            settings.email_confirmation_base_url,
            DerivedLinks(EMAIL_CONFIRMATION_LINKS, settings.email_confirmation_link_secret, settings.email_confirmation_link_previous_secrets),
        ),
        portal_url=settings.portal_url,
        hosted_events=HostedEventMessages(
            settings.engagement_base_url, RsvpLinks(settings.rsvp_link_secret, settings.rsvp_link_previous_secrets),
            settings.message_id_domain,
        ),
        bulk_batch_size=settings.bulk_email_batch_size, bulk_concurrency=settings.smtp_connections,
        bulk_per_second=settings.bulk_emails_per_second,
        # A batch stops sending half-way through the handler's timeout: the rest goes on as a new batch.
        send_budget_seconds=settings.handler_timeout_seconds / 2,
        send_at_planning_seconds=settings.smtp_send_at_planning_ms / 1000,
    )

    async def prepare(runtime: ServiceRuntime) -> None:
        await repository.ensure_indexes(runtime.db, delivery_retention_days=settings.delivery_retention_days)

    async def close(runtime: ServiceRuntime) -> None:
        await http.aclose()
        await mailer.close()

    events = event_handlers(deps)
    if settings.message_stream != "all":
        bulk = fan_out_topics(table) | {BulkEmailsRequested.event_type.topic}
        events.consume_only(bulk if settings.message_stream == "bulk" else events.handled_topics() - bulk)
    return create_service(
        NAME, settings, events=events, http_routers=[http_router(deps), personal_data_router(NAME, personal_data(deps))], on_start=[prepare], on_stop=[close],
        secret_paths=("/unsubscribe/",),
    )
