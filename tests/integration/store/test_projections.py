"""Projections written outside a transaction, on the real database: referrals' referrers by one
conditional upsert (newer only, never over a tombstone), engagement's known alumni over the
document as read (a write in between is found, the change applied again on it); through
`Transactions.outside`, with no marker and nothing in the outbox."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from devstack.stack import LocalStack
from services.engagement.audience import KnownAlumnus
from services.engagement.known_alumni import MongoKnownAlumni
from services.engagement.repository import KNOWN_ALUMNI
from services.referrals.domain import Referrer
from services.referrals.referrers import MongoReferrers
from services.referrals.repository import REFERRERS
from shared.clock import system_clock
from shared.events import Envelope
from shared.events.types import Purpose
from shared.messaging.failures import Superseded
from shared.messaging.outbox import Outbox
from shared.messaging.uow import PROCESSED, Transactions, UnitOfWork
from tests.integration.platform.orders_app import OrderShipped

ERASED_AT = datetime(2026, 11, 1, tzinfo=UTC)
ENVELOPE = Envelope(type="com.alumni.test.v1", source="/tests", id="the-event")


class NoRelay:
    def wake(self, committed: list[dict] = ()) -> None:
        raise AssertionError("nothing is published outside a transaction")


@pytest.fixture
async def transactions(stack: LocalStack) -> AsyncIterator[Transactions]:
    client = AsyncMongoClient(stack.cfg.mongodb_uri, tz_aware=True)
    db = client[f"projections_{uuid.uuid4().hex[:8]}"]
    yield Transactions(client, db, Outbox(db, source="/tests"), NoRelay(), system_clock, bulk_write=True)
    await client.drop_database(db.name)
    await client.close()


def referrer(version: int, email: str | None = "ada@example.org") -> Referrer:
    return Referrer("alm_1", version, email)


async def test_a_referrer_is_projected_only_when_newer_and_never_over_a_tombstone(transactions: Transactions) -> None:
    async def project(r: Referrer) -> bool:
        return await transactions.outside(lambda uow: MongoReferrers(uow).project(r), envelope=ENVELOPE)

    db = transactions.db
    assert await project(referrer(2)) is True  # not known yet: inserted
    assert await project(referrer(2, "again@example.org")) is False  # a repeat
    assert await project(referrer(1, "older@example.org")) is False  # a late, older change
    assert await db[REFERRERS].find_one({"_id": "alm_1"}, {"_id": 0}) == {"version": 2, "email": "ada@example.org"}
    assert await project(referrer(3, "new@example.org")) is True
    assert (await db[REFERRERS].find_one({"_id": "alm_1"}))["email"] == "new@example.org"

    await db[REFERRERS].replace_one({"_id": "alm_1"}, {"erased_at": ERASED_AT, "version": 4})  # erased
    assert await project(referrer(5, "back@example.org")) is False  # a replayed or late change brings no one back
    assert await db[REFERRERS].find_one({"_id": "alm_1"}, {"_id": 0}) == {"erased_at": ERASED_AT, "version": 4}
    assert await db[PROCESSED].count_documents({}) == 0 and await db["outbox"].count_documents({}) == 0


def consenting(alumnus: KnownAlumnus | None, purpose: Purpose, version: int) -> KnownAlumnus:
    alumnus = alumnus or KnownAlumnus("alm_1")
    alumnus.set_consent(purpose, True, version)
    return alumnus


async def test_a_known_alumnus_written_since_it_was_read_is_superseded_and_applied_again_on_what_is_there(
    transactions: Transactions,
) -> None:
    db = transactions.db
    first, second = MongoKnownAlumni(SimpleNamespace(db=db, session=None)), MongoKnownAlumni(SimpleNamespace(db=db, session=None))
    read_first, read_second = await first.get("alm_1"), await second.get("alm_1")  # both find nothing
    await second.save_if_unchanged(consenting(read_second, Purpose.EVENTS, 3))
    with pytest.raises(Superseded):  # the same document, inserted in between
        await first.save_if_unchanged(consenting(read_first, Purpose.NEWSLETTER, 2))

    read_first, read_second = await first.get("alm_1"), await second.get("alm_1")
    await second.save_if_unchanged(consenting(read_second, Purpose.DIRECTORY, 4))
    with pytest.raises(Superseded):  # replaced in between
        await first.save_if_unchanged(consenting(read_first, Purpose.NEWSLETTER, 2))

    attempts = 0

    async def newsletter(uow: UnitOfWork) -> None:
        nonlocal attempts
        attempts += 1
        alumni = MongoKnownAlumni(uow)
        alumnus = consenting(await alumni.get("alm_1"), Purpose.NEWSLETTER, 2)
        if attempts == 1:  # another topic's change lands between this read and this write
            other = MongoKnownAlumni(uow)
            await other.get("alm_1")
            await other.save_if_unchanged(consenting(await other.get("alm_1"), Purpose.JOB_OPPORTUNITIES, 5))
        await alumni.save_if_unchanged(alumnus)

    await transactions.outside(newsletter, envelope=ENVELOPE)
    assert attempts == 2
    doc = await db[KNOWN_ALUMNI].find_one({"_id": "alm_1"})
    assert doc["consents"] == {"events": True, "directory": True, "job_opportunities": True, "newsletter": True}  # no change lost
    assert await db[PROCESSED].count_documents({}) == 0


async def test_concurrent_changes_of_one_alumnus_outside_transactions_all_land(transactions: Transactions) -> None:
    purposes = list(Purpose)

    def change(purpose: Purpose, version: int):
        async def work(uow: UnitOfWork) -> None:
            alumni = MongoKnownAlumni(uow)
            alumnus = consenting(await alumni.get("alm_1"), purpose, version)
            await asyncio.sleep(0)  # let the others read the same document
            await alumni.save_if_unchanged(alumnus)
        return work

    await asyncio.gather(*(transactions.outside(change(p, i + 1), envelope=ENVELOPE, attempts=len(purposes) + 1)
                           for i, p in enumerate(purposes)))
    doc = await transactions.db[KNOWN_ALUMNI].find_one({"_id": "alm_1"})
    assert doc["consents"] == {p.value: True for p in purposes}
    assert doc["consent_versions"] == {p.value: i + 1 for i, p in enumerate(purposes)}


async def test_a_handler_outside_a_transaction_may_not_publish(transactions: Transactions) -> None:
    async def publishing(uow: UnitOfWork) -> None:
        uow.publish(OrderShipped(order_id="o-1"), subject="o-1")

    with pytest.raises(RuntimeError, match="outside a transaction"):
        await transactions.outside(publishing, envelope=ENVELOPE)
    assert await transactions.db["outbox"].count_documents({}) == 0


async def test_a_first_registration_is_one_insert_and_never_lands_on_a_tombstone(transactions: Transactions) -> None:
    db = transactions.db
    alumni = MongoKnownAlumni(SimpleNamespace(db=db, session=None))
    assert await alumni.add_if_absent(consenting(None, Purpose.EVENTS, 1)) is True
    assert await alumni.add_if_absent(consenting(None, Purpose.NEWSLETTER, 2)) is False  # known: left to the read and write
    await db[KNOWN_ALUMNI].insert_one({"_id": "alm_2", "erased_at": ERASED_AT})
    assert await alumni.add_if_absent(KnownAlumnus("alm_2", country="FR")) is False
    assert await db[KNOWN_ALUMNI].find_one({"_id": "alm_2"}, {"_id": 0}) == {"erased_at": ERASED_AT}
    assert (await db[KNOWN_ALUMNI].find_one({"_id": "alm_1"}))["consents"] == {"events": True}


async def test_a_known_alumnus_written_before_the_token_existed_is_changed_over_what_was_read(transactions: Transactions) -> None:
    db = transactions.db
    await db[KNOWN_ALUMNI].insert_one({"_id": "alm_1", "alumnus_id": "alm_1", "consents": {"events": True}, "consent_versions": {"events": 1}})
    alumni = MongoKnownAlumni(SimpleNamespace(db=db, session=None))
    await alumni.save_if_unchanged(consenting(await alumni.get("alm_1"), Purpose.NEWSLETTER, 2))
    doc = await db[KNOWN_ALUMNI].find_one({"_id": "alm_1"})
    assert doc["consents"] == {"events": True, "newsletter": True} and doc["w"] is not None
