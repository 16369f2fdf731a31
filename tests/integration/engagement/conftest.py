"""Engagement, identity and notifications as real processes on the test stack, sending to a real
SMTP server, with a clock the tests move (CLOCK_FILE). Alumni are registered the way they are in
production: an eligible completion on Kafka, which identity turns into an alumnus."""

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.message import Message
from pathlib import Path

import httpx
import icalendar
import pytest
from pymongo import AsyncMongoClient

from devstack.stack import LocalStack
from shared.events.offboarding import OffboardingCompleted
from shared.web.auth import TokenVerifier
from shared.events import Envelope
from tests.integration.kafka_io import Record, produce, wait_for
from tests.integration.mailbox import Mailbox

SECRET = "engagement-test-jwt-secret-of-32-chars!"
SERVICES = ["identity", "notifications", "engagement"]


@dataclass
class Alumnus:
    alumnus_id: str
    address: str
    employee_id: str


@dataclass
class Engagement:
    stack: LocalStack
    mailbox: Mailbox
    tokens: TokenVerifier
    clock_file: Path

    @property
    def bootstrap(self) -> str:
        return self.stack.cfg.bootstrap_servers

    def url(self, service: str = "engagement") -> str:
        return self.stack.services[service].url

    def now(self) -> datetime:
        return datetime.fromisoformat(self.clock_file.read_text())

    def set_clock(self, instant: datetime) -> None:
        self.clock_file.write_text(instant.isoformat())

    def auth(self, *scopes: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens.issue('programme-manager', list(scopes))}"}

    def as_alumnus(self, alumnus_id: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens.issue(f'alumnus:{alumnus_id}', ['alumni:self'])}"}

    async def alumnus(self, **fields) -> Alumnus:
        """An eligible completion, as offboarding publishes it, made an alumnus by identity."""
        [alumnus] = await self.many_alumni(1, **fields)
        return alumnus

    async def many_alumni(self, count: int, *, country: str = "FR", department: str = "Finance", left: date = date(2025, 6, 30),
                          skills=("SQL",), events: bool = True, locale: str = "fr") -> list[Alumnus]:
        leavers, records = [], []
        for _ in range(count):
            employee_id = f"E-{uuid.uuid4().hex[:10]}"
            address = f"{employee_id.lower()}@home.example"
            leavers.append((employee_id, address))
            completed = OffboardingCompleted.model_validate({
                "case_id": f"{employee_id}/2019-03-01", "employee_id": employee_id, "hire_date": "2019-03-01",
                "departure_date": left.isoformat(), "departure_reason": "resignation", "outcome": "eligible",
                "leaver": {"first_name": "Élodie", "last_name": "Martin", "work_email": f"{employee_id.lower()}@acme.example",
                           "personal_email": address, "department": department, "country": country, "locale": locale},
                "profile": {"personal_email": address, "skills": list(skills), "consents": {"events": events}},
            })
            envelope = Envelope(type=completed.event_type.type, source="/alumni/offboarding", subject=employee_id)
            records.append((completed.key.encode(), completed.model_dump_json().encode(), [(k, v.encode()) for k, v in envelope.headers().items()]))
        await produce(self.bootstrap, OffboardingCompleted.event_type.topic, records)
        async with httpx.AsyncClient(timeout=30) as http:
            return [Alumnus(await self._alumnus_id(http, employee_id), address, employee_id) for employee_id, address in leavers]

    async def _alumnus_id(self, http: httpx.AsyncClient, employee_id: str, timeout: float = 90) -> str:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = await http.get(f"{self.url('identity')}/alumni", params={"employee_id": employee_id}, headers=self.auth("alumni:read"))
            if found.status_code == 200:
                return found.json()["alumnus_id"]
            assert asyncio.get_running_loop().time() < deadline, f"identity registered no alumnus for {employee_id}"
            await asyncio.sleep(0.2)

    async def known_to_engagement(self, alumni: list[Alumnus], timeout: float = 60) -> None:
        """Waits until engagement's projection holds these alumni (it reads identity's events)."""
        client = AsyncMongoClient(self.stack.cfg.mongodb_uri)
        try:
            ids = [a.alumnus_id for a in alumni]
            deadline = asyncio.get_running_loop().time() + timeout
            while await client["alumni_engagement"]["known_alumni"].count_documents({"_id": {"$in": ids}}) < len(ids):
                assert asyncio.get_running_loop().time() < deadline, "engagement never saw these alumni"
                await asyncio.sleep(0.2)
        finally:
            await client.close()

    async def known_to_notifications(self, alumni: list[Alumnus], timeout: float = 60) -> None:
        """Waits until notifications' projection holds these alumni, consenting to events."""
        client = AsyncMongoClient(self.stack.cfg.mongodb_uri)
        try:
            ids = [a.alumnus_id for a in alumni]
            deadline = asyncio.get_running_loop().time() + timeout
            while await client["alumni_notifications"]["reachable_alumni"].count_documents({"_id": {"$in": ids}, "consents.events": True}) < len(ids):
                assert asyncio.get_running_loop().time() < deadline, "notifications never saw these alumni"
                await asyncio.sleep(0.2)
        finally:
            await client.close()

    async def hosted_event(self, *, starts_in: timedelta = timedelta(days=10), **fields) -> str:
        starts = self.now() + starts_in
        body = {
            "title": "Afterwork des anciens", "kind": "meetup", "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=2)).isoformat(), "timezone": "Europe/Paris", "location": "Lyon", "locale": "fr",
        } | fields
        async with httpx.AsyncClient(timeout=30) as http:
            created = await http.post(f"{self.url()}/events", json=body, headers=self.auth("events:write"))
            assert created.status_code == 201, created.text
            event_id = created.json()["event_id"]
            published = await http.post(f"{self.url()}/events/{event_id}/publish", headers=self.auth("events:write"))
            assert published.status_code == 200, published.text
        return event_id

    async def mail_to(self, address: str, *, subject: str = "", count: int = 1, timeout: float = 60, settle: float = 1.0) -> list[Message]:
        loop = asyncio.get_running_loop()
        deadline, enough_at = loop.time() + timeout, None

        def found() -> list[Message]:
            return [m for m in self.mailbox.to(address) if subject in str(m["Subject"])]

        while loop.time() < deadline:
            if len(found()) >= count:
                enough_at = enough_at or loop.time()
                if loop.time() - enough_at >= settle:
                    break
            await asyncio.sleep(0.2)
        return found()

    async def records(self, topic: str, event_id: str, **kwargs) -> list[Record]:
        return await wait_for(self.bootstrap, topic, lambda r: r.key == event_id.encode(), **kwargs)

    async def attendees(self, event_id: str) -> dict:
        async with httpx.AsyncClient(timeout=30) as http:
            response = await http.get(f"{self.url()}/events/{event_id}/attendees", headers=self.auth("events:read"))
        assert response.status_code == 200, response.text
        return response.json()


def text_of(message: Message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def calendar_of(message: Message) -> icalendar.Event:
    """The calendar file attached to an email, parsed back: its one VEVENT."""
    [part] = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    [entry] = icalendar.Calendar.from_ical(part.get_content()).walk("VEVENT")
    return entry


def rsvp_link(message: Message, answer: str) -> str:
    label = {"yes": "Oui", "maybe": "Peut-être", "no": "Non"}[answer]
    [url] = re.findall(rf"^{label} : (\S+)\s*$", text_of(message), flags=re.M)
    return url


@pytest.fixture(scope="package")
async def engagement(stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Engagement]:
    clock_file = tmp_path_factory.mktemp("clock") / "now"
    clock_file.write_text(datetime.now(UTC).isoformat())
    mailbox = Mailbox().start()
    env = {
        "CLOCK_FILE": str(clock_file),
        "AUTH_JWT_SECRET": SECRET,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(mailbox.port),
        "CHAT_CHANNELS": "{}",
        "EVENT_NOTICE_CHUNK_SIZE": "3",
        "EVENT_SCHEDULER_INTERVAL_SECONDS": "0.3",
        "RETRY_BASE_DELAY_SECONDS": "0.2",
        "RETRY_ATTEMPTS": "6",
    }
    services = LocalStack(stack.cfg, service_env=env)
    await services.up_services(SERVICES, log=lambda line: None)
    yield Engagement(services, mailbox, TokenVerifier(SECRET), clock_file)
    for name in SERVICES:
        services.services[name].stop()
    mailbox.stop()


@pytest.fixture
async def world(engagement: Engagement) -> AsyncIterator[Engagement]:
    """Each test starts at the real time."""
    engagement.set_clock(datetime.now(UTC))
    yield engagement
    engagement.set_clock(datetime.now(UTC))
