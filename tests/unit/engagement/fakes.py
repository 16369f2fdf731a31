"""Engagement in memory, for fast tests of its rules: the repositories over one `Store` (so that
`FakeTransactions(state=store)` rolls them back together), the handlers, the HTTP API (through
httpx's ASGI transport) and the scheduler's chunks. Never under tests/integration, which is the
proof on the real broker and database."""

import copy
from dataclasses import replace
from datetime import UTC, datetime
from itertools import count
from types import SimpleNamespace
from typing import Any

import httpx
from fastapi import FastAPI

from services.engagement.api import http_router, personal_data
from services.engagement.audience import Audience, KnownAlumnus
from services.engagement.dependencies import Dependencies
from services.engagement.domain import GOING, PUBLISHED, WAITLISTED, Answer, HostedEvent, Mailing
from services.engagement.handlers import event_handlers
from services.engagement.pages import RsvpPages
from services.engagement.scheduler import run_mailings, schedule_reminders
from shared.events import Event
from shared.links import RsvpLinks
from shared.testing.fakes import FakeTransactions, envelope_for
from shared.web.auth import TokenVerifier
from shared.web.limits import BodySizeLimit
from shared.web.personal_data import personal_data_router

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
JWT_SECRET = "engagement-unit-test-secret-of-32-chars"
RSVP_LINKS = RsvpLinks("engagement-unit-test-rsvp-link-secret")


class Store:
    def __init__(self) -> None:
        self.events: dict[str, dict[str, Any]] = {}  # event id -> {"event": HostedEvent, "tickets": int}
        self.answers: dict[tuple[str, str], Answer] = {}
        self.check_ins: dict[tuple[str, str], datetime] = {}
        self.alumni: dict[str, KnownAlumnus] = {}
        self.mailings: dict[str, Mailing] = {}


class _Repo:
    def __init__(self, store: Store) -> None:
        self.store = store

    def __call__(self, uow: object) -> "_Repo":
        return self


class InMemoryHostedEvents(_Repo):
    async def get(self, event_id: str) -> HostedEvent | None:
        found = self.store.events.get(event_id)
        return copy.deepcopy(found["event"]) if found else None

    async def add(self, hosted: HostedEvent) -> None:
        self.store.events[hosted.event_id] = {"event": copy.deepcopy(hosted), "tickets": 0}

    async def save(self, hosted: HostedEvent) -> None:
        seats = self.store.events[hosted.event_id]["event"].seats_taken
        self.store.events[hosted.event_id]["event"] = replace(copy.deepcopy(hosted), seats_taken=seats)

    async def take_seat(self, event_id: str, capacity: int | None) -> bool:
        entry = self.store.events[event_id]
        if capacity is not None and entry["event"].seats_taken >= capacity:
            return False
        entry["event"].seats_taken += 1
        return True

    async def free_seat(self, event_id: str) -> None:
        entry = self.store.events[event_id]
        entry["event"].seats_taken = max(0, entry["event"].seats_taken - 1)

    async def next_ticket(self, event_id: str) -> int:
        self.store.events[event_id]["tickets"] += 1
        return self.store.events[event_id]["tickets"]

    async def listing(self, statuses: tuple[str, ...], starting_after: object = None) -> list[HostedEvent]:
        found = [e["event"] for e in self.store.events.values() if e["event"].status in statuses]
        return sorted((copy.deepcopy(e) for e in found if starting_after is None or e.starts_at > starting_after), key=lambda e: e.starts_at)

    async def to_remind(self, now: datetime, until: datetime) -> list[str]:
        return [e.event_id for e in await self.listing((PUBLISHED,), now) if not e.reminded and e.starts_at <= until]

    async def with_speaker(self, alumnus_id: str) -> list[HostedEvent]:
        found = [e["event"] for e in self.store.events.values() if alumnus_id in e["event"].speaker_alumni_ids]
        return sorted((copy.deepcopy(e) for e in found), key=lambda e: e.starts_at)


class InMemoryAnswers(_Repo):
    async def get(self, event_id: str, alumnus_id: str) -> Answer | None:
        return self.store.answers.get((event_id, alumnus_id))

    async def save(self, answer: Answer) -> None:
        self.store.answers[(answer.event_id, answer.alumnus_id)] = answer

    def _of(self, event_id: str, status: str | None = None) -> list[Answer]:
        return [a for (e, _), a in self.store.answers.items() if e == event_id and (status is None or a.status == status)]

    async def first_waitlisted(self, event_id: str) -> Answer | None:
        return min(self._of(event_id, WAITLISTED), key=lambda a: a.ticket or 0, default=None)

    async def waitlist_position(self, event_id: str, ticket: int) -> int:
        return len([a for a in self._of(event_id, WAITLISTED) if (a.ticket or 0) <= ticket])

    async def of_event(self, event_id: str) -> list[Answer]:
        return sorted(self._of(event_id), key=lambda a: a.answered_at)

    async def going_after(self, event_id: str, after: str, limit: int) -> list[str]:
        return sorted(a.alumnus_id for a in self._of(event_id, GOING) if a.alumnus_id > after)[:limit]

    async def of_alumnus(self, alumnus_id: str) -> list[Answer]:
        return [a for (_, who), a in self.store.answers.items() if who == alumnus_id]

    async def forget_alumnus(self, alumnus_id: str) -> None:
        self.store.answers = {k: a for k, a in self.store.answers.items() if k[1] != alumnus_id}


class InMemoryCheckIns(_Repo):
    async def record(self, event_id: str, alumnus_ids: list[str], at: datetime) -> list[str]:
        new = [a for a in dict.fromkeys(alumnus_ids) if (event_id, a) not in self.store.check_ins]
        self.store.check_ins.update({(event_id, a): at for a in new})
        return new

    async def of_event(self, event_id: str) -> list[str]:
        return sorted(a for (e, a) in self.store.check_ins if e == event_id)

    async def of_alumnus(self, alumnus_id: str) -> list[dict[str, Any]]:
        theirs = [{"event_id": e, "checked_in_at": at} for (e, a), at in self.store.check_ins.items() if a == alumnus_id]
        return sorted(theirs, key=lambda c: c["checked_in_at"])

    async def forget_alumnus(self, alumnus_id: str) -> None:
        self.store.check_ins = {k: v for k, v in self.store.check_ins.items() if k[1] != alumnus_id}


class InMemoryKnownAlumni(_Repo):
    async def get(self, alumnus_id: str) -> KnownAlumnus | None:
        return copy.deepcopy(self.store.alumni.get(alumnus_id))

    async def many(self, alumnus_ids: list[str]) -> dict[str, KnownAlumnus]:
        return {i: copy.deepcopy(self.store.alumni[i]) for i in alumnus_ids if i in self.store.alumni}

    async def save(self, alumnus: KnownAlumnus) -> None:
        self.store.alumni[alumnus.alumnus_id] = copy.deepcopy(alumnus)

    async def add_if_absent(self, alumnus: KnownAlumnus) -> bool:
        if alumnus.alumnus_id in self.store.alumni:
            return False
        self.store.alumni[alumnus.alumnus_id] = copy.deepcopy(alumnus)
        return True

    async def save_if_unchanged(self, alumnus: KnownAlumnus) -> None:
        self.store.alumni[alumnus.alumnus_id] = copy.deepcopy(alumnus)

    async def save_many(self, alumni: list[KnownAlumnus], *, new: bool) -> None:
        for alumnus in alumni:
            assert not new or alumnus.alumnus_id not in self.store.alumni, "a duplicate key"
            self.store.alumni[alumnus.alumnus_id] = copy.deepcopy(alumnus)

    async def invitable_in(self, audience: Audience, after: str, end: str | None, limit: int) -> list[str]:
        return sorted(i for i, a in self.store.alumni.items() if after < i and (end is None or i <= end) and audience.invites(a))[:limit]


class InMemoryMailings(_Repo):
    async def add(self, mailing: Mailing) -> None:
        self.store.mailings.setdefault(mailing.mailing_id, copy.deepcopy(mailing))

    async def get(self, mailing_id: str) -> Mailing | None:
        return copy.deepcopy(self.store.mailings.get(mailing_id))

    async def advance(self, mailing: Mailing, from_chunk: int) -> bool:
        if self.store.mailings[mailing.mailing_id].chunk != from_chunk:
            return False
        self.store.mailings[mailing.mailing_id] = copy.deepcopy(mailing)
        return True

    async def pending(self) -> list[str]:
        return [i for i, m in self.store.mailings.items() if not m.done]


class Engagement:
    """The service in memory: `receive` an identity event, `api` for HTTP, `tick` the scheduler."""

    def __init__(self, *, chunk_size: int = 2, now: datetime = NOW) -> None:
        self.now = now
        self.store = Store()
        ids = count(1)
        self.deps = Dependencies(
            hosted_events=InMemoryHostedEvents(self.store), answers=InMemoryAnswers(self.store), check_ins=InMemoryCheckIns(self.store),
            alumni=InMemoryKnownAlumni(self.store), mailings=InMemoryMailings(self.store), rsvp_links=RSVP_LINKS, pages=RsvpPages(),
            chunk_size=chunk_size, reminder_hours=24, new_event_id=lambda: f"evt_{next(ids)}",
        )
        self.transactions = FakeTransactions(state=self.store, clock=lambda: self.now)
        self.events = event_handlers(self.deps)
        self.tokens = TokenVerifier(JWT_SECRET)

    async def receive(self, event: Event) -> None:
        _, handler = self.events.handlers[event.event_type.type]
        await self.transactions.run(lambda ctx: handler(event, ctx), envelope=envelope_for(event))

    def api(self, *scopes: str, alumnus: str | None = None) -> httpx.AsyncClient:
        app = FastAPI()
        app.include_router(http_router(self.deps))
        app.include_router(personal_data_router("engagement", personal_data(self.deps)))
        app.add_middleware(BodySizeLimit, max_bytes=65536)
        app.state.runtime = SimpleNamespace(transactions=self.transactions, clock=lambda: self.now)
        app.state.token_verifier = self.tokens
        token = self.tokens.issue(f"alumnus:{alumnus}", ["alumni:self"]) if alumnus else self.tokens.issue("pm", list(scopes))
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://engagement", headers={"Authorization": f"Bearer {token}"})

    async def tick(self) -> None:
        await schedule_reminders(self.transactions, self.deps, self.now)  # type: ignore[arg-type]
        await run_mailings(self.transactions, self.deps)  # type: ignore[arg-type]

    def published(self, kind: type[Event]) -> list:
        return [e for e in self.transactions.events if isinstance(e, kind)]
