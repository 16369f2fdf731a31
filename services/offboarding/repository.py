"""The offboarding service's collections: exit cases, exit-form invitations, and the markers of
the HRIS webhook requests already received (so that a replay is refused), each behind a
protocol with its MongoDB implementation over a unit of work.

Dates are stored as ISO strings (`YYYY-MM-DD`), which sort and compare as dates do.
"""

from datetime import UTC, date, datetime
from typing import Any, Protocol

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.offboarding.domain import CaseStatus, ExitCase, ExitInvitation
from services.offboarding.eligibility import Decision
from services.offboarding.imports.repository import IMPORT_BATCHES
from services.offboarding.intake.signatures import Replayed
from shared.events.hris import EmployeeDeparted
from shared.events.offboarding import ExitProfile
from shared.erasure import MongoErasedPeople
from shared.lookups import find_many
from shared.messaging.uow import UnitOfWork

CASES = "exit_cases"
INVITATIONS = "exit_invitations"
WEBHOOK_REQUESTS = "webhook_requests"
ERASED_PEOPLE = "erased_people"  # keyed hashes of erased employees' ids (shared/erasure.py)
COLLECTIONS = (CASES, INVITATIONS, WEBHOOK_REQUESTS, ERASED_PEOPLE, IMPORT_BATCHES)


async def ensure_indexes(db: AsyncDatabase, *, webhook_tolerance_seconds: int) -> None:
    await db[CASES].create_index([("status", ASCENDING), ("departure_date", ASCENDING)])
    await db[CASES].create_index([("employee_id", ASCENDING), ("hire_date", DESCENDING)])
    await db[CASES].create_index("closed_at", sparse=True)
    await db[INVITATIONS].create_index("case_id")
    # A request older than twice the tolerance is refused as stale anyway.
    await db[WEBHOOK_REQUESTS].create_index("received_at", expireAfterSeconds=2 * webhook_tolerance_seconds)


class ExitCaseRepository(Protocol):
    async def get(self, case_id: str) -> ExitCase | None: ...
    async def of_employee(self, employee_id: str) -> list[ExitCase]:
        """The cases of every stint of the employee, the most recent first."""
    async def save(self, case: ExitCase) -> None: ...
    async def due(self, today: date, limit: int = 500) -> list[str]:
        """The ids of open cases whose departure date has come, the earliest first."""
    async def case_ids(self, employee_ids: list[str]) -> list[str]: ...
    async def existing(self, case_ids: list[str]) -> set[str]:
        """Those of `case_ids` that are cases (for many at once: an import's batch)."""
    async def closed_before(self, cutoff: datetime, limit: int = 500) -> list[str]:
        """The ids of cases closed at or before `cutoff`, the earliest first."""
    async def forget_closed(self, case_id: str, cutoff: datetime) -> bool:
        """Retention: delete the case if it is still closed at or before `cutoff` (False when
        another process did, or it changed)."""
    async def forget(self, employee_ids: list[str]) -> int:
        """Erasure: delete the cases (and so the personal data) of these employee ids."""
    async def held(self, employee_ids: list[str]) -> list[dict[str, Any]]:
        """The cases of these employee ids as stored (a GDPR access export)."""


class InvitationRepository(Protocol):
    async def add(self, invitation: ExitInvitation) -> None: ...
    async def get(self, digest: str) -> ExitInvitation | None: ...
    async def save(self, invitation: ExitInvitation) -> None: ...
    async def forget_cases(self, case_ids: list[str]) -> None: ...
    async def held(self, case_ids: list[str]) -> list[dict[str, Any]]:
        """The links of these cases (when they expire, whether used), never their digests."""


class WebhookRequestRepository(Protocol):
    async def seen(self, marker: str) -> bool: ...
    async def remember(self, marker: str) -> None:
        """Raises `Replayed` when the marker is known (within the tolerance's window)."""


def case_document(case: ExitCase) -> dict[str, Any]:
    return {
        "_id": case.case_id,
        "employee_id": case.employee_id,
        "hire_date": case.departure.hire_date.isoformat(),
        "departure_date": case.departure.departure_date.isoformat(),
        "status": case.status.value,
        "departure": case.departure.model_dump(mode="json"),
        "decision": {"eligible": case.decision.eligible, "reason": case.decision.reason},
        "answers": case.answers.model_dump(mode="json") if case.answers else None,
        "opened_at": case.opened_at,
        "completed_at": case.completed_at,
        "closed_at": case.closed_at,
        "cancelled_at": case.cancelled_at,
        "cancellation_reason": case.cancellation_reason,
        "cancelled_after_completion": case.cancelled_after_completion,
        "resends": case.resends,
    }


def _from_document(doc: dict[str, Any]) -> ExitCase:
    return ExitCase(
        case_id=doc["_id"],
        departure=EmployeeDeparted.model_validate(doc["departure"]),
        decision=Decision(doc["decision"]["eligible"], doc["decision"]["reason"]),
        status=CaseStatus(doc["status"]),
        answers=ExitProfile.model_validate(doc["answers"]) if doc.get("answers") else None,
        opened_at=doc.get("opened_at"),
        completed_at=doc.get("completed_at"),
        cancelled_at=doc.get("cancelled_at"),
        cancellation_reason=doc.get("cancellation_reason"),
        cancelled_after_completion=doc.get("cancelled_after_completion", False),
        resends=doc.get("resends", 0),
    )


class MongoExitCases:
    """`ExitCaseRepository` in MongoDB, within a unit of work's transaction."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.collection = uow.db[CASES]
        self.session = uow.session

    async def get(self, case_id: str) -> ExitCase | None:
        doc = await self.collection.find_one({"_id": case_id}, session=self.session)
        return _from_document(doc) if doc else None

    async def of_employee(self, employee_id: str) -> list[ExitCase]:
        cursor = self.collection.find({"employee_id": employee_id}, sort=[("hire_date", DESCENDING)], session=self.session)
        return [_from_document(doc) async for doc in cursor]

    async def save(self, case: ExitCase) -> None:
        self.uow.replace_last(CASES, {"_id": case.case_id}, case_document(case), upsert=True)

    async def due(self, today: date, limit: int = 500) -> list[str]:
        cursor = self.collection.find(
            {"status": CaseStatus.OPEN.value, "departure_date": {"$lte": today.isoformat()}},
            {"_id": 1},
            sort=[("departure_date", ASCENDING)],
            limit=limit,
            session=self.session,
        )
        return [doc["_id"] async for doc in cursor]

    async def case_ids(self, employee_ids: list[str]) -> list[str]:
        cursor = self.collection.find({"employee_id": {"$in": employee_ids}}, {"_id": 1}, session=self.session)
        return [doc["_id"] async for doc in cursor]

    async def existing(self, case_ids: list[str]) -> set[str]:
        return {d["_id"] for d in await find_many(self.collection, "_id", case_ids, session=self.session, projection={"_id": 1})}

    async def closed_before(self, cutoff: datetime, limit: int = 500) -> list[str]:
        cursor = self.collection.find(
            {"closed_at": {"$lte": cutoff}}, {"_id": 1}, sort=[("closed_at", ASCENDING)], limit=limit, session=self.session
        )
        return [doc["_id"] async for doc in cursor]

    async def forget_closed(self, case_id: str, cutoff: datetime) -> bool:
        result = await self.collection.delete_one({"_id": case_id, "closed_at": {"$lte": cutoff}}, session=self.session)
        return result.deleted_count == 1

    async def held(self, employee_ids: list[str]) -> list[dict[str, Any]]:
        return await self.collection.find({"employee_id": {"$in": employee_ids}}, session=self.session).to_list()

    async def forget(self, employee_ids: list[str]) -> int:
        result = await self.collection.delete_many({"employee_id": {"$in": employee_ids}}, session=self.session)
        return result.deleted_count


class MongoInvitations:
    """`InvitationRepository` in MongoDB: the token's digest is the key, the token is not kept."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.collection = uow.db[INVITATIONS]
        self.session = uow.session

    async def add(self, invitation: ExitInvitation) -> None:
        self.uow.insert_last(INVITATIONS, {"_id": invitation.digest, "case_id": invitation.case_id, "expires_at": invitation.expires_at, "used_at": None})

    async def get(self, digest: str) -> ExitInvitation | None:
        doc = await self.collection.find_one({"_id": digest}, session=self.session)
        if doc is None:
            return None
        return ExitInvitation(digest=doc["_id"], case_id=doc["case_id"], expires_at=doc["expires_at"], used_at=doc["used_at"])

    async def save(self, invitation: ExitInvitation) -> None:
        await self.collection.update_one({"_id": invitation.digest}, {"$set": {"used_at": invitation.used_at}}, session=self.session)

    async def forget_cases(self, case_ids: list[str]) -> None:
        await self.collection.delete_many({"case_id": {"$in": case_ids}}, session=self.session)

    async def held(self, case_ids: list[str]) -> list[dict[str, Any]]:
        cursor = self.collection.find({"case_id": {"$in": case_ids}}, {"_id": 0}, session=self.session)
        return await cursor.to_list()


class MongoWebhookRequests:
    """`WebhookRequestRepository` in MongoDB: one document per request received, expired by a
    TTL index on the wall-clock time it was received."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.collection = uow.db[WEBHOOK_REQUESTS]
        self.session = uow.session

    async def seen(self, marker: str) -> bool:
        return await self.collection.find_one({"_id": marker}, {"_id": 1}, session=self.session) is not None

    async def remember(self, marker: str) -> None:
        try:
            await self.collection.insert_one({"_id": marker, "received_at": datetime.now(UTC)}, session=self.session)
        except DuplicateKeyError:
            raise Replayed(marker) from None


def mongo_erased_people(uow: UnitOfWork) -> MongoErasedPeople:
    return MongoErasedPeople(uow, ERASED_PEOPLE)
