"""Alumni read and written many at a time, for the chunks of an import (services/identity/
imports.py): a chunk of a thousand leavers is a few queries and two writes, not a thousand of
each."""

from collections.abc import Iterable, Sequence
from typing import Protocol

from pymongo import ReplaceOne

from services.identity import directory, directory_search
from services.identity.domain import Alumnus
from services.identity.repository import ALUMNI, LEDGER, alumnus_document, alumnus_from_document
from shared.lookups import find_many
from shared.messaging.uow import UnitOfWork


class AlumniInBulk(Protocol):
    async def by_employee_ids(self, employee_ids: Iterable[str]) -> dict[str, Alumnus]:
        """The alumni with a stint of these employee ids, by employee id."""
    async def by_emails(self, emails: Iterable[str]) -> dict[str, Alumnus]:
        """For each of these personal emails, the record that has it (a verified one first)."""
    async def add_many(self, alumni: Sequence[Alumnus]) -> None:
        """New alumni."""
    async def save_many(self, alumni: Sequence[Alumnus]) -> None:
        """Alumni read before and changed."""


class MongoAlumniInBulk:
    def __init__(self, uow: UnitOfWork) -> None:
        self.db, self.session = uow.db, uow.session

    async def by_employee_ids(self, employee_ids: Iterable[str]) -> dict[str, Alumnus]:
        wanted = set(employee_ids)
        found: dict[str, Alumnus] = {}
        for doc in await find_many(self.db[ALUMNI], "stints.employee_id", wanted, session=self.session):
            alumnus = alumnus_from_document(doc)
            for stint in alumnus.stints:
                if stint.employee_id in wanted:
                    found.setdefault(stint.employee_id, alumnus)
        return found

    async def by_emails(self, emails: Iterable[str]) -> dict[str, Alumnus]:
        docs = await find_many(self.db[ALUMNI], "profile.personal_email", emails, session=self.session)
        found: dict[str, Alumnus] = {}
        for doc in sorted(docs, key=lambda d: (not d["personal_email_verified"], d["_id"])):
            found.setdefault(doc["profile"]["personal_email"], alumnus_from_document(doc))
        return found

    async def add_many(self, alumni: Sequence[Alumnus]) -> None:
        if alumni:
            docs = [alumnus_document(a) for a in alumni]
            await self.db[ALUMNI].insert_many(docs, session=self.session)
            await directory_search.keep_many(self.db, [(None, d) for d in docs], self.session)
        await self._ledger(alumni)

    async def save_many(self, alumni: Sequence[Alumnus]) -> None:
        if alumni:
            docs = [alumnus_document(a) for a in alumni]
            # As they were, for the directory's counts (a boomerang's new stint adds a departure year).
            before = {d["_id"]: d for d in await find_many(self.db[ALUMNI], "_id", [d["_id"] for d in docs], session=self.session,
                                                           projection=directory.COUNTED)}
            await self.db[ALUMNI].bulk_write([ReplaceOne({"_id": d["_id"]}, d) for d in docs], ordered=False, session=self.session)
            await directory_search.keep_many(self.db, [(before.get(d["_id"]), d) for d in docs], self.session)
        await self._ledger(alumni)

    async def _ledger(self, alumni: Sequence[Alumnus]) -> None:
        lines = [
            {"alumnus_id": a.alumnus_id, "purpose": r.purpose.value, "granted": r.granted, "changed_at": r.changed_at, "source": r.source}
            for a in alumni for r in a.ledger
        ]
        if lines:
            await self.db[LEDGER].insert_many(lines, session=self.session)
        for a in alumni:
            a.ledger.clear()
