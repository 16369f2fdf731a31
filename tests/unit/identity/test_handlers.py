"""Identity's handlers over an in-memory repository: registration, boomerangs found by employee
id or verified email, re-sent completions, exit-form answers and unsubscribe links. The same
flows on the real broker and database: tests/integration/lifecycle/test_identity.py."""

from datetime import UTC, date, datetime

import pytest

from services.identity.domain import AlumnusNotYetRegistered, NotRegistrable
from services.identity.handlers import event_handlers
from shared.events import Event
from shared.events.alumni import AlumnusRegistered, AlumnusUpdated, ConsentChanged
from shared.events.notifications import UnsubscribeRequested
from shared.events.offboarding import ExitFormSubmitted, OffboardingCompleted
from shared.events.types import Purpose
from shared.testing.fakes import FakeTransactions, envelope_for

NOW = datetime(2026, 11, 22, 9, tzinfo=UTC)
from tests.unit.identity.fakes import ERASURE_KEYS, InMemoryAlumni, dependencies


class Identity:
    def __init__(self) -> None:
        self.alumni = InMemoryAlumni()
        self.events = event_handlers(dependencies(self.alumni))
        self.transactions = FakeTransactions(state=self.alumni)

    async def handle(self, event: Event) -> None:
        _, handler = self.events.handlers[event.event_type.type]
        await self.transactions.run(lambda ctx: handler(event, ctx), envelope=envelope_for(event))


def completed(employee_id: str = "E-1", hire: str = "2019-01-01", outcome: str = "eligible", hris_email: str | None = None, **answers) -> OffboardingCompleted:
    # As offboarding sends it: the address typed in the exit form, else the HRIS's, is the leaver's.
    leaver = {"first_name": "Inès", "last_name": "Moreau", "work_email": f"{employee_id}@acme.example", "locale": "fr",
              "personal_email": answers.get("personal_email") or hris_email, "phone": answers.get("phone")}
    return OffboardingCompleted.model_validate({
        "case_id": f"{employee_id}/{hire}", "employee_id": employee_id, "hire_date": hire, "departure_date": "2026-11-20",
        "departure_reason": "resignation", "outcome": outcome, "hris_personal_email": hris_email if outcome == "eligible" else None,
        "leaver": leaver if outcome == "eligible" else None, "profile": answers if outcome == "eligible" else None,
    })


async def test_an_eligible_completion_registers_one_alumnus_and_announces_it() -> None:
    identity = Identity()
    await identity.handle(completed(consents={"events": True}))
    [registered] = identity.transactions.events
    assert isinstance(registered, AlumnusRegistered) and registered.alumnus_id == "alm_1" and not registered.boomerang
    assert registered.consents == {Purpose.EVENTS: True}
    assert [r.source for _, r in identity.alumni.ledger] == ["exit-form"]


async def test_an_excluded_completion_registers_nobody() -> None:
    identity = Identity()
    await identity.handle(completed(outcome="excluded"))
    assert identity.alumni.alumni == {} and identity.transactions.events == []


async def test_a_re_sent_completion_changes_nothing() -> None:
    identity = Identity()
    await identity.handle(completed())
    await identity.handle(completed())  # another event id: not a repeat to the platform, the same stint to the rules
    assert len(identity.alumni.alumni) == 1 and len(identity.transactions.events) == 1


async def test_a_boomerang_is_one_record_found_by_employee_id() -> None:
    identity = Identity()
    await identity.handle(completed("E-1", "2015-01-01", personal_email="ines@home.example"))
    await identity.handle(completed("E-1", "2021-06-01"))
    assert list(identity.alumni.alumni) == ["alm_1"]
    assert [e.boomerang for e in identity.transactions.events if isinstance(e, AlumnusRegistered)] == [False, True]
    assert [s.employee_id for s in identity.alumni.alumni["alm_1"].stints] == ["E-1", "E-1"]


async def test_exit_form_answers_update_the_alumnus_and_wait_for_the_completion() -> None:
    identity = Identity()
    submitted = ExitFormSubmitted.model_validate({
        "case_id": "E-1/2019-01-01", "employee_id": "E-1", "hire_date": "2019-01-01", "submitted_at": "2026-11-21T10:00:00Z",
        "profile": {"skills": ["SQL"], "consents": {"newsletter": True}},
    })
    with pytest.raises(AlumnusNotYetRegistered):
        await identity.handle(submitted)
    await identity.handle(completed())
    await identity.handle(submitted)
    assert [type(e) for e in identity.transactions.events] == [AlumnusRegistered, AlumnusUpdated, ConsentChanged]
    assert identity.alumni.alumni["alm_1"].profile.skills == ["SQL"]
    assert identity.events.is_waiting(AlumnusNotYetRegistered("x"))  # parked until the completion, not retried


def submitted_for(employee_id: str, hire: str, skills: list[str]) -> ExitFormSubmitted:
    return ExitFormSubmitted.model_validate({
        "case_id": f"{employee_id}/{hire}", "employee_id": employee_id, "hire_date": hire, "submitted_at": "2026-11-21T10:00:00Z",
        "profile": {"skills": skills},
    })


async def test_a_boomerangs_answers_wait_for_the_completion_of_their_own_stint() -> None:
    identity = Identity()
    await identity.handle(completed("E-1", "2019-01-01"))
    with pytest.raises(AlumnusNotYetRegistered, match="E-1/2024-05-01"):
        await identity.handle(submitted_for("E-1", "2024-05-01", ["Go"]))  # the first stint's record is not enough
    await identity.handle(completed("E-1", "2024-05-01"))
    await identity.handle(submitted_for("E-1", "2024-05-01", ["Go"]))
    assert identity.alumni.alumni["alm_1"].profile.skills == ["Go"]


async def test_answers_of_a_stint_erased_while_they_waited_are_refused_and_counted() -> None:
    identity = Identity()
    await identity.alumni.erased_people.remember([ERASURE_KEYS.of_stint("E-1", date(2019, 1, 1))], NOW)
    await identity.handle(submitted_for("E-1", "2019-01-01", ["SQL"]))  # no error: nothing to wait for
    assert identity.alumni.alumni == {} and identity.transactions.events == []
    [person] = identity.alumni.erased_people.people.values()
    assert person["refusals"] == 1


async def test_an_unsubscribe_link_withdraws_the_consent_once_and_ignores_the_erased() -> None:
    identity = Identity()
    await identity.handle(completed(consents={"newsletter": True}))
    unsubscribe = UnsubscribeRequested.model_validate({"alumnus_id": "alm_1", "purpose": "newsletter", "requested_at": "2026-11-23T08:00:00Z"})
    await identity.handle(unsubscribe)
    await identity.handle(unsubscribe)
    changes = [e for e in identity.transactions.events if isinstance(e, ConsentChanged)]
    assert [(c.granted, c.source) for c in changes] == [(False, "unsubscribe-link")]
    await identity.alumni.erase("alm_1", changes[0].changed_at)
    await identity.handle(UnsubscribeRequested.model_validate(unsubscribe.model_dump() | {"alumnus_id": "alm_1"}))
    assert len(identity.transactions.events) == 2


async def test_an_eligible_completion_without_the_leaver_is_a_broken_rule() -> None:
    identity = Identity()
    broken = completed().model_copy(update={"leaver": None})
    with pytest.raises(NotRegistrable):
        await identity.handle(broken)
    assert identity.events.is_permanent(NotRegistrable("x"))
    assert identity.alumni.alumni == {}


async def test_an_erased_alumnus_never_comes_back_through_a_late_or_replayed_completion() -> None:
    identity = Identity()
    await identity.handle(completed("E-1", "2019-01-01"))
    alumnus = identity.alumni.alumni["alm_1"]
    await identity.alumni.erase("alm_1", NOW)
    await identity.alumni.erased_people.remember([ERASURE_KEYS.of_stint(s.employee_id, s.hire_date) for s in alumnus.stints], NOW)
    await identity.handle(completed("E-1", "2019-01-01"))  # replayed from a dead letter, or re-sent
    assert identity.alumni.alumni == {} and len(identity.transactions.events) == 1
    [person] = identity.alumni.erased_people.people.values()
    assert person["refusals"] == 1
    await identity.handle(completed("E-1", "2027-01-01"))  # a new stint (re-admitted by HR in offboarding)
    assert len(identity.alumni.alumni) == 1
