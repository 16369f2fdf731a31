"""In-memory stand-ins for the parked events (shared/messaging/parking.py): the consumer's store
and the handlers' view of it."""

import copy
import json
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from shared.events import Event
from shared.messaging.parking import LeaseLost, ParkedRecord


class InMemoryParkedStore:
    """`shared.messaging.parking.ParkedStore` in memory; `settle` ignores the unit of work (the
    fake's rollback does not reach it), which the consumer's tests do not depend on."""

    def __init__(self) -> None:
        self.parked: dict[str, ParkedRecord] = {}

    async def park(self, parked: ParkedRecord) -> bool:
        if parked.id in self.parked:
            return False
        self.parked[parked.id] = copy.deepcopy(parked)
        return True

    async def claim(
        self, owner: str, now: datetime, lease_until: datetime, limit: int, topics: Collection[str] | None = None
    ) -> list[ParkedRecord]:
        free = [p for p in self.parked.values() if p.next_check_at <= now and (p.lease_until is None or p.lease_until < now)
                and (topics is None or p.topic in topics)]
        claimed = sorted(free, key=lambda p: p.next_check_at)[:limit]
        for p in claimed:
            p.owner, p.lease_until = owner, lease_until
        return [copy.deepcopy(p) for p in claimed]

    async def settle(self, uow: object, parked_id: str, owner: str) -> None:
        if parked_id not in self.parked or self.parked[parked_id].owner != owner:
            raise LeaseLost(parked_id)
        del self.parked[parked_id]

    async def postpone(
        self, parked_id: str, owner: str, check_at: datetime, checks: int, reason: str, waiting_for: Sequence[str] | None = None
    ) -> None:
        p = self.parked.get(parked_id)
        if p is not None and p.owner == owner:
            p.next_check_at, p.checks, p.reason, p.owner, p.lease_until = check_at, checks, reason, None, None
            if waiting_for is not None:
                p.waiting_for = list(waiting_for)

    async def remove(self, parked_id: str, owner: str) -> None:
        if parked_id in self.parked and self.parked[parked_id].owner == owner:
            del self.parked[parked_id]

    async def check_soon(self, keys: list[str], now: datetime) -> None:
        for p in self.parked.values():
            if (p.aggregate in keys or set(p.waiting_for) & set(keys)) and p.next_check_at > now:
                p.next_check_at = now

    async def stats(self) -> tuple[int, datetime | None]:
        return len(self.parked), min((p.parked_at for p in self.parked.values()), default=None)


class InMemoryParkedView:
    """`shared.messaging.parking.WaitingEvents` over an `InMemoryParkedStore`: what its consumer parked."""

    def __init__(self, store: InMemoryParkedStore) -> None:
        self.store = store

    def __call__(self, uow: object) -> "InMemoryParkedView":
        return self

    def _of(self, aggregates: list[str]) -> list[ParkedRecord]:
        return [p for p in self.store.parked.values() if p.aggregate in aggregates or set(p.waiting_for) & set(aggregates)]

    async def of(self, aggregate: str, model: type[Any]) -> list[Any]:
        return [model.model_validate_json(p.value) for p in self.store.parked.values() if p.aggregate == aggregate and p.event_type == model.event_type.type]

    async def forget(self, aggregates: list[str]) -> int:
        gone = [p.id for p in self.store.parked.values() if p.aggregate in aggregates]
        for parked_id in gone:
            del self.store.parked[parked_id]
        return len(gone)

    async def held(self, aggregates: list[str]) -> list[dict[str, Any]]:
        return [{"event_type": p.event_type, "parked_at": p.parked_at, "reason": p.reason, "payload": json.loads(p.value)} for p in self._of(aggregates)]


class InMemoryWaitingEvents:
    """`shared.messaging.parking.WaitingEvents` in memory: (aggregate, event) pairs a test parks."""

    def __init__(self) -> None:
        self.parked: list[tuple[str, Event]] = []

    def __call__(self, uow: object) -> "InMemoryWaitingEvents":
        return self

    async def of(self, aggregate: str, model: type[Any]) -> list[Any]:
        return [e for key, e in self.parked if key == aggregate and isinstance(e, model)]

    async def forget(self, aggregates: list[str]) -> int:
        kept = [(key, e) for key, e in self.parked if key not in aggregates]
        forgotten, self.parked = len(self.parked) - len(kept), kept
        return forgotten

    async def held(self, aggregates: list[str]) -> list[dict[str, Any]]:
        return [{"event_type": e.event_type.type, "payload": e.model_dump(mode="json")} for key, e in self.parked if key in aggregates]
