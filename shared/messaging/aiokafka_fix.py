"""A correction to aiokafka 0.14.0 (checked on 0.14.0, the newest release in November 2026),
applied by the service factory at start-up (`apply()`), never at import.

OffsetFetch answers carry a request-level `error_code` since v2: while a broker loads a
group's offsets (just after it starts) it answers COORDINATOR_LOAD_IN_PROGRESS there, with no
partitions. aiokafka's `GroupCoordinator._do_fetch_commit_offsets` reads only the per-partition
errors, so it takes "loading" for "nothing committed" and the consumer resets to
`auto_offset_reset`: after a broker restart a group that rejoins at that moment replays its
topics from the start (or, with `latest`, skips records). Raising the request-level error lets
aiokafka's own retry loop (`fetch_committed_offsets`) wait for the real answer.

Upstream: no aiokafka issue or fix exists (its tracker and its code up to 0.14.0 searched);
the same defect was reported and fixed in other clients: Parsely/pykafka#958
("OffsetFetchResponseV2 can result in offsets being lost"), IBM/sarama#3574 (retry the initial
offset fetch on request-level coordinator errors), kafkaex/kafka_ex#548 (no silent fallback to
auto_offset_reset when the fetch fails); confluentinc/librdkafka#5586 is the NOT_COORDINATOR
variant. Seen here: for ~0.2 s after a restarted broker answers metadata, `committed()`
returned None for groups that had committed. Remove this module once aiokafka reads the error.
"""

import logging

import aiokafka
from aiokafka import errors
from aiokafka.consumer.group_coordinator import GroupCoordinator

log = logging.getLogger(__name__)

PATCHED_VERSION = "0.14.0"


def raise_request_level_error(coordinator: GroupCoordinator, response) -> None:
    """Raise the request-level error of an OffsetFetch answer, if it has one."""
    if not type(response).__name__.startswith("OffsetFetchResponse"):
        return
    if code := getattr(response, "error_code", 0):
        error = errors.for_code(code)
        if error is errors.NotCoordinatorForGroupError:
            coordinator.coordinator_dead()
        raise error(f"OffsetFetch for group {coordinator.group_id}")


def apply() -> None:
    if getattr(GroupCoordinator._send_req, "_alumni_fix", False):
        return
    if aiokafka.__version__ != PATCHED_VERSION:
        log.warning("aiokafka %s is not %s: OffsetFetch fix not applied; check that it is still needed", aiokafka.__version__, PATCHED_VERSION)
        return
    send = GroupCoordinator._send_req

    async def send_checking_offset_fetch(self: GroupCoordinator, request):
        response = await send(self, request)
        raise_request_level_error(self, response)
        return response

    send_checking_offset_fetch._alumni_fix = True
    GroupCoordinator._send_req = send_checking_offset_fetch
