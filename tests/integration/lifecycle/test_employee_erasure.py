"""HR erases a leaver who never became an alumnus (excluded for cause) by employee id, on the real
stack: the exit case goes, and the HRIS re-sending the departure brings no one back."""

import asyncio

import httpx

from shared.erasure import ErasureKeys
from shared.settings import DEVELOPMENT_ERASURE_HASH_KEY
from tests.integration.lifecycle.conftest import Lifecycle


async def test_an_excluded_leaver_erased_by_employee_id_is_not_brought_back_by_a_re_send(world: Lifecycle) -> None:
    departure = world.departure(departure_reason="termination_for_cause", personal_email="someone@home.example", phone="+33612345678")
    employee_id = departure["employee_id"]
    await world.depart(departure)
    [completed] = await world.records("alumni.offboarding.completed", employee_id)
    assert completed.json()["outcome"] == "excluded"
    client, db = await world.offboarding_db()
    assert await db.exit_cases.count_documents({"employee_id": employee_id}) == 1

    async with httpx.AsyncClient(base_url=world.offboarding) as http:
        refused = await http.delete(f"/employees/{employee_id}", headers=world.auth("alumni:write"))
        erased = await http.delete(f"/employees/{employee_id}", headers=world.auth("alumni:admin"))
    assert refused.status_code == 403
    assert erased.status_code == 200 and erased.json()["cases_erased"] == 1
    assert await db.exit_cases.count_documents({"employee_id": employee_id}) == 0
    key = ErasureKeys(DEVELOPMENT_ERASURE_HASH_KEY).of_employee(employee_id)
    remembered = await db.erased_people.find_one({"_id": key})
    assert remembered is not None and employee_id not in str(remembered)

    await world.depart(departure)  # the HRIS sends it again
    for _ in range(100):
        if (await db.erased_people.find_one({"_id": key})).get("refusals", 0) >= 1:
            break
        await asyncio.sleep(0.2)
    assert (await db.erased_people.find_one({"_id": key}))["refusals"] == 1
    assert await db.exit_cases.count_documents({"employee_id": employee_id}) == 0
    assert len(await world.records("alumni.offboarding.completed", employee_id, count=2, timeout=3)) == 1
    assert await world.records("hris.employee.departed.dlq", employee_id, timeout=1) == []
    await client.close()
