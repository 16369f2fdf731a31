"""Erasing employees: their exit cases and links go, the events parked for them too, and a keyed
hash of each employee id is remembered so that no re-sent or replayed departure brings them back
(until HR re-admits them). Reached from identity's erasure of an alumnus (`alumni.alumnus.erased`)
and, for a leaver who never became one (excluded, cancelled), from HR's `DELETE /employees/{id}`."""

from services.offboarding.dependencies import Dependencies
from shared.messaging.uow import UnitOfWork


async def erase_employees(uow: UnitOfWork, deps: Dependencies, employee_ids: list[str]) -> int:
    """How many exit cases were erased."""
    cases = deps.cases(uow)
    await deps.invitations(uow).forget_cases(await cases.case_ids(employee_ids))
    forgotten = await cases.forget(employee_ids)
    await deps.waiting(uow).forget(employee_ids)
    await deps.erased(uow).remember([deps.erasure_keys.of_employee(e) for e in employee_ids], uow.now())
    return forgotten
