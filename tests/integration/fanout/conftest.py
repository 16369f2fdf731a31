"""A hosted event's fan-out on the real stack: identity, engagement and notifications as real
processes, small chunks (EVENT_NOTICE_CHUNK_SIZE) and batches (BULK_EMAIL_BATCH_SIZE), two
reused SMTP connections for bulk mail, a real SMTP server that counts the connections opened to
it. Alumni are registered as in production: eligible completions on Kafka."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.message import Message

import pytest
from pymongo import AsyncMongoClient

from devstack.stack import LocalStack
from shared.web.auth import TokenVerifier
from tests.integration.engagement.conftest import Alumnus, Engagement
from tests.integration.mailbox import Mailbox

SECRET = "fanout-test-jwt-secret-of-32-chars!!"
SERVICES = ["identity", "notifications", "engagement"]
BATCH_SIZE = 10
CONNECTIONS = 2


class FanOut(Engagement):
    async def known_everywhere(self, alumni: list[Alumnus], timeout: float = 90) -> None:
        """Engagement chooses the audience, notifications reaches it: both must know them."""
        await self.known_to_engagement(alumni, timeout)
        client = AsyncMongoClient(self.stack.cfg.mongodb_uri)
        try:
            ids = [a.alumnus_id for a in alumni]
            deadline = asyncio.get_running_loop().time() + timeout
            while await client["alumni_notifications"]["reachable_alumni"].count_documents({"_id": {"$in": ids}}) < len(ids):
                assert asyncio.get_running_loop().time() < deadline, "notifications never saw these alumni"
                await asyncio.sleep(0.2)
        finally:
            await client.close()

    def invitations(self, title: str) -> dict[str, list[Message]]:
        """The invitations to `title` received, by recipient."""
        found: dict[str, list[Message]] = {}
        for message in list(self.mailbox.messages):
            if title in str(message["Subject"]):
                found.setdefault(str(message["To"]), []).append(message)
        return found

    async def until_invited(self, title: str, count: int, timeout: float = 180) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.invitations(title)) < count:
            assert asyncio.get_running_loop().time() < deadline, f"{len(self.invitations(title))} of {count} invited"
            await asyncio.sleep(0.1)


@pytest.fixture(scope="package")
async def fanout(stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FanOut]:
    clock_file = tmp_path_factory.mktemp("clock") / "now"
    clock_file.write_text(datetime.now(UTC).isoformat())
    mailbox = Mailbox().start()
    env = {
        "CLOCK_FILE": str(clock_file),
        "AUTH_JWT_SECRET": SECRET,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(mailbox.port),
        "SMTP_CONNECTIONS": str(CONNECTIONS),
        "BULK_EMAIL_BATCH_SIZE": str(BATCH_SIZE),
        "CHAT_CHANNELS": "{}",
        "EVENT_NOTICE_CHUNK_SIZE": "40",
        "EVENT_SCHEDULER_INTERVAL_SECONDS": "0.3",
        "RETRY_BASE_DELAY_SECONDS": "0.2",
        "RETRY_ATTEMPTS": "6",
    }
    services = LocalStack(stack.cfg, service_env=env)
    await services.up_services(SERVICES, log=lambda line: None)
    yield FanOut(services, mailbox, TokenVerifier(SECRET), clock_file)
    for name in SERVICES:
        services.services[name].stop()
    mailbox.stop()
