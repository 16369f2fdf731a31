"""The referrals' clock-driven work, each round (every `REFERRALS_SCHEDULER_INTERVAL_SECONDS`,
by the service's clock, which follows `CLOCK_FILE` in tests):

- bonus milestones whose day came become `pending_approval`;
- referrals with no movement for the validity window expire (and free their claim);
- a final referral's candidate or contact data is deleted `CANDIDATE_RETENTION_DAYS` after it
  closed, unless hired.

Safe with several replicas: each item is read again and changed in a transaction of its own,
and a bonus is written only if it is still scheduled; two replicas on one item conflict, and
the one that retries finds nothing left to do.
"""

import logging
from datetime import datetime

from services.referrals.bonuses import SCHEDULED
from services.referrals.dependencies import Dependencies
from services.referrals.progress import moved
from services.referrals.repository import add_missing_hire_keys
from shared.messaging.uow import Transactions, UnitOfWork
from shared.service import ServiceRuntime

log = logging.getLogger(__name__)


async def run_once(transactions: Transactions, deps: Dependencies, now: datetime) -> dict[str, int]:
    """One round; how many milestones fell due, referrals expired, candidates' data deleted."""

    async def find(uow: UnitOfWork) -> tuple[list[str], list[str], list[str]]:
        referrals = deps.referrals(uow)
        return (await deps.bonuses(uow).due(now.date()), await referrals.idle(now - deps.validity),
                await referrals.data_due(now - deps.retention))

    due, idle, retained = await transactions.run(find)
    done = {"milestones_due": 0, "expired": 0, "data_deleted": 0}
    for bonus_id in due:
        async def fall_due(uow: UnitOfWork, bonus_id: str = bonus_id) -> bool:
            bonuses = deps.bonuses(uow)
            bonus = await bonuses.get(bonus_id)
            return bonus is not None and bonus.fall_due(uow.now().date()) and await bonuses.save(bonus, was=SCHEDULED)
        done["milestones_due"] += await transactions.run(fall_due)
    for referral_id in idle:
        async def expire(uow: UnitOfWork, referral_id: str = referral_id) -> bool:
            referral = await deps.referrals(uow).get(referral_id)
            if referral is None:
                return False
            before = referral.status
            changed = referral.expire_if_idle(uow.now(), deps.validity)  # None too for an erased referrer's
            if referral.status == before:
                return False
            await moved(deps, uow, referral, changed)
            return True
        done["expired"] += await transactions.run(expire)
    for referral_id in retained:
        async def forget(uow: UnitOfWork, referral_id: str = referral_id) -> bool:
            referrals = deps.referrals(uow)
            referral = await referrals.get(referral_id)
            if referral is None or not referral.personal_data_due(uow.now(), deps.retention):
                return False
            referral.delete_personal_data(uow.now())
            await referrals.save(referral)
            await referrals.release(referral_id)
            return True
        done["data_deleted"] += await transactions.run(forget)
    if any(done.values()):
        log.info("referrals scheduler round", extra=done)
    return done


async def scheduled_round(runtime: ServiceRuntime, deps: Dependencies) -> None:
    await run_once(runtime.transactions, deps, runtime.clock())
    if added := await add_missing_hire_keys(runtime.transactions.db):
        log.info("hire keys added to hired referrals", extra={"referrals": added})
