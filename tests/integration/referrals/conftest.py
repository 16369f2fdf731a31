"""Referrals (two instances, as two replicas: one consumer group, two schedulers), identity and
notifications as real processes on the test stack: alumni come from
identity (a completed offboarding is published as offboarding would), referral emails reach a
real SMTP server, the ATS posts signed webhooks (generic, Greenhouse, Lever), and the clock is a
file the tests move (CLOCK_FILE)."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.message import Message
from pathlib import Path

import httpx
import pytest

from devstack.process import free_port
from devstack.services import ServiceProcess
from devstack.stack import LocalStack
from services.referrals.ats.signatures import sign_generic, sign_greenhouse, sign_lever
from shared.events.offboarding import OffboardingCompleted
from shared.web.auth import TokenVerifier
from tests.integration.kafka_io import Record, publish_event, wait_for
from tests.integration.mailbox import Mailbox
from tests.integration.referrals.lever_api import LEVER_KEY, LeverApi

TODAY = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
SECRET = "referrals-test-jwt-secret-of-32-bytes!"
ATS = {"ats": "generic-ats-secret-of-32-characters", "greenhouse": "greenhouse-secret-key-of-32-chars!",
       "lever": "lever-signature-token-of-32-chars!", "lever-api": "lever-api-signature-token-32-chars"}
LEVER_INTERVIEW_STAGE = "a1b2c3d4-stage-onsite"


@dataclass
class Programme:
    stack: LocalStack
    mailbox: Mailbox
    clock_file: Path
    tokens: TokenVerifier
    lever_api: LeverApi

    @property
    def bootstrap(self) -> str:
        return self.stack.cfg.bootstrap_servers

    @property
    def referrals(self) -> str:
        return self.stack.services["referrals"].url

    @property
    def identity(self) -> str:
        return self.stack.services["identity"].url

    def now(self) -> datetime:
        return datetime.fromisoformat(self.clock_file.read_text())

    def set_clock(self, instant: datetime) -> None:
        self.clock_file.write_text(instant.isoformat())

    def auth(self, *scopes: str, alumnus: str | None = None) -> dict[str, str]:
        subject, scopes = (f"alumnus:{alumnus}", ("alumni:self",)) if alumnus else ("recruiter", scopes)
        return {"Authorization": f"Bearer {self.tokens.issue(subject, list(scopes))}"}

    async def alumnus(self) -> tuple[str, str]:
        """A new alumnus, registered by identity from a completed offboarding and known to
        referrals; returns (alumnus id, their personal address)."""
        employee_id = f"E-{uuid.uuid4().hex[:10]}"
        email = f"{employee_id.lower()}@home.example"
        completed = OffboardingCompleted.model_validate({
            "case_id": f"{employee_id}/2019-03-01", "employee_id": employee_id, "hire_date": "2019-03-01",
            "departure_date": "2026-11-20", "departure_reason": "resignation", "outcome": "eligible",
            "leaver": {"first_name": "Élodie", "last_name": "Martin", "work_email": f"{employee_id}@acme.example",
                       "personal_email": email, "locale": "fr"},
        })
        await publish_event(self.bootstrap, completed, source="/alumni/offboarding")
        async with httpx.AsyncClient() as http:
            alumnus_id = await until(lambda: _alumnus_id(http, self, employee_id))
            # Known to referrals once a referral by them is no longer refused as not an alumnus.
            await until(lambda: _known(http, self, alumnus_id))
        return alumnus_id, email

    async def refer(self, alumnus_id: str, body: dict) -> httpx.Response:
        async with httpx.AsyncClient() as http:
            return await http.post(f"{self.referrals}/referrals", json=body, headers=self.auth(alumnus=alumnus_id))

    async def referral(self, referral_id: str) -> dict:
        async with httpx.AsyncClient() as http:
            response = await http.get(f"{self.referrals}/referrals/{referral_id}", headers=self.auth("referrals:read"))
        assert response.status_code == 200, response.text
        return response.json()

    async def webhook(self, source: str, payload: dict, *, headers: dict | None = None, body: bytes | None = None) -> httpx.Response:
        body = body if body is not None else json.dumps(payload).encode()
        async with httpx.AsyncClient() as http:
            return await http.post(f"{self.referrals}/webhooks/ats/{source}", content=body,
                                   headers={"Content-Type": "application/json"} | (headers if headers is not None else self.signed(source, body)))

    def signed(self, source: str, body: bytes) -> dict[str, str]:
        if source == "greenhouse":
            return {"Signature": sign_greenhouse(ATS[source], body)}
        if source.startswith("lever"):
            return {}  # Lever signs inside the body: see `lever`
        timestamp = str(int(self.now().timestamp()))
        return {"X-Timestamp": timestamp, "X-Signature": sign_generic(ATS[source], timestamp, body)}

    def lever(self, event: str, data: dict, *, token: str | None = None, source: str = "lever") -> dict:
        token = token or uuid.uuid4().hex
        triggered = int(self.now().timestamp() * 1000)
        return {"event": event, "data": data, "token": token, "triggeredAt": triggered,
                "signature": sign_lever(ATS[source], token, triggered)}

    async def records(self, topic: str, match, **kwargs) -> list[Record]:
        return await wait_for(self.bootstrap, topic, match, **kwargs)

    async def mail_to(self, address: str, subject_part: str, *, timeout: float = 30) -> list[Message]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            found = [m for m in self.mailbox.to(address) if subject_part in str(m["Subject"])]
            if found:
                return found
            await asyncio.sleep(0.2)
        return []


async def until(probe, timeout: float = 30):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        if (found := await probe()) is not None:
            return found
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.2)


async def _alumnus_id(http: httpx.AsyncClient, world: Programme, employee_id: str) -> str | None:
    response = await http.get(f"{world.identity}/alumni", params={"employee_id": employee_id}, headers=world.auth("alumni:read"))
    return response.json()["alumnus_id"] if response.status_code == 200 else None


async def _known(http: httpx.AsyncClient, world: Programme, alumnus_id: str) -> bool | None:
    # A body that breaks the contract is refused (422) before anything is written, but only
    # after the referrer is found: 403 until the projection has them.
    probe = {"kind": "candidate", "candidate_name": "Probe", "candidate_email": "probe@example.org", "candidate_consent": False}
    response = await http.post(f"{world.referrals}/referrals", json=probe, headers=world.auth(alumnus=alumnus_id))
    return True if response.status_code == 422 else None


@pytest.fixture(scope="package")
async def programme(stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Programme]:
    clock_file = tmp_path_factory.mktemp("clock") / "now"
    clock_file.write_text(TODAY.isoformat())
    mailbox = Mailbox().start()
    lever_api = LeverApi().start()
    sources = {
        "ats": {"kind": "generic", "secret": ATS["ats"]},
        "greenhouse": {"kind": "greenhouse", "secret": ATS["greenhouse"], "stage_map": {"Phone Screen": "screening"}},
        "lever": {"kind": "lever", "secret": ATS["lever"], "stage_map": {LEVER_INTERVIEW_STAGE: "interviewing"}},
        "lever-api": {"kind": "lever", "secret": ATS["lever-api"], "stage_map": {LEVER_INTERVIEW_STAGE: "interviewing"},
                      "api_base_url": lever_api.url, "api_key": LEVER_KEY},
    }
    env = {
        "CLOCK_FILE": str(clock_file),
        "AUTH_JWT_SECRET": SECRET,
        "ATS_SOURCES": json.dumps(sources),
        "REFERRALS_SCHEDULER_INTERVAL_SECONDS": "0.3",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(mailbox.port),
        "CHAT_CHANNELS": "{}",
        "RETRY_BASE_DELAY_SECONDS": "0.2",
        "RETRY_ATTEMPTS": "4",
    }
    services = LocalStack(stack.cfg, service_env=env)
    await services.up_services(["identity", "referrals", "notifications"], log=lambda line: None)
    replica = ServiceProcess(stack.cfg, "referrals", free_port(), env)
    replica.process = replace(replica.process, name="service-referrals-replica")
    replica.start()
    await replica.wait_ready()
    yield Programme(services, mailbox, clock_file, TokenVerifier(SECRET), lever_api)
    replica.stop()
    for name in ("identity", "referrals", "notifications"):
        services.services[name].stop()
    mailbox.stop()
    lever_api.stop()


@pytest.fixture
async def world(programme: Programme) -> AsyncIterator[Programme]:
    programme.set_clock(TODAY)
    yield programme
    programme.set_clock(TODAY)
