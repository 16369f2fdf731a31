"""The five services as real processes on the test stack, sending to a real SMTP server, for
imports of historic leavers: the operator's command run as a process (so that it can be killed
mid-way) or in this process, and what became of the leavers read from each service's database."""

import asyncio
import csv
import io
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from devstack.config import ROOT
from devstack.stack import LocalStack
from services.offboarding.imports.client import run_import
from shared.lookups import find_many
from shared.web.auth import TokenVerifier
from tests.integration.kafka_io import cloudevent_headers, produce
from tests.integration.mailbox import Mailbox

SECRET = "imports-test-jwt-secret-of-32-chars!!"
SERVICES = ["offboarding", "identity", "notifications", "referrals", "engagement"]
FIELDS = ["employee_id", "first_name", "last_name", "work_email", "personal_email", "hire_date", "departure_date",
          "departure_reason", "litigation_pending", "country", "department", "locale"]
# Where each service keeps its projection of the alumni (identity: the records themselves).
PROJECTIONS = {"notifications": "reachable_alumni", "referrals": "referrers", "engagement": "known_alumni"}


def leaver(employee_id: str, **fields: Any) -> dict[str, Any]:
    return {"employee_id": employee_id, "first_name": "Maëlle", "last_name": "Durand", "work_email": f"{employee_id.lower()}@acme.example",
            "personal_email": f"{employee_id.lower()}@home.example", "hire_date": "2011-09-01", "departure_date": "2019-03-31",
            "departure_reason": "resignation", "litigation_pending": "false", "country": "FR", "department": "Finance", "locale": "fr"} | fields


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


@dataclass
class Imports:
    stack: LocalStack
    mailbox: Mailbox
    tokens: TokenVerifier

    def url(self, service: str = "offboarding") -> str:
        return self.stack.services[service].url

    def auth(self, *scopes: str, subject: str = "hr-operator") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens.issue(subject, list(scopes))}"}

    @property
    def token(self) -> str:
        return self.tokens.issue("hr-operator", ["alumni:admin"], 3600)

    async def run(self, path: Path, **kwargs: Any) -> dict[str, Any]:
        """The operator's command, in this process."""
        return await run_import(path, url=self.url(), token=self.token, out=io.StringIO(), **kwargs)

    def command(self, path: Path, *args: str) -> subprocess.Popen:
        """The operator's command as its own process (`python -m services.offboarding.imports`)."""
        env = {**os.environ, "ALUMNI_TOKEN": self.token}
        return subprocess.Popen([sys.executable, "-m", "services.offboarding.imports", str(path), "--url", self.url(), *args],
                                cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    async def progress(self, import_id: str) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=30) as http:
            response = await http.get(f"{self.url()}/imports/{import_id}", headers=self.auth("alumni:admin"))
        assert response.status_code == 200, response.text
        return response.json()

    async def db(self, service: str):
        client = AsyncMongoClient(self.stack.cfg.mongodb_uri, tz_aware=True)
        return client, client[f"alumni_{service}"]

    async def alumni_of(self, employee_ids: list[str]) -> dict[str, dict]:
        """Identity's records with a stint of these employee ids, by employee id."""
        client, db = await self.db("identity")
        try:
            found = await find_many(db.alumni, "stints.employee_id", employee_ids)
        finally:
            await client.close()
        return {s["employee_id"]: a for a in found for s in a["stints"] if s["employee_id"] in employee_ids}

    async def wait_for_alumni(self, employee_ids: list[str], timeout: float = 120) -> dict[str, dict]:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(found := await self.alumni_of(employee_ids)) < len(set(employee_ids)):
            assert asyncio.get_running_loop().time() < deadline, f"identity registered {len(found)} of {len(set(employee_ids))}"
            await asyncio.sleep(0.5)
        return found

    async def projected(self, alumnus_ids: set[str]) -> dict[str, set[str]]:
        """Which of these alumni each service's projection holds."""
        held = {}
        for service, collection in PROJECTIONS.items():
            client, db = await self.db(service)
            try:
                held[service] = {d["_id"] for d in await find_many(db[collection], "_id", sorted(alumnus_ids), projection={"_id": 1})}
            finally:
                await client.close()
        return held

    async def wait_projected(self, alumnus_ids: set[str], timeout: float = 120) -> dict[str, set[str]]:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            projected = await self.projected(alumnus_ids)
            if all(held == alumnus_ids for held in projected.values()):
                return projected
            assert asyncio.get_running_loop().time() < deadline, {s: len(h) for s, h in projected.items()}
            await asyncio.sleep(0.5)

    async def depart(self, payload: dict[str, Any]) -> None:
        """A departure on the live topic, as an HRIS connector sends it."""
        value = json.dumps({k: v for k, v in payload.items() if v not in ("", None)} | {"litigation_pending": payload.get("litigation_pending") == "true"})
        await produce(self.stack.cfg.bootstrap_servers, "hris.employee.departed",
                      [(payload["employee_id"].encode(), value.encode(), cloudevent_headers("com.alumni.employee.departed.v1"))])

    def mail_to(self, addresses: list[str]) -> list[str]:
        """The addresses among these that the SMTP server received anything for."""
        return [a for a in addresses if self.mailbox.to(a)]


@pytest.fixture(scope="package")
async def imports(stack: LocalStack) -> AsyncIterator[Imports]:
    mailbox = Mailbox().start()
    env = {
        "AUTH_JWT_SECRET": SECRET,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(mailbox.port),
        "CHAT_CHANNELS": "{}",
        "RETRY_BASE_DELAY_SECONDS": "0.2",
        "RETRY_ATTEMPTS": "6",
    }
    services = LocalStack(stack.cfg, service_env=env)
    await services.up_services(SERVICES, log=lambda line: None)
    yield Imports(services, mailbox, TokenVerifier(SECRET))
    for name in SERVICES:
        services.services[name].stop()
    mailbox.stop()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
