"""The in-memory unit of work behaves as the real one does where the rules' tests rely on it:
all or nothing, and a repeated marker aborts (the real one: tests/integration/platform/test_unit_of_work.py)."""

import pytest

from shared.events.base import Event, Registry, event_type
from shared.testing.fakes import DuplicateMarker, FakeTransactions, envelope_for

catalog = Registry(topics={"test.notes"})


@event_type("com.alumni.test.noted.v1", topic="test.notes", key="note_id", catalog=catalog)
class Noted(Event):
    note_id: str


class Notebook:
    def __init__(self) -> None:
        self.notes: list[str] = []


async def test_a_failed_unit_of_work_leaves_no_state_and_no_event() -> None:
    book = Notebook()
    transactions = FakeTransactions(state=book)

    async def write_then_fail(uow) -> None:
        book.notes.append("half")
        uow.publish(Noted(note_id="n-1"))
        raise RuntimeError("the disk is full")

    with pytest.raises(RuntimeError):
        await transactions.run(write_then_fail)
    assert book.notes == [] and transactions.events == []


async def test_a_repeated_marker_aborts_everything_the_repeat_wrote() -> None:
    book = Notebook()
    transactions = FakeTransactions(state=book)
    envelope = envelope_for(Noted(note_id="n-1"))

    async def note(uow) -> None:
        uow.mark_processed(uow.envelope)
        book.notes.append("n-1")
        uow.publish(Noted(note_id="n-1"), subject="n-1")

    await transactions.run(note, envelope=envelope)
    with pytest.raises(DuplicateMarker):
        await transactions.run(note, envelope=envelope)
    assert book.notes == ["n-1"] and len(transactions.events) == 1
    assert await transactions.processed_before(envelope)
