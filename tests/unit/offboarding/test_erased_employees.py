"""An erased person never comes back through a late, re-sent or replayed event: their departures
and cancellations are refused and counted, not dead-lettered, until HR re-admits them; what is
kept is a keyed hash of their employee id, never the id."""

import json

from shared.events.alumni import AlumnusErased
from shared.events.hris import EmployeeDepartureCancelled
from services.offboarding.api import personal_data
from shared.web.auth import TokenVerifier
from shared.web.personal_data import PersonalDataQuery
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


async def test_hr_erases_an_excluded_leaver_by_employee_id_and_a_re_send_is_refused() -> None:
    offboarding = Offboarding()
    await offboarding.handle(departure(employee_id="E-7", departure_reason="termination_for_cause"))
    await offboarding.handle(departure(employee_id="E-8"))  # someone else, eligible: kept
    offboarding.store.parked.parked.append(("E-7", EmployeeDepartureCancelled(employee_id="E-7", hire_date="2031-01-01")))
    admin = {"Authorization": f"Bearer {TOKENS.issue('hr', ['alumni:admin'])}"}
    async with client(offboarding) as http:
        erased = await http.delete("/employees/E-7", headers=admin)
        again = await http.delete("/employees/E-7", headers=admin)  # repeated: nothing left, still erased
    assert erased.status_code == 200 and erased.json()["cases_erased"] == 1
    assert again.status_code == 200 and again.json()["cases_erased"] == 0
    assert list(offboarding.store.cases) == ["E-8/2020-01-01"] and len(offboarding.store.invitations) == 1
    assert offboarding.store.parked.parked == []  # what waited for them goes too
    offboarding.transactions.committed.clear()
    await offboarding.handle(departure(employee_id="E-7", departure_reason="termination_for_cause"))  # the HRIS re-sends
    assert list(offboarding.store.cases) == ["E-8/2020-01-01"] and offboarding.transactions.events == []
    [person] = offboarding.store.erased_people.people.values()
    assert person["refusals"] == 1


async def test_erasing_an_employee_takes_the_admin_scope_and_a_bounded_id() -> None:
    offboarding = Offboarding()
    await offboarding.handle(departure(employee_id="E-7"))
    writer = {"Authorization": f"Bearer {TOKENS.issue('hr', ['alumni:write'])}"}
    admin = {"Authorization": f"Bearer {TOKENS.issue('hr', ['alumni:admin'])}"}
    forged = {"Authorization": "Bearer " + TokenVerifier("another-secret-of-at-least-32-chars").issue("hr", ["alumni:admin"])}
    async with client(offboarding) as http:
        anonymous = await http.delete("/employees/E-7")
        forbidden = await http.delete("/employees/E-7", headers=writer)
        forgery = await http.delete("/employees/E-7", headers=forged)
        oversized = await http.delete("/employees/" + "E" * 129, headers=admin)
    assert (anonymous.status_code, forbidden.status_code, forgery.status_code) == (401, 403, 401)
    assert oversized.status_code == 422 and "employee_id" in oversized.text
    assert list(offboarding.store.cases) == ["E-7/2020-01-01"]


async def test_what_offboarding_holds_about_an_employee_is_gathered_for_an_export() -> None:
    offboarding = Offboarding()
    await offboarding.handle(departure(employee_id="E-7", phone="+33612345678"))
    await offboarding.handle(departure(employee_id="E-8"))
    offboarding.store.parked.parked.append(("E-7", EmployeeDepartureCancelled(employee_id="E-7", hire_date="2031-01-01")))
    gather = personal_data(offboarding.deps)
    held = await offboarding.transactions.run(lambda uow: gather(uow, PersonalDataQuery(None, ("E-7",))))
    [case] = held["exit_cases"]
    assert (case["_id"], case["departure"]["phone"]) == ("E-7/2020-01-01", "+33612345678")
    [link] = held["exit_form_links"]
    assert link["case_id"] == "E-7/2020-01-01" and "digest" not in link
    assert [p["payload"]["hire_date"] for p in held["parked_events"]] == ["2031-01-01"]
    by_alumnus_only = await offboarding.transactions.run(lambda uow: gather(uow, PersonalDataQuery("alm_1", ())))
    assert by_alumnus_only["exit_cases"] == [] and "alumni:admin" in by_alumnus_only["note"]
