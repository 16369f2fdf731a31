"""Notifications and identity as real processes, sending to a real SMTP server and a real chat
webhook receiver on loopback, exporting their spans to a real OTLP receiver."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.message import Message

import httpx
import pytest
from pymongo import AsyncMongoClient

from devstack.stack import LocalStack
from shared.web.auth import TokenVerifier
from shared.events.alumni import AlumnusProfile, AlumnusRegistered, Stint
from tests.integration.chat_receiver import ChatReceiver
from tests.integration.kafka_io import Record, publish_event, wait_for
from tests.integration.mailbox import Mailbox
from tests.integration.otlp_receiver import OtlpReceiver

SECRET = "notifications-test-jwt-secret-32-bytes!"
HR, RECRUITING, COMMUNITY = "/hooks/slack/hr", "/hooks/teams/recruiting", "/hooks/discord/community"


@dataclass
class Messaging:
    stack: LocalStack
    mailbox: Mailbox
    chat: ChatReceiver
    tokens: TokenVerifier
    traces: OtlpReceiver

    @property
    def bootstrap(self) -> str:
        return self.stack.cfg.bootstrap_servers

    @property
    def notifications(self) -> str:
        return self.stack.services["notifications"].url

    @property
    def identity(self) -> str:
        return self.stack.services["identity"].url

    def auth(self, *scopes: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens.issue('test', list(scopes))}"}

    async def publish(self, event, **kwargs) -> str:
        return await publish_event(self.bootstrap, event, **kwargs)

    async def register(
        self, *, locale: str = "en", consents: dict | None = None, email: str | None = None, alumnus_id: str | None = None, **profile
    ) -> tuple[str, str]:
        """Publish a registration as identity would; returns (alumnus id, address)."""
        alumnus_id = alumnus_id or new_alumnus_id()
        address = email or f"{alumnus_id}@home.example"
        event = AlumnusRegistered(
            alumnus_id=alumnus_id, version=1, boomerang=False,
            stint=Stint(employee_id=f"E-{alumnus_id[-6:]}", hire_date=date(2020, 1, 6), departure_date=date(2026, 11, 20)),
            profile=AlumnusProfile(first_name=profile.pop("first_name", "Jules"), last_name="Lefèvre", personal_email=address, locale=locale, **profile),
            consents=consents or {},
        )
        await self.publish(event)
        return alumnus_id, address

    async def mail_to(self, address: str, *, count: int = 1, timeout: float = 30, settle: float = 1.0) -> list[Message]:
        loop = asyncio.get_running_loop()
        deadline, enough_at = loop.time() + timeout, None
        while loop.time() < deadline:
            found = self.mailbox.to(address)
            if len(found) >= count:
                enough_at = enough_at or loop.time()
                if loop.time() - enough_at >= settle:
                    return found
            await asyncio.sleep(0.1)
        return self.mailbox.to(address)

    async def posts(self, path: str, needle: str, *, count: int = 1, timeout: float = 30) -> list[dict]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline and len(self.chat.received(path, needle)) < count:
            await asyncio.sleep(0.1)
        return self.chat.received(path, needle)

    async def records(self, topic: str, match, **kwargs) -> list[Record]:
        return await wait_for(self.bootstrap, topic, match, **kwargs)

    async def rsvp_projected(self, hosted_event_id: str, alumnus_id: str, timeout: float = 30) -> None:
        """Waits until the service's own record of RSVPs holds this answer."""
        client = AsyncMongoClient(self.stack.cfg.mongodb_uri)
        try:
            deadline = asyncio.get_running_loop().time() + timeout
            while not await client["alumni_notifications"]["rsvps"].find_one({"_id": f"{hosted_event_id}|{alumnus_id}"}):
                assert asyncio.get_running_loop().time() < deadline, "the RSVP was never projected"
                await asyncio.sleep(0.1)
        finally:
            await client.close()

    async def parked(self, aggregate: str) -> list[dict]:
        """The events the service keeps waiting for this aggregate (a record key)."""
        client = AsyncMongoClient(self.stack.cfg.mongodb_uri)
        try:
            return await client["alumni_notifications"]["parked_events"].find({"aggregate": aggregate}).to_list()
        finally:
            await client.close()

    async def deliveries(self, **query: str) -> list[dict]:
        async with httpx.AsyncClient() as http:
            response = await http.get(f"{self.notifications}/deliveries", params=query, headers=self.auth("alumni:read"))
        assert response.status_code == 200, response.text
        return response.json()["items"]


@pytest.fixture(scope="package")
async def messaging(stack: LocalStack) -> AsyncIterator[Messaging]:
    mailbox = Mailbox().start()
    chat = ChatReceiver().start()
    traces = OtlpReceiver().start()
    channels = {
        "hr": {"format": "slack", "url": chat.url(HR), "per_second": 20},
        "recruiting": {"format": "teams", "url": chat.url(RECRUITING), "recipient_kind": "recruiter", "per_second": 20},
        "community": {"format": "discord", "url": chat.url(COMMUNITY), "recipient_kind": "community_channel", "locale": "fr", "per_second": 20},
    }
    env = {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(mailbox.port),
        "CHAT_CHANNELS": json.dumps(channels),
        "AUTH_JWT_SECRET": SECRET,
        "RETRY_BASE_DELAY_SECONDS": "0.3",
        "RETRY_ATTEMPTS": "8",
        "SMTP_TIMEOUT_SECONDS": "3",
        "OTEL_EXPORTER_OTLP_ENDPOINT": traces.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "200",
        "OTEL_METRICS_EXPORTER": "none",
        "PARKED_EVENT_RECHECK_SECONDS": "0.5",
        "PARKED_EVENT_RECHECK_MAX_SECONDS": "2",
    }
    services = LocalStack(stack.cfg, service_env=env)
    await services.up_services(["identity", "notifications"], log=lambda line: None)
    yield Messaging(services, mailbox, chat, TokenVerifier(SECRET), traces)
    for name in ("identity", "notifications"):
        services.services[name].stop()
    mailbox.stop()
    chat.stop()
    traces.stop()


def new_alumnus_id() -> str:
    return f"alm_{uuid.uuid4().hex[:12]}"


def now() -> datetime:
    return datetime.now(UTC)
