"""Completes future-dated exit cases when their departure date comes, and forgets closed cases
once their retention period has passed."""

import logging
from datetime import date, datetime

from services.offboarding.dependencies import Dependencies
from shared.messaging.uow import Transactions, UnitOfWork
from shared.service import ServiceRuntime

log = logging.getLogger(__name__)


async def complete_due_cases(transactions: Transactions, deps: Dependencies, today: date) -> int:
    """Complete the open cases whose departure date is `today` or before; how many were."""

    async def due(uow: UnitOfWork) -> list[str]:
        return await deps.cases(uow).due(today)

    completed = 0
    for case_id in await transactions.run(due):

        async def complete(uow: UnitOfWork, case_id: str = case_id) -> bool:
            cases = deps.cases(uow)
            case = await cases.get(case_id)
            # Read again inside the transaction: another replica may have completed it.
            if case is None or not case.is_due(today):
                return False
            uow.publish(case.complete(uow.now()), subject=case.employee_id)
            await cases.save(case)
            return True

        completed += await transactions.run(complete)
    if completed:
        log.info("due exit cases completed", extra={"completed": completed})
    return completed


async def forget_expired_cases(transactions: Transactions, deps: Dependencies, now: datetime) -> int:
    """Delete the cases closed longer ago than the retention period, with their links; what is
    kept is a keyed hash of the stint (in `erased_people`), so that a re-send of that departure
    is refused instead of opening a new case. Safe with several replicas: each deletion is
    conditional, in its own transaction, and only the one that deletes does the rest."""
    cutoff = now - deps.case_retention

    async def expired(uow: UnitOfWork) -> list[str]:
        return await deps.cases(uow).closed_before(cutoff)

    forgotten = 0
    for case_id in await transactions.run(expired):

        async def forget(uow: UnitOfWork, case_id: str = case_id) -> bool:
            cases = deps.cases(uow)
            case = await cases.get(case_id)
            if case is None or not await cases.forget_closed(case_id, cutoff):
                return False  # another replica forgot it, or it changed
            await deps.invitations(uow).forget_cases([case_id])
            await deps.erased(uow).remember([deps.erasure_keys.of_stint(case.employee_id, case.departure.hire_date)], uow.now())
            return True

        forgotten += await transactions.run(forget)
    if forgotten:
        log.info("closed exit cases forgotten after their retention period", extra={"forgotten": forgotten})
    return forgotten


async def scheduled_round(runtime: ServiceRuntime, deps: Dependencies) -> None:
    """One round of the scheduler: due cases completed, then expired ones forgotten."""
    await complete_due_cases(runtime.transactions, deps, runtime.clock().date())
    await forget_expired_cases(runtime.transactions, deps, runtime.clock())
