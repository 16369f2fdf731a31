"""Long polling (shared/messaging/long_poll.py) on a fetcher's state: the wait doubles only
after a fetch the broker held for its whole wait and answered empty with nothing left to
handle; records, records waiting, an error or an early answer bring the busy wait back."""

import asyncio
from types import SimpleNamespace

from shared.messaging.long_poll import next_wait, polling

BUSY, IDLE = 20, 80  # ms


def fetcher() -> SimpleNamespace:
    return SimpleNamespace(_fetch_max_wait_ms=BUSY, _records={}, _alumni_idle_max_ms=IDLE)


def answering(brings: bool, *, held: bool = True):
    async def fetch(self, assignment, node_id, request) -> bool:
        if held:
            await asyncio.sleep(self._fetch_max_wait_ms / 1000)
        return brings
    return polling(fetch)


async def test_empty_fetches_held_to_the_end_double_the_wait_up_to_the_cap_and_records_bring_it_back() -> None:
    f, empty = fetcher(), answering(False)
    waits = []
    for _ in range(4):
        await empty(f, None, 0, None)
        waits.append(f._fetch_max_wait_ms)
    assert waits == [40, 80, 80, 80]
    assert await answering(True)(f, None, 0, None) is True
    assert f._fetch_max_wait_ms == BUSY


async def test_an_early_empty_answer_or_records_left_to_handle_keep_the_busy_wait() -> None:
    f = fetcher()
    await answering(False)(f, None, 0, None)
    assert f._fetch_max_wait_ms == 40
    await answering(False, held=False)(f, None, 0, None)  # an error, a moved partition: at once
    assert f._fetch_max_wait_ms == BUSY
    f._records["topic-0"] = object()  # fetched earlier, still being handled: a partition left out
    await answering(False)(f, None, 0, None)
    assert f._fetch_max_wait_ms == BUSY


def test_the_cap_never_goes_below_the_busy_wait() -> None:
    assert next_wait(500, 500, 200, idle=True) == 500 and next_wait(500, 500, 2000, idle=True) == 1000
