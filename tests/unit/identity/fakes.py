"""`AlumniRepository` in memory, for fast tests of identity's handlers."""

from datetime import datetime

from services.identity.domain import Alumnus, ConsentRecord
from services.identity.repository import DirectoryQuery
from shared.events.types import Purpose
from shared.erasure import ErasureKeys
from shared.testing.fakes import InMemoryErasedPeople

ERASURE_KEYS = ErasureKeys("unit-test-erasure-hash-key-of-32-chars")


class InMemoryAlumni:
    def __init__(self) -> None:
        self.alumni: dict[str, Alumnus] = {}
        self.ledger: list[tuple[str, ConsentRecord]] = []
        self.erased: dict[str, datetime] = {}
        self.erased_people = InMemoryErasedPeople()

    def __call__(self, uow: object) -> "InMemoryAlumni":
        return self  # the same store in every unit of work, as the database is

    def erased_stints(self, uow: object) -> InMemoryErasedPeople:
        return self.erased_people  # looked up each time: a rollback puts back another object

    async def get(self, alumnus_id: str) -> Alumnus | None:
        return self.alumni.get(alumnus_id)

    async def by_employee_id(self, employee_id: str) -> Alumnus | None:
        return next((a for a in self.alumni.values() if any(s.employee_id == employee_id for s in a.stints)), None)

    async def by_verified_email(self, email: str) -> Alumnus | None:
        return next((a for a in self.alumni.values() if a.personal_email_verified and a.profile.personal_email == email), None)

    async def save(self, alumnus: Alumnus) -> None:
        self.ledger += [(alumnus.alumnus_id, r) for r in alumnus.ledger]
        alumnus.ledger.clear()
        self.alumni[alumnus.alumnus_id] = alumnus

    async def consent_history(self, alumnus_id: str) -> list[ConsentRecord]:
        return [r for owner, r in self.ledger if owner == alumnus_id]

    async def was_erased(self, alumnus_id: str) -> bool:
        return alumnus_id in self.erased

    async def erase(self, alumnus_id: str, at: datetime) -> None:
        self.alumni.pop(alumnus_id, None)
        self.ledger = [(owner, r) for owner, r in self.ledger if owner != alumnus_id]
        self.erased[alumnus_id] = at

    async def directory(self, query: DirectoryQuery) -> tuple[int, list[Alumnus]]:
        listed = [a for a in self.alumni.values() if a.consents_to(Purpose.DIRECTORY)]
        start = (query.page - 1) * query.page_size
        return len(listed), listed[start : start + query.page_size]
