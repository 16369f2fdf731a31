"""Long polling for quiet topics, applied by the service factory at start-up (`apply()`).

A service reads each of its topics with a consumer of its own (one group per topic), most of
them idle most of the time: erasures, merge reviews, referral outcomes, bulk mail. Each idle
consumer sent a fetch every KAFKA_FETCH_MAX_WAIT_MS (500 ms) that came back empty: measured on
the pipeline bench's stack at rest, about 100 ms of the broker's CPU a second and a tenth of
every service's own idle work, some 7 ms of CPU per departure at the pipeline's rate.

Here a fetch that the broker held for its whole wait and that came back empty, while none of
the consumer's records wait to be handled, doubles the wait of its next one, up to
KAFKA_FETCH_IDLE_MAX_WAIT_MS (2 s); any other (records, an error, an answer before the wait
was up: a partition moved, an offset reset) sets it back to KAFKA_FETCH_MAX_WAIT_MS. While
records flow, or wait to be handled, the consumer fetches as often as before. When it waits
long, every partition it is assigned is in the fetch (aiokafka leaves out only a partition whose
fetched records are still being handled; the services neither pause nor seek), so the broker
answers as soon as any record is written.

What a long wait can still delay, by up to the cap, once: a partition whose leader moves to a
broker that holds this consumer's long fetch (aiokafka sends one fetch per broker at a time),
and a metadata or coordinator request behind it on the same connection; both happen when a
broker fails or restarts, and the 2 s cap keeps them well inside the 10 s session timeout.

Checked on aiokafka 0.14.0 (`Fetcher._proc_fetch_request` returns whether it added records,
`_records` holds those not yet handled, and the next request takes `_fetch_max_wait_ms`); on
another version it is not applied.
"""

import logging
import time

import aiokafka
from aiokafka.consumer.fetcher import Fetcher

log = logging.getLogger(__name__)

PATCHED_VERSION = "0.14.0"


def next_wait(current_ms: int, busy_ms: int, idle_max_ms: int, idle: bool) -> int:
    """The wait of a consumer's next fetch: doubled after an `idle` one (held for its whole wait,
    empty, nothing left to handle), the busy wait after any other."""
    return max(busy_ms, min(idle_max_ms, current_ms * 2)) if idle else busy_ms


def apply(idle_max_ms: int) -> None:
    """Let idle consumers' fetches wait up to `idle_max_ms` (no longer than they do now: off)."""
    if getattr(Fetcher._proc_fetch_request, "_alumni_long_poll", False):
        Fetcher._alumni_idle_max_ms = idle_max_ms
        return
    if aiokafka.__version__ != PATCHED_VERSION:
        log.warning("aiokafka %s is not %s: long polling for idle consumers not applied", aiokafka.__version__, PATCHED_VERSION)
        return
    Fetcher._alumni_idle_max_ms = idle_max_ms
    Fetcher._proc_fetch_request = polling(Fetcher._proc_fetch_request)


def polling(fetch):
    """aiokafka's fetch (`Fetcher._proc_fetch_request`), setting the wait of the next one."""
    async def long_polling(self: Fetcher, assignment, node_id, request):
        busy = self.__dict__.setdefault("_alumni_busy_ms", self._fetch_max_wait_ms)
        asked, started = self._fetch_max_wait_ms, time.monotonic()
        brought = await fetch(self, assignment, node_id, request)
        held = time.monotonic() - started >= 0.9 * asked / 1000  # not an error or an early answer
        idle = held and not brought and not self._records  # `_records`: fetched, not yet handled
        self._fetch_max_wait_ms = next_wait(self._fetch_max_wait_ms, busy, self._alumni_idle_max_ms, idle)
        return brought

    long_polling._alumni_long_poll = True
    return long_polling
