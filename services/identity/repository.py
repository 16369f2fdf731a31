"""The identity service's collections: alumni, the consent ledger, and erasure tombstones,
behind `AlumniRepository`.

An alumnus document keeps a `search` part, derived on save, that the directory queries:
lower-cased skills and city, departure years, whether the alumnus consented to be listed.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from services.identity.domain import Alumnus, Consent, ConsentRecord
from shared.events.alumni import AlumnusProfile, Stint
from shared.events.types import Purpose
from shared.erasure import MongoErasedPeople
from shared.messaging.uow import UnitOfWork

ALUMNI = "alumni"
LEDGER = "consent_ledger"
ERASED = "erased_alumni"
ERASED_PEOPLE = "erased_people"  # keyed hashes of erased alumni's stints (shared/erasure.py)
COLLECTIONS = (ALUMNI, LEDGER, ERASED, ERASED_PEOPLE)


async def ensure_indexes(db: AsyncDatabase) -> None:
    await db[ALUMNI].create_index("stints.employee_id")
    await db[ALUMNI].create_index("profile.personal_email")
    await db[ALUMNI].create_index([("search.listed", ASCENDING), ("search.name", ASCENDING)])
    await db[LEDGER].create_index([("alumnus_id", ASCENDING), ("changed_at", ASCENDING)])


def _to_document(a: Alumnus) -> dict[str, Any]:
    return {
        "_id": a.alumnus_id,
        "profile": a.profile.model_dump(mode="json"),
        "stints": [s.model_dump(mode="json") for s in a.stints],
        "consents": {p.value: {"granted": c.granted, "changed_at": c.changed_at, "source": c.source} for p, c in a.consents.items()},
        "personal_email_verified": a.personal_email_verified,
        "version": a.version,
        "registered_at": a.registered_at,
        "updated_at": a.updated_at,
        "search": {
            "listed": a.consents_to(Purpose.DIRECTORY),
            "name": f"{a.profile.last_name} {a.profile.first_name}".lower(),
            "skills": sorted({s.lower() for s in a.profile.skills}),
            "department": (a.profile.department or "").lower(),
            "city": (a.profile.city or "").lower(),
            "departure_years": sorted({s.departure_date.year for s in a.stints}),
        },
    }


def _from_document(doc: dict[str, Any]) -> Alumnus:
    return Alumnus(
        alumnus_id=doc["_id"],
        profile=AlumnusProfile.model_validate(doc["profile"]),
        stints=[Stint.model_validate(s) for s in doc["stints"]],
        consents={Purpose(p): Consent(c["granted"], c["changed_at"], c["source"]) for p, c in doc["consents"].items()},
        personal_email_verified=doc["personal_email_verified"],
        version=doc["version"],
        registered_at=doc.get("registered_at"),
        updated_at=doc.get("updated_at"),
    )


@dataclass(frozen=True)
class DirectoryQuery:
    skill: str | None = None
    department: str | None = None
    country: str | None = None
    city: str | None = None
    departure_year: int | None = None
    willing_to: str | None = None
    page: int = 1
    page_size: int = 20

    def filter(self) -> dict[str, Any]:
        query: dict[str, Any] = {"search.listed": True}
        if self.skill:
            query["search.skills"] = self.skill.strip().lower()
        if self.department:
            query["search.department"] = self.department.strip().lower()
        if self.country:
            query["profile.country"] = self.country.strip().upper()
        if self.city:
            query["search.city"] = self.city.strip().lower()
        if self.departure_year:
            query["search.departure_years"] = self.departure_year
        if self.willing_to:
            query["profile.willing_to"] = self.willing_to
        return query


class AlumniRepository(Protocol):
    async def get(self, alumnus_id: str) -> Alumnus | None: ...
    async def by_employee_id(self, employee_id: str) -> Alumnus | None: ...
    async def by_verified_email(self, email: str) -> Alumnus | None: ...
    async def save(self, alumnus: Alumnus) -> None: ...
    async def consent_history(self, alumnus_id: str) -> list[ConsentRecord]: ...
    async def was_erased(self, alumnus_id: str) -> bool: ...
    async def erase(self, alumnus_id: str, at: datetime) -> None: ...
    async def directory(self, query: "DirectoryQuery") -> tuple[int, list[Alumnus]]: ...


class MongoAlumni:
    """`AlumniRepository` in MongoDB, within a unit of work's transaction."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.db = uow.db
        self.session = uow.session

    async def get(self, alumnus_id: str) -> Alumnus | None:
        doc = await self.db[ALUMNI].find_one({"_id": alumnus_id}, session=self.session)
        return _from_document(doc) if doc else None

    async def by_employee_id(self, employee_id: str) -> Alumnus | None:
        doc = await self.db[ALUMNI].find_one({"stints.employee_id": employee_id}, session=self.session)
        return _from_document(doc) if doc else None

    async def by_verified_email(self, email: str) -> Alumnus | None:
        doc = await self.db[ALUMNI].find_one(
            {"profile.personal_email": email, "personal_email_verified": True}, session=self.session
        )
        return _from_document(doc) if doc else None

    async def save(self, alumnus: Alumnus) -> None:
        await self.db[ALUMNI].replace_one({"_id": alumnus.alumnus_id}, _to_document(alumnus), upsert=True, session=self.session)
        if alumnus.ledger:
            await self.db[LEDGER].insert_many(
                [
                    {"alumnus_id": alumnus.alumnus_id, "purpose": r.purpose.value, "granted": r.granted, "changed_at": r.changed_at, "source": r.source}
                    for r in alumnus.ledger
                ],
                session=self.session,
            )
            alumnus.ledger.clear()

    async def consent_history(self, alumnus_id: str) -> list[ConsentRecord]:
        cursor = self.db[LEDGER].find({"alumnus_id": alumnus_id}, sort=[("changed_at", ASCENDING), ("_id", ASCENDING)], session=self.session)
        return [ConsentRecord(Purpose(d["purpose"]), d["granted"], d["changed_at"], d["source"]) async for d in cursor]

    async def was_erased(self, alumnus_id: str) -> bool:
        return await self.db[ERASED].find_one({"_id": alumnus_id}, session=self.session) is not None

    async def erase(self, alumnus_id: str, at: datetime) -> None:
        """Delete the record and its ledger; keep only that this id was erased, and when."""
        await self.db[ALUMNI].delete_one({"_id": alumnus_id}, session=self.session)
        await self.db[LEDGER].delete_many({"alumnus_id": alumnus_id}, session=self.session)
        await self.db[ERASED].insert_one({"_id": alumnus_id, "erased_at": at}, session=self.session)

    async def directory(self, query: DirectoryQuery) -> tuple[int, list[Alumnus]]:
        selector = query.filter()
        total = await self.db[ALUMNI].count_documents(selector, session=self.session)
        cursor = self.db[ALUMNI].find(
            selector,
            sort=[("search.name", ASCENDING), ("_id", ASCENDING)],
            skip=(query.page - 1) * query.page_size,
            limit=query.page_size,
            session=self.session,
        )
        return total, [_from_document(d) async for d in cursor]


def mongo_erased_people(uow: UnitOfWork) -> MongoErasedPeople:
    return MongoErasedPeople(uow, ERASED_PEOPLE)
