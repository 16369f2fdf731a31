"""An erased person never comes back through a late, re-sent or replayed event: their departures
and cancellations are refused and counted, not dead-lettered, until HR re-admits them; what is
kept is a keyed hash of their employee id, never the id."""

import json

from shared.events.alumni import AlumnusErased
from shared.events.hris import EmployeeDepartureCancelled
from tests.unit.offboarding.fakes import ERASURE_KEYS, Offboarding, departure
from tests.unit.offboarding.test_api import TOKENS, client


async def erased_offboarding() -> Offboarding:
    offboarding = Offboarding()
    await offboarding.handle(departure(employee_id="E-1"))
    await offboarding.handle(AlumnusErased(alumnus_id="alm_1", employee_ids=["E-1"], version=3, erased_at=offboarding.clock()))
    offboarding.transactions.committed.clear()
    return offboarding


async def test_a_re_sent_departure_of_an_erased_employee_opens_no_case_and_sends_no_link() -> None:
    offboarding = await erased_offboarding()
    await offboarding.handle(departure(employee_id="E-1"))  # the HRIS sends it again
    await offboarding.handle(departure(employee_id="E-1", hire_date="2024-01-01", departure_date="2026-11-21"))  # a new stint too
    await offboarding.handle(EmployeeDepartureCancelled(employee_id="E-1"))  # no dead letter for this either
    assert offboarding.store.cases == {} and offboarding.transactions.events == []
    [(key, person)] = offboarding.store.erased_people.people.items()
    assert key == ERASURE_KEYS.of_employee("E-1") and "E-1" not in json.dumps(person, default=str)
    assert person["refusals"] == 3


async def test_others_are_not_refused() -> None:
    offboarding = await erased_offboarding()
    await offboarding.handle(departure(employee_id="E-2"))
    assert list(offboarding.store.cases) == ["E-2/2020-01-01"]


async def test_hr_re_admits_an_erased_employee_and_their_next_departure_is_taken() -> None:
    offboarding = await erased_offboarding()
    async with client(offboarding) as http:
        admin = {"Authorization": f"Bearer {TOKENS.issue('hr', ['alumni:admin'])}"}
        reader = {"Authorization": f"Bearer {TOKENS.issue('hr', ['alumni:read'])}"}
        forbidden = await http.post("/erased-employees/E-1/readmission", headers=reader)
        unknown = await http.post("/erased-employees/E-404/readmission", headers=admin)
        readmitted = await http.post("/erased-employees/E-1/readmission", headers=admin)
    assert (forbidden.status_code, unknown.status_code, readmitted.status_code) == (403, 404, 200)
    await offboarding.handle(departure(employee_id="E-1", hire_date="2027-01-01", departure_date="2027-06-01"))
    assert list(offboarding.store.cases) == ["E-1/2027-01-01"]
