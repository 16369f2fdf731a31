"""The identity service's collections: alumni, the consent ledger, and erasure tombstones,
behind `AlumniRepository`; the links confirming personal emails (`EmailConfirmations`) and the
merges HR reviews (`MergeReviews`).

An alumnus document keeps a `search` part, derived on save, that the directory queries:
lower-cased skills and city, departure years, whether the alumnus consented to be listed.
"""

from datetime import date, datetime
from typing import Any, Protocol

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from services.identity import directory, directory_members, directory_search
from services.identity.directory import DirectoryQuery
from services.identity.domain import Alumnus, Consent, ConsentRecord
from services.identity.verification import Decision, EmailConfirmation, MergeReview
from shared.events.alumni import AlumnusProfile, Stint
from shared.events.offboarding import OffboardingCompleted
from shared.events.types import Purpose
from shared.erasure import MongoErasedPeople
from shared.messaging.uow import UnitOfWork

ALUMNI = "alumni"
LEDGER = "consent_ledger"
ERASED = "erased_alumni"
ERASED_PEOPLE = "erased_people"  # keyed hashes of erased alumni's stints (shared/erasure.py)
CONFIRMATIONS = "email_confirmations"
REVIEWS = "merge_reviews"
COLLECTIONS = (ALUMNI, LEDGER, ERASED, ERASED_PEOPLE, CONFIRMATIONS, REVIEWS, directory.FACETS, directory_search.ENTRIES, directory_members.MEMBERS,
               directory_members.CHANGES)
# A confirmation link is kept this long after it expires (410, not 404), then deleted.
CONFIRMATION_KEPT_AFTER_EXPIRY_SECONDS = 30 * 86400


async def ensure_indexes(db: AsyncDatabase) -> None:
    await db[ALUMNI].create_index("stints.employee_id")
    await db[ALUMNI].create_index("profile.personal_email")
    # The alumni's own directory indexes (before the entries) are left where they are: identity
    # instances still on an earlier version read through them during a rollout (README).
    await directory_search.ensure_indexes(db)
    await db[LEDGER].create_index([("alumnus_id", ASCENDING), ("changed_at", ASCENDING)])
    await db[CONFIRMATIONS].create_index("alumnus_id")
    await db[CONFIRMATIONS].create_index("expires_at", expireAfterSeconds=CONFIRMATION_KEPT_AFTER_EXPIRY_SECONDS)
    await db[REVIEWS].create_index([("employee_id", ASCENDING), ("decision", ASCENDING)])


def alumnus_document(a: Alumnus) -> dict[str, Any]:
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


def alumnus_from_document(doc: dict[str, Any]) -> Alumnus:
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


class AlumniRepository(Protocol):
    async def get(self, alumnus_id: str) -> Alumnus | None: ...
    async def by_employee_id(self, employee_id: str) -> Alumnus | None: ...
    async def by_email(self, email: str) -> Alumnus | None: ...
    async def save(self, alumnus: Alumnus) -> None: ...
    async def add(self, alumnus: Alumnus) -> None:
        """A new alumnus (a fresh id): written with the unit of work's last writes, not read back."""
    async def consent_history(self, alumnus_id: str) -> list[ConsentRecord]: ...
    async def was_erased(self, alumnus_id: str) -> bool: ...
    async def erase(self, alumnus_id: str, at: datetime) -> None: ...
    async def directory(self, query: "DirectoryQuery") -> tuple[int, list[Alumnus]]: ...


class MongoAlumni:
    """`AlumniRepository` in MongoDB, within a unit of work's transaction."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.db = uow.db
        self.session = uow.session

    async def get(self, alumnus_id: str) -> Alumnus | None:
        doc = await self.db[ALUMNI].find_one({"_id": alumnus_id}, session=self.session)
        return alumnus_from_document(doc) if doc else None

    async def by_employee_id(self, employee_id: str) -> Alumnus | None:
        doc = await self.db[ALUMNI].find_one({"stints.employee_id": employee_id}, session=self.session)
        return alumnus_from_document(doc) if doc else None

    async def by_email(self, email: str) -> Alumnus | None:
        """A record with this personal email, a verified one first."""
        doc = await self.db[ALUMNI].find_one(
            {"profile.personal_email": email}, sort=[("personal_email_verified", -1), ("_id", ASCENDING)], session=self.session
        )
        return alumnus_from_document(doc) if doc else None

    async def save(self, alumnus: Alumnus) -> None:
        doc = alumnus_document(alumnus)
        before = await self.db[ALUMNI].find_one_and_replace(
            {"_id": alumnus.alumnus_id}, doc, projection=directory.COUNTED, upsert=True, session=self.session
        )
        await directory_search.keep_in_step(self.uow, before, doc)
        self._ledger_last(alumnus)

    async def add(self, alumnus: Alumnus) -> None:
        doc = alumnus_document(alumnus)
        self.uow.insert_last(ALUMNI, doc)  # nothing before it to count out of the directory
        directory_search.keep_later(self.uow, None, doc)
        self._ledger_last(alumnus)

    def _ledger_last(self, alumnus: Alumnus) -> None:
        for r in alumnus.ledger:
            self.uow.insert_last(LEDGER, {"alumnus_id": alumnus.alumnus_id, "purpose": r.purpose.value, "granted": r.granted,
                                          "changed_at": r.changed_at, "source": r.source})
        alumnus.ledger.clear()

    async def consent_history(self, alumnus_id: str) -> list[ConsentRecord]:
        cursor = self.db[LEDGER].find({"alumnus_id": alumnus_id}, sort=[("changed_at", ASCENDING), ("_id", ASCENDING)], session=self.session)
        return [ConsentRecord(Purpose(d["purpose"]), d["granted"], d["changed_at"], d["source"]) async for d in cursor]

    async def was_erased(self, alumnus_id: str) -> bool:
        return await self.db[ERASED].find_one({"_id": alumnus_id}, session=self.session) is not None

    async def erase(self, alumnus_id: str, at: datetime) -> None:
        """Delete the record and its ledger; keep only that this id was erased, and when."""
        before = await self.db[ALUMNI].find_one_and_delete({"_id": alumnus_id}, projection=directory.COUNTED, session=self.session)
        await directory_search.keep_in_step(self.uow, before, None)
        await self.db[LEDGER].delete_many({"alumnus_id": alumnus_id}, session=self.session)
        await self.db[ERASED].insert_one({"_id": alumnus_id, "erased_at": at}, session=self.session)

    async def directory(self, query: DirectoryQuery) -> tuple[int, list[Alumnus]]:
        total, docs = await directory_search.page(self.db[ALUMNI], query, self.session)
        return total, [alumnus_from_document(d) for d in docs]


def mongo_erased_people(uow: UnitOfWork) -> MongoErasedPeople:
    return MongoErasedPeople(uow, ERASED_PEOPLE)


class EmailConfirmations(Protocol):
    async def get(self, digest: str) -> EmailConfirmation | None: ...
    async def save(self, confirmation: EmailConfirmation) -> None: ...
    async def forget(self, alumnus_id: str) -> None: ...


class MongoEmailConfirmations:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.collection, self.session = uow.db[CONFIRMATIONS], uow.session

    async def get(self, digest: str) -> EmailConfirmation | None:
        doc = await self.collection.find_one({"_id": digest}, session=self.session)
        if doc is None:
            return None
        return EmailConfirmation(doc["_id"], doc["link_id"], doc["alumnus_id"], doc["address_digest"], doc["requested_at"], doc["expires_at"], doc.get("used_at"))

    async def save(self, c: EmailConfirmation) -> None:
        doc = {"link_id": c.link_id, "alumnus_id": c.alumnus_id, "address_digest": c.address_digest,
               "requested_at": c.requested_at, "expires_at": c.expires_at, "used_at": c.used_at}
        self.uow.replace_last(CONFIRMATIONS, {"_id": c.digest}, doc, upsert=True)

    async def forget(self, alumnus_id: str) -> None:
        await self.collection.delete_many({"alumnus_id": alumnus_id}, session=self.session)


class MergeReviews(Protocol):
    async def get(self, review_id: str) -> MergeReview | None: ...
    async def open_for(self, employee_id: str) -> MergeReview | None: ...
    async def listed(self, open_only: bool, limit: int) -> list[MergeReview]: ...
    async def save(self, review: MergeReview) -> None: ...


class MongoMergeReviews:
    def __init__(self, uow: UnitOfWork) -> None:
        self.collection, self.session = uow.db[REVIEWS], uow.session

    async def get(self, review_id: str) -> MergeReview | None:
        return _review(await self.collection.find_one({"_id": review_id}, session=self.session))

    async def open_for(self, employee_id: str) -> MergeReview | None:
        return _review(await self.collection.find_one({"employee_id": employee_id, "decision": None}, session=self.session))

    async def listed(self, open_only: bool, limit: int) -> list[MergeReview]:
        cursor = self.collection.find({"decision": None} if open_only else {}, sort=[("opened_at", ASCENDING)], limit=limit, session=self.session)
        return [r async for d in cursor if (r := _review(d))]

    async def save(self, r: MergeReview) -> None:
        doc = {
            "employee_id": r.employee_id, "hire_date": r.hire_date.isoformat(), "alumnus_id": r.alumnus_id, "opened_at": r.opened_at,
            "completed": r.completed.model_dump(mode="json") if r.completed else None,
            "decision": r.decision.value if r.decision else None, "resolved_by": r.resolved_by, "resolved_at": r.resolved_at,
            "import_id": r.import_id,
        }
        await self.collection.replace_one({"_id": r.review_id}, doc, upsert=True, session=self.session)


def _review(doc: dict[str, Any] | None) -> MergeReview | None:
    if doc is None:
        return None
    return MergeReview(
        doc["_id"], doc["employee_id"], date.fromisoformat(doc["hire_date"]), doc["alumnus_id"], doc["opened_at"],
        OffboardingCompleted.model_validate(doc["completed"]) if doc.get("completed") else None,
        Decision(doc["decision"]) if doc.get("decision") else None, doc.get("resolved_by"), doc.get("resolved_at"),
        doc.get("import_id"),
    )
