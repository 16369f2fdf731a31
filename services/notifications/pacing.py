"""What pacing the sends needs to know in a process: the transactional emails under way (bulk
mail yields to them), the rate bulk mail may go at, how quickly the mail server has answered lately (a transactional email is
sent while its event is planned only while it answers quickly), and what this process has sent
(a send whose recording failed is recorded again without being sent again)."""

import asyncio
import time
from collections import OrderedDict

SENT_MEMORY = 10_000  # bounded: once recorded, a delivery's status answers for it


class InFlight:
    """How many transactional deliveries are under way (`with in_flight:`), and a wait for none."""

    def __init__(self) -> None:
        self.count = 0
        self._none = asyncio.Event()
        self._none.set()

    def __enter__(self) -> None:
        self.count += 1
        self._none.clear()

    def __exit__(self, *exc: object) -> None:
        self.count -= 1
        if not self.count:
            self._none.set()

    async def none_within(self, seconds: float) -> bool:
        if seconds <= 0:
            return False
        try:
            await asyncio.wait_for(self._none.wait(), seconds)
        except TimeoutError:
            return False
        return True


class MailLatency:
    """An exponentially weighted average of the mail server's recent sends, in seconds; a send
    that failed counts as `penalty` seconds."""

    def __init__(self, limit: float, weight: float = 0.2, penalty: float = 5.0) -> None:
        self.limit, self.weight, self.penalty = limit, weight, penalty
        self.average = 0.0

    def observe(self, seconds: float | None) -> None:
        self.average += self.weight * ((self.penalty if seconds is None else seconds) - self.average)

    @property
    def quick(self) -> bool:
        return self.limit > 0 and self.average <= self.limit


class SentMemory:
    def __init__(self, size: int = SENT_MEMORY) -> None:
        self.size = size
        self._ids: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, delivery_id: str) -> bool:
        return delivery_id in self._ids

    def add(self, delivery_id: str) -> None:
        self._ids[delivery_id] = None
        if len(self._ids) > self.size:
            self._ids.popitem(last=False)


class Rate:
    """At most `per_second` sends a second, spaced evenly (0: no limit)."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self._next = 0.0

    async def take_within(self, seconds: float) -> bool:
        """Wait for the next slot; False (and no slot taken) when it is more than `seconds` away."""
        if not self.interval:
            return True
        now = time.monotonic()
        start = max(now, self._next)
        if start - now > seconds:
            return False
        self._next = start + self.interval
        if start > now:
            await asyncio.sleep(start - now)
        return True
