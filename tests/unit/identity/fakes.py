"""Identity's repositories in memory, for fast tests of its handlers and API: `InMemoryAlumni`
holds every collection, so that a failed unit of work rolls them all back."""

import copy
from datetime import datetime, timedelta
from itertools import count

from services.identity.dependencies import Dependencies
from services.identity.domain import Alumnus, ConsentRecord
from services.identity.pages import ConfirmationPages
from services.identity.repository import DirectoryQuery
from services.identity.verification import ConfirmationLinks, EmailConfirmation, MergeReview
from shared.events.types import Purpose
from shared.erasure import ErasureKeys
from shared.links import EMAIL_CONFIRMATION_LINKS, DerivedLinks
from shared.testing.fakes import InMemoryErasedPeople
from shared.testing.parked import InMemoryWaitingEvents

ERASURE_KEYS = ErasureKeys("unit-test-erasure-hash-key-of-32-chars")
CONFIRMATION_LINKS = ConfirmationLinks(DerivedLinks(EMAIL_CONFIRMATION_LINKS, "unit-test-confirmation-secret-of-32-chars"), timedelta(days=7))


def dependencies(alumni: "InMemoryAlumni", new_alumnus_id=None, waiting: InMemoryWaitingEvents | None = None) -> Dependencies:
    ids, reviews = count(1), count(1)
    return Dependencies(
        alumni=alumni, alumni_in_bulk=alumni, erased=alumni.erased_stints, erasure_keys=ERASURE_KEYS, waiting=waiting or InMemoryWaitingEvents(),
        confirmations=alumni.confirmations_in, reviews=alumni.reviews_in, confirmation_links=CONFIRMATION_LINKS,
        pages=ConfirmationPages(), new_alumnus_id=new_alumnus_id or (lambda: f"alm_{next(ids)}"),
        new_review_id=lambda: f"rev_{next(reviews)}",
    )


class InMemoryAlumni:
    def __init__(self) -> None:
        self.alumni: dict[str, Alumnus] = {}
        self.ledger: list[tuple[str, ConsentRecord]] = []
        self.erased: dict[str, datetime] = {}
        self.erased_people = InMemoryErasedPeople()
        self.confirmations: dict[str, EmailConfirmation] = {}
        self.reviews: dict[str, MergeReview] = {}

    def __call__(self, uow: object) -> "InMemoryAlumni":
        return self  # the same store in every unit of work, as the database is

    def erased_stints(self, uow: object) -> InMemoryErasedPeople:
        return self.erased_people  # looked up each time: a rollback puts back another object

    async def get(self, alumnus_id: str) -> Alumnus | None:
        return self.alumni.get(alumnus_id)

    async def by_employee_id(self, employee_id: str) -> Alumnus | None:
        return next((a for a in self.alumni.values() if any(s.employee_id == employee_id for s in a.stints)), None)

    def confirmations_in(self, uow: object) -> "InMemoryConfirmations":
        return InMemoryConfirmations(self)

    def reviews_in(self, uow: object) -> "InMemoryReviews":
        return InMemoryReviews(self)

    async def by_email(self, email: str) -> Alumnus | None:
        found = sorted((a for a in self.alumni.values() if a.profile.personal_email == email), key=lambda a: (not a.personal_email_verified, a.alumnus_id))
        return found[0] if found else None

    async def save(self, alumnus: Alumnus) -> None:
        self.ledger += [(alumnus.alumnus_id, r) for r in alumnus.ledger]
        alumnus.ledger.clear()
        self.alumni[alumnus.alumnus_id] = alumnus

    async def add(self, alumnus: Alumnus) -> None:
        assert alumnus.alumnus_id not in self.alumni, "a duplicate key"
        await self.save(alumnus)

    # Many at a time (services/identity/bulk_repository.py); copies, as a database answers.
    async def by_employee_ids(self, employee_ids) -> dict[str, Alumnus]:
        wanted = set(employee_ids)
        return {s.employee_id: copy.deepcopy(a) for a in self.alumni.values() for s in a.stints if s.employee_id in wanted}

    async def by_emails(self, emails) -> dict[str, Alumnus]:
        return {e: copy.deepcopy(a) for e in set(emails) if (a := await self.by_email(e))}

    async def add_many(self, alumni) -> None:
        for alumnus in alumni:
            assert alumnus.alumnus_id not in self.alumni, "a duplicate key"
            await self.save(alumnus)

    async def save_many(self, alumni) -> None:
        for alumnus in alumni:
            await self.save(alumnus)

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


class InMemoryConfirmations:
    def __init__(self, store: InMemoryAlumni) -> None:
        self.store = store

    async def get(self, digest: str) -> EmailConfirmation | None:
        return self.store.confirmations.get(digest)

    async def save(self, confirmation: EmailConfirmation) -> None:
        self.store.confirmations[confirmation.digest] = confirmation

    async def forget(self, alumnus_id: str) -> None:
        self.store.confirmations = {k: c for k, c in self.store.confirmations.items() if c.alumnus_id != alumnus_id}


class InMemoryReviews:
    def __init__(self, store: InMemoryAlumni) -> None:
        self.store = store

    async def get(self, review_id: str) -> MergeReview | None:
        return self.store.reviews.get(review_id)

    async def open_for(self, employee_id: str) -> MergeReview | None:
        return next((r for r in self.store.reviews.values() if r.employee_id == employee_id and r.is_open), None)

    async def listed(self, open_only: bool, limit: int) -> list[MergeReview]:
        return [r for r in self.store.reviews.values() if r.is_open or not open_only][:limit]

    async def save(self, review: MergeReview) -> None:
        self.store.reviews[review.review_id] = review
