"""The referrals service's repositories in memory, and the service over them (handlers, HTTP API
and scheduler), for fast tests of its rules. The proof on the real broker and database:
tests/integration/referrals."""

import copy
import itertools
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import httpx
from fastapi import FastAPI

from services.referrals.api import http_router, personal_data
from services.referrals.ats.repository import Replayed
from services.referrals.bonuses import SCHEDULED, Bonus, load_rules
from services.referrals.dependencies import Dependencies
from services.referrals.domain import CANDIDATE, FINAL, HIRED, WON, AlreadyReferred, Referral, Referrer, normalised_email
from services.referrals.handlers import event_handlers
from services.referrals.repository import ReferralQuery
from shared.events import Event
from shared.testing.fakes import FakeTransactions, envelope_for
from shared.web.auth import TokenVerifier
from shared.web.limits import BodySizeLimit
from shared.web.personal_data import personal_data_router

SECRET = "referrals-unit-test-secret-of-32-chars"
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


class Store:
    """Every collection in one object, so that a failed unit of work puts all of them back."""

    def __init__(self) -> None:
        self.referrals: dict[str, Referral] = {}
        self.claims: dict[str, str] = {}
        self.referrers: dict[str, Referrer] = {}
        self.bonuses: dict[str, Bonus] = {}
        self.unmatched: dict[str, dict[str, Any]] = {}
        self.markers: set[str] = set()


class InMemoryReferrals:
    def __init__(self, store: Store) -> None:
        self.s = store

    def _all(self) -> list[Referral]:
        return sorted(self.s.referrals.values(), key=lambda r: r.submitted_at, reverse=True)

    async def get(self, referral_id: str) -> Referral | None:
        return copy.deepcopy(self.s.referrals.get(referral_id))

    async def save(self, referral: Referral) -> None:
        self.s.referrals[referral.referral_id] = copy.deepcopy(referral)

    async def claim_holder(self, key: str) -> Referral | None:
        return await self.get(self.s.claims[key]) if key in self.s.claims else None

    async def claim(self, key: str, referral_id: str, replacing: str | None) -> None:
        if self.s.claims.get(key) != replacing:
            raise AlreadyReferred("already referred")
        self.s.claims[key] = referral_id

    async def release(self, referral_id: str) -> None:
        self.s.claims = {k: v for k, v in self.s.claims.items() if v != referral_id}

    async def find(self, query: ReferralQuery) -> tuple[int, list[Referral]]:
        found = [r for r in self._all() if all(getattr(r, k) == v for k, v in query.filter().items())]
        start = (query.page - 1) * query.page_size
        return len(found), found[start : start + query.page_size]

    async def by_application(self, application_id: str) -> Referral | None:
        return next((r for r in self._all() if r.application_id == application_id), None)

    async def by_candidate_email(self, email: str, since: datetime) -> list[Referral]:
        return [r for r in self._all() if r.kind == CANDIDATE and r.candidate_email == normalised_email(email) and r.submitted_at >= since]

    async def hires(self, employee_id: str | None, emails: list[str]) -> list[Referral]:
        wanted = {normalised_email(e) for e in emails}
        return [r for r in self._all() if r.status == HIRED and ((employee_id and r.employee_id == employee_id) or r.candidate_email in wanted)]

    async def idle(self, before: datetime) -> list[str]:
        return [r.referral_id for r in self._all() if r.status not in FINAL and (r.moved_at or r.submitted_at) < before]

    async def data_due(self, closed_before: datetime) -> list[str]:
        return [r.referral_id for r in self._all() if r.status not in (HIRED, WON) and r.closed_at and r.closed_at <= closed_before and not r.data_deleted_at]

    async def of_referrer(self, alumnus_id: str) -> list[Referral]:
        return [copy.deepcopy(r) for r in self._all() if r.alumnus_id == alumnus_id]

    async def of_candidate(self, email: str) -> list[Referral]:
        return [copy.deepcopy(r) for r in self._all() if r.candidate_email == normalised_email(email)]

    async def submitted_between(self, start: datetime, end: datetime) -> list[Referral]:
        return [r for r in self._all() if start <= r.submitted_at < end]


class InMemoryReferrers:
    def __init__(self, store: Store) -> None:
        self.s = store

    async def get(self, alumnus_id: str) -> Referrer | None:
        return self.s.referrers.get(alumnus_id)

    async def many(self, alumnus_ids: list[str]) -> dict[str, Referrer]:
        return {i: self.s.referrers[i] for i in alumnus_ids if i in self.s.referrers}

    async def save(self, referrer: Referrer) -> None:
        self.s.referrers[referrer.alumnus_id] = referrer

    async def project(self, referrer: Referrer) -> bool:
        known = self.s.referrers.get(referrer.alumnus_id)
        if known is not None and not known.applies(referrer.version):
            return False
        self.s.referrers[referrer.alumnus_id] = referrer
        return True

    async def save_many(self, referrers: list[Referrer], *, new: bool) -> None:
        for referrer in referrers:
            assert not new or referrer.alumnus_id not in self.s.referrers, "a duplicate key"
            self.s.referrers[referrer.alumnus_id] = referrer


class InMemoryBonuses:
    def __init__(self, store: Store) -> None:
        self.s = store

    async def add(self, bonuses: list[Bonus]) -> None:
        self.s.bonuses.update({b.bonus_id: copy.deepcopy(b) for b in bonuses})

    async def get(self, bonus_id: str) -> Bonus | None:
        return copy.deepcopy(self.s.bonuses.get(bonus_id))

    async def save(self, bonus: Bonus, *, was: str) -> bool:
        if self.s.bonuses[bonus.bonus_id].status != was:
            return False
        self.s.bonuses[bonus.bonus_id] = copy.deepcopy(bonus)
        return True

    async def find(self, status: str | None, referral_id: str | None, limit: int) -> list[Bonus]:
        return [copy.deepcopy(b) for b in self.s.bonuses.values() if status in (None, b.status) and referral_id in (None, b.referral_id)][:limit]

    async def due(self, today: date) -> list[str]:
        return [b.bonus_id for b in self.s.bonuses.values() if b.status == SCHEDULED and b.due_on <= today]

    async def of_referral(self, referral_id: str) -> list[Bonus]:
        return [copy.deepcopy(b) for b in self.s.bonuses.values() if b.referral_id == referral_id]

    async def of_referrer(self, alumnus_id: str) -> list[Bonus]:
        return [copy.deepcopy(b) for b in self.s.bonuses.values() if b.alumnus_id == alumnus_id]


class InMemoryUnmatched:
    def __init__(self, store: Store) -> None:
        self.s = store

    async def record(self, application_id: str, source: str, status: str, changed_at: datetime, *, had_email: bool, at: datetime) -> None:
        seen = self.s.unmatched.setdefault(application_id, {"times": 0, "first_seen_at": at})
        seen.update(source=source, status=status, changed_at=changed_at, had_email=had_email, last_seen_at=at, times=seen["times"] + 1)

    async def forget(self, application_id: str) -> None:
        self.s.unmatched.pop(application_id, None)

    async def recent(self, limit: int) -> tuple[int, list[dict[str, Any]]]:
        return len(self.s.unmatched), [{"application_id": k} | v for k, v in list(self.s.unmatched.items())[:limit]]


class InMemoryWebhookRequests:
    def __init__(self, store: Store) -> None:
        self.s = store

    async def seen(self, marker: str) -> bool:
        return marker in self.s.markers

    async def remember(self, marker: str, keep: timedelta) -> None:
        if marker in self.s.markers:
            raise Replayed(marker)
        self.s.markers.add(marker)


class Referrals:
    """The service in memory: `handle(event)` as the consumer would, `http` as a client would."""

    def __init__(self, **overrides: Any) -> None:
        self.store = Store()
        self.now = NOW
        self.transactions = FakeTransactions(state=self.store, clock=lambda: self.now)
        ids, bonus_ids = itertools.count(1), itertools.count(1)
        self.deps = Dependencies(
            referrals=lambda uow: InMemoryReferrals(self.store), referrers=lambda uow: InMemoryReferrers(self.store),
            bonuses=lambda uow: InMemoryBonuses(self.store), unmatched=lambda uow: InMemoryUnmatched(self.store),
            webhook_requests=lambda uow: InMemoryWebhookRequests(self.store), rules=load_rules(),
            new_referral_id=lambda: f"ref_{next(ids)}", new_bonus_id=lambda: f"bon_{next(bonus_ids)}", **overrides,
        )
        self.router = event_handlers(self.deps)
        self.tokens = TokenVerifier(SECRET)

    def clock(self) -> datetime:
        return self.now

    async def handle(self, event: Event, *, event_id: str | None = None) -> None:
        envelope = envelope_for(event, event_id=event_id)
        _, handler = self.router.handlers[event.event_type.type]
        await self.transactions.run(lambda ctx: handler(event, ctx), envelope=envelope)

    def app(self) -> FastAPI:
        app = FastAPI()
        app.include_router(http_router(self.deps))
        app.include_router(personal_data_router("referrals", personal_data(self.deps)))
        app.add_middleware(BodySizeLimit, max_bytes=65536)
        app.state.runtime = SimpleNamespace(transactions=self.transactions, clock=self.clock)
        app.state.token_verifier = self.tokens
        return app

    def http(self, *scopes: str, alumnus: str | None = None) -> httpx.AsyncClient:
        subject, scopes = (f"alumnus:{alumnus}", ("alumni:self",)) if alumnus else ("recruiter", scopes)
        token = self.tokens.issue(subject, list(scopes))
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app()), base_url="http://referrals",
                                 headers={"Authorization": f"Bearer {token}"})

    def published(self, model: type[Event]) -> list[Any]:
        return [e for e in self.transactions.events if isinstance(e, model)]
