"""Clock-driven work in the background: one round every `interval` seconds (or sooner when
woken) until the service stops. A failed round is logged and the next one tries again.

A round must be safe with several instances of the service running it at once: each service's
scheduler reads every item again inside its own transaction and changes it conditionally, so
that of two instances on one item, one does the work and the other finds nothing left."""

import asyncio
import logging
from collections.abc import Awaitable, Callable

from shared.service.runtime import ServiceRuntime

log = logging.getLogger(__name__)

Round = Callable[[ServiceRuntime], Awaitable[object]]


class Periodic:
    def __init__(self, name: str, work: Round, interval_seconds: float) -> None:
        self.name = name
        self.work = work
        self.interval = interval_seconds
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task | None = None

    def wake(self) -> None:
        """Run the next round now rather than at the end of the interval."""
        self._wakeup.set()

    async def start(self, runtime: ServiceRuntime) -> None:
        self._task = asyncio.create_task(self._run(runtime), name=self.name)

    async def stop(self, runtime: ServiceRuntime) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self, runtime: ServiceRuntime) -> None:
        while not runtime.stopping.is_set():
            self._wakeup.clear()
            try:
                await self.work(runtime)
            except Exception as exc:  # the next round tries again
                log.warning("scheduled round failed", extra={"round": self.name, "error": f"{type(exc).__name__}: {exc}"})
            try:
                await asyncio.wait_for(self._wakeup.wait(), self.interval)
            except TimeoutError:
                pass
