"""Completes future-dated exit cases when their departure date comes."""

import asyncio
import logging

from services.offboarding.repository import ExitCases, due_case_ids
from shared.service import ServiceRuntime
from shared.messaging.uow import UnitOfWork

log = logging.getLogger(__name__)


async def complete_due_cases(runtime: ServiceRuntime) -> int:
    today = runtime.clock().date()
    completed = 0
    for case_id in await due_case_ids(runtime.db, today):

        async def complete(uow: UnitOfWork, case_id: str = case_id) -> bool:
            cases = ExitCases(uow)
            case = await cases.get(case_id)
            # Read again inside the transaction: another replica may have completed it.
            if case is None or not case.is_due(uow.now().date()):
                return False
            uow.publish(case.complete(uow.now()), subject=case.employee_id)
            await cases.save(case)
            return True

        completed += await runtime.transactions.run(complete)
    if completed:
        log.info("due exit cases completed", extra={"completed": completed})
    return completed


class DueCaseScheduler:
    def __init__(self, interval_seconds: float) -> None:
        self.interval = interval_seconds
        self._task: asyncio.Task | None = None

    async def start(self, runtime: ServiceRuntime) -> None:
        self._task = asyncio.create_task(self._run(runtime), name="due-exit-cases")

    async def stop(self, runtime: ServiceRuntime) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self, runtime: ServiceRuntime) -> None:
        while not runtime.stopping.is_set():
            try:
                await complete_due_cases(runtime)
            except Exception as exc:  # the next round tries again
                log.warning("completing due cases failed", extra={"error": f"{type(exc).__name__}: {exc}"})
            try:
                await asyncio.wait_for(runtime.stopping.wait(), self.interval)
            except TimeoutError:
                pass
