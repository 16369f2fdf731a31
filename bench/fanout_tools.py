"""The fan-out bench's instruments (bench/fanout.py): a real SMTP server that counts connections,
invitations (with their Message-IDs) and welcome emails, the seeding of consented alumni written
as each service's handlers would write them, and the CPU time each process of a stack used."""

import os
import re
import statistics
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP
from pymongo import AsyncMongoClient

from devstack.config import StackConfig
from devstack.process import free_port
from devstack.stack import LocalStack
from services.engagement.audience import KnownAlumnus
from services.engagement.documents import known_to_document
from services.identity.domain import Alumnus
from services.identity.repository import alumnus_document as identity_document
from services.notifications.domain import Contact, ReachableAlumnus
from services.notifications.repository import _to_document as reachable_document
from shared.events.offboarding import OffboardingCompleted

SEED_BATCH = 1000
_MESSAGE_ID = re.compile(rb"^Message-ID: *(<[^>\r\n]+>)", re.M | re.I)


@dataclass
class Counts:
    connections: int = 0
    messages: int = 0
    invitations: dict[str, set[bytes]] = field(default_factory=dict)  # address -> Message-IDs
    last_invitation: float = 0.0
    welcomes: dict[str, float] = field(default_factory=dict)


class CountingSmtp:
    """A real SMTP server (aiosmtpd) that counts the connections opened and notes, by
    recipient, each invitation (its Message-ID) and when each welcome email arrived."""

    def __init__(self, title: str, port: int | None = None) -> None:
        self.port = port or free_port()
        self.counts = Counts()
        self._subject = f"Subject: You are invited: {title}".encode()
        self._lock = threading.Lock()
        counts, lock = self.counts, self._lock

        class Counting(SMTP):
            def connection_made(self, transport) -> None:
                with lock:
                    counts.connections += 1
                super().connection_made(transport)

        class Server(Controller):
            def factory(self):
                return Counting(self.handler, **self.SMTP_kwargs)

        self._controller = Server(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802
        content = envelope.original_content or envelope.content
        now = time.monotonic()
        with self._lock:
            self.counts.messages += 1
            if self._subject in content:
                found = _MESSAGE_ID.search(content)
                for rcpt in envelope.rcpt_tos:
                    self.counts.invitations.setdefault(rcpt, set()).add(found.group(1) if found else b"")
                self.counts.last_invitation = now
            elif b"Subject: Welcome" in content:
                for rcpt in envelope.rcpt_tos:
                    self.counts.welcomes.setdefault(rcpt, now)
        return "250 OK"

    def start(self) -> "CountingSmtp":
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()


# --- seeding --------------------------------------------------------------------------------------

def _completion(run: str, n: int) -> OffboardingCompleted:
    employee_id = f"F-{run}-{n:06d}"
    address = f"f{n}.{run}@home.example"
    return OffboardingCompleted.model_validate({
        "case_id": f"{employee_id}/2019-03-01", "employee_id": employee_id, "hire_date": "2019-03-01",
        "departure_date": (date.today() - timedelta(days=30 + n % 700)).isoformat(), "departure_reason": "resignation",
        "outcome": "eligible",
        "leaver": {"first_name": f"Fan{n}", "last_name": "Out", "work_email": f"w{n}.{run}@acme.example", "personal_email": address,
                   "department": "Finance", "country": "FR", "locale": "en"},
        "profile": {"personal_email": address, "skills": ["SQL"], "consents": {"events": True}},
    })


def seeded_documents(run: str, n: int, now: datetime) -> dict[str, list[dict]]:
    """What the services' handlers store for one eligible completion, by `database.collection`."""
    alumnus, registered = Alumnus.register(_completion(run, n), f"alm_{uuid.uuid4().hex}", now)
    reachable = ReachableAlumnus(alumnus.alumnus_id)
    reachable.register(registered.version, Contact.of(registered.profile), registered.consents)
    known = KnownAlumnus(alumnus.alumnus_id)
    known.register(registered.version, registered.profile, registered.stint.departure_date.year, registered.boomerang, registered.consents)
    ledger = [{"alumnus_id": alumnus.alumnus_id, "purpose": r.purpose.value, "granted": r.granted, "changed_at": r.changed_at, "source": r.source}
              for r in alumnus.ledger]
    return {
        "alumni_identity.alumni": [identity_document(alumnus)],
        "alumni_identity.consent_ledger": ledger,
        "alumni_notifications.reachable_alumni": [reachable_document(reachable)],
        "alumni_engagement.known_alumni": [known_to_document(known)],
        "alumni_referrals.referrers": [{"_id": alumnus.alumnus_id, "version": registered.version, "email": str(registered.profile.personal_email)}],
    }


async def seed(cfg: StackConfig, run: str, count: int, log) -> list[str]:
    """`count` consented alumni, written as the handlers would; their addresses."""
    client = AsyncMongoClient(cfg.mongodb_uri)
    started, now = time.monotonic(), datetime.now(UTC)
    try:
        for first in range(0, count, SEED_BATCH):
            batch: dict[str, list[dict]] = {}
            for n in range(first, min(count, first + SEED_BATCH)):
                for where, docs in seeded_documents(run, n, now).items():
                    batch.setdefault(where, []).extend(docs)
            for where, docs in batch.items():
                database, collection = where.split(".", 1)
                await client[database][collection].insert_many(docs, ordered=False)
            if (first // SEED_BATCH) % 10 == 9:
                log(f"  seeded {first + SEED_BATCH} alumni ({time.monotonic() - started:.0f}s)")
    finally:
        await client.close()
    log(f"seeded {count} consented alumni in {time.monotonic() - started:.0f}s, written as the handlers would "
        "(identity's alumni and consent ledger, the projections of notifications, engagement and referrals)")
    return [f"f{n}.{run}@home.example" for n in range(count)]


def cpu_seconds(stack: LocalStack) -> dict[str, float]:
    """CPU time (user and system) each process of the stack has used so far; the bench's own
    (its SMTP server and publishers) as `bench`."""
    pids = {"database": stack.database.process.pid(), "kafka": stack.kafka.process.pid()}
    pids |= {name: s.process.pid() for name, s in stack.services.items()}
    ticks = os.sysconf("SC_CLK_TCK")
    used = {}
    for name, pid in pids.items():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            used[name] = (int(fields[11]) + int(fields[12])) / ticks
        except (OSError, TypeError, IndexError):
            continue
    times = os.times()
    used["bench"] = times.user + times.system
    return used


def percentile(values: list[float], p: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]
