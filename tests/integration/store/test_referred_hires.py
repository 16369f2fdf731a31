"""Which leavers were referred hires, on the real database: one read of one indexed field (the
local database reads a whole collection for a query with `$or`), found by the employee id or
the candidate's email, hires recorded before the field existed included."""

from datetime import UTC, datetime
from types import SimpleNamespace

from pymongo.asynchronous.database import AsyncDatabase

from services.referrals.domain import CANDIDATE, HIRED, Referral
from services.referrals.repository import REFERRALS, MongoReferrals, add_missing_hire_keys, ensure_indexes

AT = datetime(2026, 6, 1, tzinfo=UTC)


def referral(n: int, status: str, email: str, employee_id: str | None = None) -> Referral:
    return Referral(f"ref_{n}", CANDIDATE, "alm_1", AT, {"candidate_email": email, "candidate_name": "C"}, status=status,
                    employee_id=employee_id)


async def test_a_leaver_is_found_among_hires_by_employee_id_or_email_from_the_index(db: AsyncDatabase) -> None:
    await ensure_indexes(db, webhook_tolerance_seconds=300)
    referrals = MongoReferrals(SimpleNamespace(db=db, session=None))
    await referrals.save(referral(1, HIRED, "Ada@Example.org", "E-1"))
    await referrals.save(referral(2, HIRED, "grace@example.org"))
    await referrals.save(referral(3, "interviewing", "linus@example.org", "E-3"))  # not hired
    moved_on = referral(5000, HIRED, "moved@example.org", "E-5000")
    await referrals.save(moved_on)
    moved_on.status = "rejected"  # the ATS took the hire back: its keys go with it
    await referrals.save(moved_on)
    for n in range(4, 200):
        await referrals.save(referral(n, "submitted", f"c{n}@example.org"))

    assert [r.referral_id for r in await referrals.hires("E-1", [])] == ["ref_1"]
    assert [r.referral_id for r in await referrals.hires("E-9", ["ADA@example.org"])] == ["ref_1"]
    assert [r.referral_id for r in await referrals.hires(None, ["grace@example.org"])] == ["ref_2"]
    assert await referrals.hires("E-3", ["linus@example.org"]) == []
    assert await referrals.hires("E-404", ["nobody@example.org"]) == []
    assert await referrals.hires("E-5000", ["moved@example.org"]) == []

    plan = await db[REFERRALS].find({"match.hired": {"$in": ["employee:E-1", "email:ada@example.org"]}}).explain()
    assert "COLLSCAN" not in str(plan["queryPlanner"]["winningPlan"])


async def test_hires_recorded_before_their_keys_were_kept_get_them_at_start_up(db: AsyncDatabase) -> None:
    await db[REFERRALS].insert_one({"_id": "ref_old", "kind": CANDIDATE, "alumnus_id": "alm_1", "submitted_at": AT, "status": HIRED,
                                    "details": {"candidate_email": "old@example.org"}, "employee_id": "E-7",
                                    "match": {"email": "old@example.org"}, "history": []})
    await ensure_indexes(db, webhook_tolerance_seconds=300)
    referrals = MongoReferrals(SimpleNamespace(db=db, session=None))
    assert [r.referral_id for r in await referrals.hires("E-7", [])] == ["ref_old"]
    assert [r.referral_id for r in await referrals.hires(None, ["old@example.org"])] == ["ref_old"]


async def test_a_hire_saved_without_its_keys_after_start_up_gets_them_at_the_next_round(db: AsyncDatabase) -> None:
    """An instance of the version before, during a rolling deploy, saves hires without keys."""
    await ensure_indexes(db, webhook_tolerance_seconds=300)
    await db[REFERRALS].insert_one({"_id": "ref_rolling", "kind": CANDIDATE, "alumnus_id": "alm_1", "submitted_at": AT, "status": HIRED,
                                    "details": {"candidate_email": "late@example.org"}, "employee_id": "E-8",
                                    "match": {"email": "late@example.org"}, "history": []})
    referrals = MongoReferrals(SimpleNamespace(db=db, session=None))
    assert await referrals.hires("E-8", []) == []  # until the round
    assert await add_missing_hire_keys(db) == 1
    assert [r.referral_id for r in await referrals.hires("E-8", ["late@example.org"])] == ["ref_rolling"]
    assert await add_missing_hire_keys(db) == 0
