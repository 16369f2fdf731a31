"""The offboarding and identity services as real processes on the test stack, with a clock the
tests move (CLOCK_FILE), HRIS webhook sources (generic, BambooHR, HiBob) whose vendor APIs are
a real loopback server, and a token issuer for the APIs."""

import asyncio
import json

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from pymongo import AsyncMongoClient

from devstack.stack import LocalStack
from shared.links import EMAIL_CONFIRMATION_LINKS, EXIT_FORM_LINKS, DerivedLinks
from shared.settings import DEVELOPMENT_EMAIL_CONFIRMATION_LINK_SECRET, DEVELOPMENT_EXIT_FORM_LINK_SECRET
from services.offboarding.intake.signatures import sign_bamboohr, sign_generic, sign_hibob
from shared.web.auth import TokenVerifier
from tests.integration.kafka_io import Record, cloudevent_headers, produce, wait_for
from tests.integration.vendor_apis import BAMBOO_KEY, BOB_TOKEN, BOB_USER, VendorApis

TODAY = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
SECRET = "test-jwt-secret-of-at-least-32-bytes"
SOURCES = {"acme": "acme-webhook-secret", "bamboo": "bamboo-private-key", "bob": "bob-webhook-secret"}
DEPARTED = "com.alumni.employee.departed.v1"
CANCELLED = "com.alumni.employee.departure-cancelled.v1"
PARKED_MAX_WAIT = 12


@dataclass
class Lifecycle:
    stack: LocalStack
    clock_file: Path
    vendors: VendorApis
    tokens: TokenVerifier

    @property
    def bootstrap(self) -> str:
        return self.stack.cfg.bootstrap_servers

    def form_url(self, issued: dict) -> str:
        """The exit-form link an `exit-form-issued` event names, made as notifications makes it:
        the event carries the link's id, never its token."""
        token = DerivedLinks(EXIT_FORM_LINKS, DEVELOPMENT_EXIT_FORM_LINK_SECRET).token(issued["link_id"], issued["link_key_id"])
        return f"{self.offboarding}/exit-form/{token}"

    def confirmation_url(self, requested: dict) -> str:
        """The link an `email-confirmation-requested` event names, made as notifications makes it."""
        tokens = DerivedLinks(EMAIL_CONFIRMATION_LINKS, DEVELOPMENT_EMAIL_CONFIRMATION_LINK_SECRET)
        return f"{self.identity}/email-confirmation/{tokens.token(requested['link_id'], requested['link_key_id'])}"

    @property
    def identity(self) -> str:
        return self.stack.services["identity"].url

    @property
    def offboarding(self) -> str:
        return self.stack.services["offboarding"].url

    def now(self) -> datetime:
        return datetime.fromisoformat(self.clock_file.read_text())

    def set_clock(self, instant: datetime) -> None:
        self.clock_file.write_text(instant.isoformat())

    def departure(self, **fields) -> dict:
        employee_id = fields.pop("employee_id", f"E-{uuid.uuid4().hex[:10]}")
        return {
            "employee_id": employee_id,
            "first_name": "Élodie",
            "last_name": "Martin",
            "work_email": f"{employee_id.lower()}@example.com",
            "hire_date": "2019-03-01",
            "departure_date": "2026-11-20",
            "departure_reason": "resignation",
            "locale": "fr",
        } | fields

    async def publish(self, topic: str, ce_type: str, payload: dict, *, ce_id: str | None = None, raw: bytes | None = None) -> None:
        value = raw if raw is not None else json.dumps(payload).encode()
        await produce(self.bootstrap, topic, [(payload["employee_id"].encode(), value, cloudevent_headers(ce_type, ce_id=ce_id))])

    async def depart(self, payload: dict, **kwargs) -> None:
        await self.publish("hris.employee.departed", DEPARTED, payload, **kwargs)

    async def cancel(self, employee_id: str, reason: str = "resignation rescinded", **stint: str) -> None:
        """`stint`: `hire_date` or `departure_date`, naming the departure cancelled."""
        await self.publish("hris.employee.departure-cancelled", CANCELLED, {"employee_id": employee_id, "reason": reason} | stint)

    def auth(self, *scopes: str, subject: str = "programme-manager") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens.issue(subject, list(scopes))}"}

    async def alumnus_for(self, employee_id: str, *, timeout: float = 30) -> dict:
        deadline = asyncio.get_running_loop().time() + timeout
        async with httpx.AsyncClient() as http:
            while True:
                response = await http.get(f"{self.identity}/alumni", params={"employee_id": employee_id}, headers=self.auth("alumni:read"))
                if response.status_code == 200:
                    return response.json()
                assert response.status_code == 404, response.text
                assert asyncio.get_running_loop().time() < deadline, f"no alumnus for {employee_id}"
                await asyncio.sleep(0.2)

    async def records(self, topic: str, key: str, *, count: int = 1, timeout: float = 30, settle: float = 1.0) -> list[Record]:
        return await wait_for(self.bootstrap, topic, lambda r: r.key == key.encode(), count=count, timeout=timeout, settle=settle)

    async def offboarding_db(self):
        client = AsyncMongoClient(self.stack.cfg.mongodb_uri)
        return client, client["alumni_offboarding"]

    async def parked(self, service: str, employee_id: str) -> list[dict]:
        """The events the service holds parked for this employee (the record's key)."""
        client = AsyncMongoClient(self.stack.cfg.mongodb_uri)
        try:
            return await client[f"alumni_{service}"].parked_events.find({"aggregate": employee_id}).to_list()
        finally:
            await client.close()

    async def wait_parked(self, service: str, employee_id: str, *, timeout: float = 15) -> dict:
        deadline = asyncio.get_running_loop().time() + timeout
        while not (found := await self.parked(service, employee_id)):
            assert asyncio.get_running_loop().time() < deadline, f"nothing parked in {service} for {employee_id}"
            await asyncio.sleep(0.1)
        [parked] = found
        return parked

    def signed(self, source: str, body: bytes, *, at: datetime | None = None) -> dict[str, str]:
        instant = at or self.now()
        secret = SOURCES[source]
        if source == "bamboo":
            timestamp = str(int(instant.timestamp()))
            return {"X-BambooHR-Timestamp": timestamp, "X-BambooHR-Signature": sign_bamboohr(secret, timestamp, body)}
        if source == "bob":
            return {"Bob-Signature": sign_hibob(secret, body)}
        timestamp = str(int(instant.timestamp()))
        return {"X-Timestamp": timestamp, "X-Signature": sign_generic(secret, timestamp, body)}


@pytest.fixture(scope="package")  # stopped before other packages start the same services
async def lifecycle(stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Lifecycle]:
    clock_file = tmp_path_factory.mktemp("clock") / "now"
    clock_file.write_text(TODAY.isoformat())
    vendors = VendorApis().start()
    sources = {
        "acme": {"kind": "generic", "secret": SOURCES["acme"]},
        "bamboo": {"kind": "bamboohr", "secret": SOURCES["bamboo"], "api_base_url": vendors.url, "company_domain": "acme", "api_key": BAMBOO_KEY, "default_locale": "en"},
        "bob": {"kind": "hibob", "secret": SOURCES["bob"], "api_base_url": vendors.url, "service_user_id": BOB_USER, "api_token": BOB_TOKEN, "default_locale": "fr"},
    }
    env = {
        "CLOCK_FILE": str(clock_file),
        "AUTH_JWT_SECRET": SECRET,
        "HRIS_SOURCES": json.dumps(sources),
        "DUE_CASES_INTERVAL_SECONDS": "0.3",
        "RETRY_BASE_DELAY_SECONDS": "0.2",
        "RETRY_ATTEMPTS": "4",
        # Parked events checked every half second or so, given up after PARKED_MAX_WAIT seconds.
        "PARKED_EVENT_RECHECK_SECONDS": "0.5",
        "PARKED_EVENT_RECHECK_MAX_SECONDS": "1",
        "PARKED_EVENT_MAX_WAIT_SECONDS": str(PARKED_MAX_WAIT),
    }
    services = LocalStack(stack.cfg, service_env=env)
    await services.up_services(["offboarding", "identity"], log=lambda line: None)
    yield Lifecycle(services, clock_file, vendors, TokenVerifier(SECRET))
    for name in ("offboarding", "identity"):
        services.services[name].stop()
    vendors.stop()


@pytest.fixture
async def world(lifecycle: Lifecycle) -> AsyncIterator[Lifecycle]:
    """Each test starts on the same day."""
    lifecycle.set_clock(TODAY)
    yield lifecycle
    lifecycle.set_clock(TODAY)


