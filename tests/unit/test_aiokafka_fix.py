import pytest
from aiokafka import errors
from aiokafka.consumer.group_coordinator import GroupCoordinator
from aiokafka.protocol.commit import OffsetCommitResponse_v2, OffsetFetchResponse_v3

from shared.messaging.aiokafka_fix import apply, raise_request_level_error


class Coordinator:
    group_id = "offboarding"
    dead = False

    def coordinator_dead(self) -> None:
        self.dead = True


def test_a_loading_coordinator_is_retried_not_taken_for_no_commit() -> None:
    loading = OffsetFetchResponse_v3(0, [], 14)  # COORDINATOR_LOAD_IN_PROGRESS, no partitions
    with pytest.raises(errors.GroupLoadInProgressError) as raised:
        raise_request_level_error(Coordinator(), loading)
    assert raised.value.retriable  # aiokafka's fetch_committed_offsets loop retries it


def test_a_moved_coordinator_is_rediscovered() -> None:
    coordinator = Coordinator()
    with pytest.raises(errors.NotCoordinatorForGroupError):
        raise_request_level_error(coordinator, OffsetFetchResponse_v3(0, [], 16))
    assert coordinator.dead


def test_good_answers_and_other_requests_pass_through() -> None:
    raise_request_level_error(Coordinator(), OffsetFetchResponse_v3(0, [("t", [(0, 5, "", 0)])], 0))
    raise_request_level_error(Coordinator(), OffsetCommitResponse_v2([]))


def test_apply_patches_the_coordinator_once() -> None:
    apply()
    patched = GroupCoordinator._send_req
    apply()
    assert GroupCoordinator._send_req is patched
    assert getattr(GroupCoordinator._send_req, "_alumni_fix", False)
