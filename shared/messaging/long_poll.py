"""Long polling for quiet topics, applied by the service factory at start-up (`apply()`).

A service reads each of its topics with a consumer of its own (one group per topic), most of
them idle most of the time: erasures, merge reviews, referral outcomes, bulk mail. Each idle
consumer sent a fetch every KAFKA_FETCH_MAX_WAIT_MS (500 ms) that came back empty: measured on
the pipeline bench's stack at rest, about 100 ms of the broker's CPU a second and a tenth of
every service's own idle work, some 7 ms of CPU per departure at the pipeline's rate.

Here a fetch that comes back empty, while none of the consumer's records wait to be handled,
doubles the wait of its next one, up to KAFKA_FETCH_IDLE_MAX_WAIT_MS; any other fetch sets it
back to KAFKA_FETCH_MAX_WAIT_MS. A long wait then costs no latency: it is only asked when every
partition of the consumer is in the fetch (aiokafka leaves out a partition whose fetched records
are still being handled), so the broker answers as soon as any record is written. While records
flow, or wait to be handled, the consumer fetches as often as before: aiokafka sends one fetch
per broker at a time, and a partition left out joins the next one.

Checked on aiokafka 0.14.0 (`Fetcher._proc_fetch_request` returns whether it added records,
`_records` holds those not yet handled, and the next request takes `_fetch_max_wait_ms`); on
another version it is not applied.
"""

import logging

import aiokafka
from aiokafka.consumer.fetcher import Fetcher

log = logging.getLogger(__name__)

PATCHED_VERSION = "0.14.0"


def next_wait(current_ms: int, busy_ms: int, idle_max_ms: int, busy: bool) -> int:
    """The wait of a consumer's next fetch, after one that brought records or while some wait
    to be handled (`busy`), or after an empty one while none wait."""
    if busy:
        return busy_ms
    return max(busy_ms, min(idle_max_ms, current_ms * 2))


def apply(idle_max_ms: int) -> None:
    """Let idle consumers' fetches wait up to `idle_max_ms` (no longer than they do now: off)."""
    if getattr(Fetcher._proc_fetch_request, "_alumni_long_poll", False):
        Fetcher._alumni_idle_max_ms = idle_max_ms
        return
    if aiokafka.__version__ != PATCHED_VERSION:
        log.warning("aiokafka %s is not %s: long polling for idle consumers not applied", aiokafka.__version__, PATCHED_VERSION)
        return
    fetch = Fetcher._proc_fetch_request
    Fetcher._alumni_idle_max_ms = idle_max_ms

    async def long_polling(self: Fetcher, assignment, node_id, request):
        busy = self.__dict__.setdefault("_alumni_busy_ms", self._fetch_max_wait_ms)
        brought = await fetch(self, assignment, node_id, request)
        waiting = bool(brought) or bool(self._records)  # records fetched and not yet handled
        self._fetch_max_wait_ms = next_wait(self._fetch_max_wait_ms, busy, self._alumni_idle_max_ms, waiting)
        return brought

    long_polling._alumni_long_poll = True
    Fetcher._proc_fetch_request = long_polling
