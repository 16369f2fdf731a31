"""Offboarding's repositories in memory, for fast tests of its handlers, scheduler and exit form.

One `OffboardingStore` holds every collection, so that `FakeTransactions(state=store)` rolls
them back together; the repositories are views on it. Cases and invitations are copied in and
out, as a database would: a change that is not saved is not kept, and an invitation's token is
never stored.
"""

import copy
import dataclasses
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

import httpx

from services.offboarding.dependencies import Dependencies
from services.offboarding.domain import CaseStatus, EligibilityPolicy, ExitCase, ExitFormLinks, ExitInvitation
from services.offboarding.handlers import event_handlers
from services.offboarding.imports.repository import BatchDoneMeanwhile
from services.offboarding.intake.signatures import Replayed
from services.offboarding.pages import ExitFormPages
from services.offboarding.repository import case_document
from services.offboarding.scheduler import complete_due_cases, forget_expired_cases
from shared.events import Event
from shared.events.hris import EmployeeDeparted
from shared.events.offboarding import ExitFormIssuedV2
from shared.erasure import ErasureKeys
from shared.links import EXIT_FORM_LINKS, DerivedLinks
from shared.testing.fakes import FakeTransactions, InMemoryErasedPeople, envelope_for
from shared.testing.parked import InMemoryWaitingEvents

E = TypeVar("E", bound=Event)

BASE_URL = "https://alumni.example"
# The secret notifications shares, to write the link in the email.
ERASURE_KEYS = ErasureKeys("unit-test-erasure-hash-key-of-32-chars")
LINK_TOKENS = DerivedLinks(EXIT_FORM_LINKS, "unit-test-exit-form-link-secret-32-chars")


class OffboardingStore:
    def __init__(self) -> None:
        self.cases: dict[str, ExitCase] = {}
        self.invitations: dict[str, ExitInvitation] = {}
        self.webhook_requests: set[str] = set()
        self.erased_people = InMemoryErasedPeople()
        self.parked = InMemoryWaitingEvents()
        self.import_batches: dict[str, dict] = {}

    def erased(self, uow: object) -> InMemoryErasedPeople:
        return self.erased_people  # looked up each time: a rollback puts back another object

    def exit_cases(self, uow: object) -> "InMemoryExitCases":
        return InMemoryExitCases(self)

    def exit_invitations(self, uow: object) -> "InMemoryInvitations":
        return InMemoryInvitations(self)

    def webhook_markers(self, uow: object) -> "InMemoryWebhookRequests":
        return InMemoryWebhookRequests(self)

    def imports(self, uow: object) -> "InMemoryImportBatches":
        return InMemoryImportBatches(self)


class InMemoryExitCases:
    def __init__(self, store: OffboardingStore) -> None:
        self.store = store

    async def get(self, case_id: str) -> ExitCase | None:
        return copy.deepcopy(self.store.cases.get(case_id))

    async def of_employee(self, employee_id: str) -> list[ExitCase]:
        mine = [c for c in self.store.cases.values() if c.employee_id == employee_id]
        return copy.deepcopy(sorted(mine, key=lambda c: c.departure.hire_date, reverse=True))

    async def save(self, case: ExitCase) -> None:
        self.store.cases[case.case_id] = copy.deepcopy(case)

    async def due(self, today: date, limit: int = 500) -> list[str]:
        due = [c for c in self.store.cases.values() if c.status is CaseStatus.OPEN and c.departure.departure_date <= today]
        return [c.case_id for c in sorted(due, key=lambda c: c.departure.departure_date)][:limit]

    async def case_ids(self, employee_ids: list[str]) -> list[str]:
        return [c.case_id for c in self.store.cases.values() if c.employee_id in employee_ids]

    async def existing(self, case_ids: list[str]) -> set[str]:
        return {case_id for case_id in case_ids if case_id in self.store.cases}

    async def closed_before(self, cutoff: datetime, limit: int = 500) -> list[str]:
        closed = [c for c in self.store.cases.values() if c.closed_at is not None and c.closed_at <= cutoff]
        return [c.case_id for c in sorted(closed, key=lambda c: c.closed_at)][:limit]

    async def forget_closed(self, case_id: str, cutoff: datetime) -> bool:
        case = self.store.cases.get(case_id)
        if case is None or case.closed_at is None or case.closed_at > cutoff:
            return False
        del self.store.cases[case_id]
        return True

    async def held(self, employee_ids: list[str]) -> list[dict]:
        return [case_document(c) for c in self.store.cases.values() if c.employee_id in employee_ids]

    async def forget(self, employee_ids: list[str]) -> int:
        forgotten = await self.case_ids(employee_ids)
        for case_id in forgotten:
            del self.store.cases[case_id]
        return len(forgotten)


class InMemoryInvitations:
    def __init__(self, store: OffboardingStore) -> None:
        self.store = store

    async def add(self, invitation: ExitInvitation) -> None:
        assert invitation.digest not in self.store.invitations, "a duplicate key"
        self.store.invitations[invitation.digest] = dataclasses.replace(invitation, token=None)

    async def get(self, digest: str) -> ExitInvitation | None:
        return copy.deepcopy(self.store.invitations.get(digest))

    async def save(self, invitation: ExitInvitation) -> None:
        self.store.invitations[invitation.digest].used_at = invitation.used_at

    async def held(self, case_ids: list[str]) -> list[dict]:
        return [{"case_id": i.case_id, "expires_at": i.expires_at, "used_at": i.used_at}
                for i in self.store.invitations.values() if i.case_id in case_ids]

    async def forget_cases(self, case_ids: list[str]) -> None:
        for digest in [d for d, i in self.store.invitations.items() if i.case_id in case_ids]:
            del self.store.invitations[digest]


class InMemoryWebhookRequests:
    def __init__(self, store: OffboardingStore) -> None:
        self.store = store

    async def seen(self, marker: str) -> bool:
        return marker in self.store.webhook_requests

    async def remember(self, marker: str) -> None:
        if marker in self.store.webhook_requests:
            raise Replayed(marker)
        self.store.webhook_requests.add(marker)


class InMemoryImportBatches:
    def __init__(self, store: OffboardingStore) -> None:
        self.store = store

    async def get(self, import_id: str, number: int) -> dict | None:
        return copy.deepcopy(self.store.import_batches.get(f"{import_id}/{number}"))

    async def add(self, import_id: str, number: int, result: dict, at: datetime) -> None:
        if f"{import_id}/{number}" in self.store.import_batches:
            raise BatchDoneMeanwhile(f"{import_id}/{number}")
        self.store.import_batches[f"{import_id}/{number}"] = copy.deepcopy(result) | {"batch": number, "done_at": at}

    async def of_import(self, import_id: str) -> list[dict]:
        done = [b for key, b in self.store.import_batches.items() if key.startswith(f"{import_id}/")]
        return sorted(copy.deepcopy(done), key=lambda b: b["batch"])


class Clock:
    """A clock the test moves."""

    def __init__(self, now: datetime = datetime(2026, 11, 22, 9, tzinfo=UTC)) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def move(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def dependencies(store: OffboardingStore, vendor_api: httpx.AsyncClient | None = None, **overrides) -> Dependencies:
    """Offboarding's dependencies over the in-memory store; no vendor API answers unless given."""
    unreachable = httpx.AsyncClient(transport=httpx.MockTransport(lambda request: httpx.Response(503)))
    return Dependencies(
        cases=store.exit_cases,
        invitations=store.exit_invitations,
        webhook_requests=store.webhook_markers,
        erased=store.erased,
        erasure_keys=ERASURE_KEYS,
        waiting=store.parked,
        import_batches=store.imports,
        policy=EligibilityPolicy(),
        exit_form=ExitFormLinks(BASE_URL, timedelta(days=30), LINK_TOKENS),
        pages=ExitFormPages(),
        vendor_api=vendor_api or unreachable,
        **overrides,
    )


def departure(**fields) -> EmployeeDeparted:
    return EmployeeDeparted.model_validate(
        {"employee_id": "E-1", "first_name": "Léa", "last_name": "Petit", "work_email": "lea@acme.example", "locale": "fr",
         "hire_date": "2020-01-01", "departure_date": "2026-11-20", "departure_reason": "resignation"} | fields
    )


class Offboarding:
    """The service's handlers, scheduler and dependencies over one in-memory store and a clock
    the test moves (2026-11-22 09:00 UTC at first)."""

    def __init__(self, **overrides) -> None:
        self.store = OffboardingStore()
        self.clock = Clock()
        self.deps = dependencies(self.store, **overrides)
        self.events = event_handlers(self.deps)
        self.transactions = FakeTransactions(state=self.store, clock=self.clock)

    async def handle(self, event: Event) -> None:
        _, handler = self.events.handlers[event.event_type.type]
        await self.transactions.run(lambda ctx: handler(event, ctx), envelope=envelope_for(event))

    async def complete_due_cases(self) -> int:
        return await complete_due_cases(self.transactions, self.deps, self.clock().date())

    async def forget_expired_cases(self) -> int:
        return await forget_expired_cases(self.transactions, self.deps, self.clock())

    def published(self, kind: type[E]) -> list[E]:
        return [e for e in self.transactions.events if isinstance(e, kind)]

    def token(self, employee_id: str = "E-1") -> str:
        """The one-time token of the link the employee was sent."""
        [issued] = [e for e in self.published(ExitFormIssuedV2) if e.employee_id == employee_id]
        return LINK_TOKENS.token(issued.link_id, issued.link_key_id)
