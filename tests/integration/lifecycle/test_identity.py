"""Identity: one record per person across stints (boomerangs), the consent ledger and the
directory, GDPR export and erasure propagated to offboarding, and the API's refusals."""

import asyncio
import time

import httpx
import jwt

from tests.integration.kafka_io import produce
from tests.integration.lifecycle.conftest import SECRET, Lifecycle


async def _submit_form(world: Lifecycle, employee_id: str, answers: dict) -> None:
    [issued] = await world.records("alumni.offboarding.exit-form-issued", employee_id)
    async with httpx.AsyncClient() as http:
        assert (await http.post(world.form_url(issued.json()), json=answers)).status_code == 200


async def test_a_boomerang_keeps_one_record_with_two_stints(world: Lifecycle) -> None:
    first = world.departure(hire_date="2012-09-01", departure_date="2016-06-30", job_title="Analyst")
    await world.depart(first)
    alumnus = await world.alumnus_for(first["employee_id"])

    again = first | {"hire_date": "2019-01-07", "departure_date": "2026-11-18", "job_title": "Director"}
    await world.depart(again)
    registered = await world.records("alumni.alumnus.registered", alumnus["alumnus_id"], count=2)

    assert [r.json()["boomerang"] for r in registered] == [False, True]
    assert [r.json()["version"] for r in registered] == [1, 2]
    record = await world.alumnus_for(first["employee_id"])
    assert record["alumnus_id"] == alumnus["alumnus_id"] and record["boomerang"] is True
    assert [s["hire_date"] for s in record["stints"]] == ["2012-09-01", "2019-01-07"]
    assert record["profile"]["job_title"] == "Director"


async def test_a_boomerang_under_a_new_employee_id_is_found_by_confirmed_email(world: Lifecycle) -> None:
    first = world.departure()
    await world.depart(first)
    alumnus = await world.alumnus_for(first["employee_id"])
    email = f"{first['employee_id'].lower()}@home.example"
    await _submit_form(world, first["employee_id"], {"personal_email": email})
    [requested] = await world.records("alumni.alumnus.email-confirmation-requested", alumnus["alumnus_id"])
    async with httpx.AsyncClient() as http:
        assert (await http.post(world.confirmation_url(requested.json()), json={})).status_code == 200
    await world.records("alumni.alumnus.email-confirmed", alumnus["alumnus_id"])

    rehired = world.departure(personal_email=email, hire_date="2024-02-01", departure_date="2026-11-21")
    await world.depart(rehired)
    registered = await world.records("alumni.alumnus.registered", alumnus["alumnus_id"], count=2)

    assert registered[-1].json()["boomerang"] is True
    assert registered[-1].json()["stint"]["employee_id"] == rehired["employee_id"]
    assert (await world.alumnus_for(rehired["employee_id"]))["alumnus_id"] == alumnus["alumnus_id"]


async def test_consent_withdrawal_takes_the_alumnus_out_of_the_directory(world: Lifecycle) -> None:
    departure = world.departure(last_name="Zéphyrin", department="Research", country="BE", city="Gent")
    await world.depart(departure)
    alumnus_id = (await world.alumnus_for(departure["employee_id"]))["alumnus_id"]
    own = world.auth("alumni:self", subject=f"alumnus:{alumnus_id}")
    skill = f"skill-{alumnus_id[-6:]}"

    async with httpx.AsyncClient(base_url=world.identity) as http:
        patched = await http.patch(f"/alumni/{alumnus_id}", json={"skills": [skill], "willing_to": ["mentor"]}, headers=own)
        before = await http.get("/directory", params={"skill": skill}, headers=own)
        granted = await http.put(f"/alumni/{alumnus_id}/consents/directory", json={"granted": True}, headers=own)
        listed = await http.get("/directory", params={"skill": skill.upper(), "country": "be", "departure_year": 2026, "willing_to": "mentor"}, headers=world.auth("alumni:read"))
        withdrawn = await http.put(f"/alumni/{alumnus_id}/consents/directory", json={"granted": False}, headers=world.auth("alumni:write", subject="pm-42"))
        after = await http.get("/directory", params={"skill": skill}, headers=own)
        history = await http.get(f"/alumni/{alumnus_id}/consents", headers=own)

    assert patched.status_code == 200 and patched.json()["profile"]["skills"] == [skill]
    assert before.json()["total"] == 0
    assert granted.json()["consents"] == {"directory": True}
    assert listed.json()["total"] == 1
    [entry] = listed.json()["items"]
    assert entry["alumnus_id"] == alumnus_id and entry["city"] == "Gent"
    assert "personal_email" not in entry and "phone" not in entry
    assert withdrawn.json()["consents"] == {"directory": False}
    assert after.json() == {"total": 0, "page": 1, "page_size": 20, "items": []}
    assert [(h["granted"], h["source"]) for h in history.json()["history"]] == [(True, "alumnus"), (False, "staff:pm-42")]
    changes = await world.records("alumni.alumnus.consent-changed", alumnus_id, count=2)
    assert [r.json()["granted"] for r in changes] == [True, False]


async def test_the_directory_paginates(world: Lifecycle) -> None:
    department = f"Dept-{time.time_ns()}"
    ids = []
    for n in range(5):
        departure = world.departure(last_name=f"Name{n}", department=department)
        await world.depart(departure)
        ids.append((await world.alumnus_for(departure["employee_id"]))["alumnus_id"])
    admin = world.auth("alumni:write")
    async with httpx.AsyncClient(base_url=world.identity) as http:
        for alumnus_id in ids:
            await http.put(f"/alumni/{alumnus_id}/consents/directory", json={"granted": True}, headers=admin)
        responses = [await http.get("/directory", params={"department": department, "page": p, "page_size": 2}, headers=admin) for p in (1, 2, 3)]
    assert [r.status_code for r in responses] == [200, 200, 200], responses[0].text
    pages = [r.json() for r in responses]

    assert [p["total"] for p in pages] == [5, 5, 5]
    assert [[i["last_name"] for i in p["items"]] for p in pages] == [["Name0", "Name1"], ["Name2", "Name3"], ["Name4"]]


async def test_erasure_removes_the_record_and_offboarding_forgets_the_cases(world: Lifecycle) -> None:
    departure = world.departure(personal_email="to.forget@example.org")
    await world.depart(departure)
    alumnus_id = (await world.alumnus_for(departure["employee_id"]))["alumnus_id"]
    admin = world.auth("alumni:admin")

    async with httpx.AsyncClient(base_url=world.identity) as http:
        await http.put(f"/alumni/{alumnus_id}/consents/events", json={"granted": True}, headers=admin)
        exported = await http.get(f"/alumni/{alumnus_id}/export", headers=admin)
        erased = await http.delete(f"/alumni/{alumnus_id}", headers=admin)
        gone = await http.get(f"/alumni/{alumnus_id}", headers=admin)
        again = await http.delete(f"/alumni/{alumnus_id}", headers=admin)

    assert exported.status_code == 200
    assert exported.json()["alumnus"]["profile"]["personal_email"] == "to.forget@example.org"
    assert [h["purpose"] for h in exported.json()["consent_history"]] == ["events"]
    assert erased.status_code == 200
    assert (gone.status_code, gone.json()["detail"]) == (404, f"alumnus {alumnus_id} was erased")
    assert again.status_code == 404
    [event] = await world.records("alumni.alumnus.erased", alumnus_id)
    assert event.json()["employee_ids"] == [departure["employee_id"]]
    assert "personal_email" not in event.value.decode()

    client, db = await world.offboarding_db()
    for _ in range(100):
        if await db.exit_cases.count_documents({"employee_id": departure["employee_id"]}) == 0:
            break
        await asyncio.sleep(0.2)
    assert await db.exit_cases.count_documents({"employee_id": departure["employee_id"]}) == 0
    assert await db.exit_invitations.count_documents({"case_id": {"$regex": f"^{departure['employee_id']}/"}}) == 0
    await client.close()


async def test_the_api_refuses_clearly(world: Lifecycle) -> None:
    departure = world.departure()
    await world.depart(departure)
    alumnus_id = (await world.alumnus_for(departure["employee_id"]))["alumnus_id"]
    expired = jwt.encode({"sub": "pm", "scope": "alumni:read", "exp": int(time.time()) - 60}, SECRET, algorithm="HS256")
    forged = jwt.encode({"sub": "pm", "scope": "alumni:admin", "exp": int(time.time()) + 60}, "x" * 40, algorithm="HS256")

    async with httpx.AsyncClient(base_url=world.identity) as http:
        anonymous = await http.get(f"/alumni/{alumnus_id}")
        stale = await http.get(f"/alumni/{alumnus_id}", headers={"Authorization": f"Bearer {expired}"})
        fake = await http.get(f"/alumni/{alumnus_id}", headers={"Authorization": f"Bearer {forged}"})
        reader_writes = await http.patch(f"/alumni/{alumnus_id}", json={"city": "Lille"}, headers=world.auth("alumni:read"))
        someone_else = await http.get(f"/alumni/{alumnus_id}", headers=world.auth("alumni:self", subject="alumnus:alm_other"))
        own = await http.get(f"/alumni/{alumnus_id}", headers=world.auth("alumni:self", subject=f"alumnus:{alumnus_id}"))
        own_export = await http.get(f"/alumni/{alumnus_id}/export", headers=world.auth("alumni:self", subject=f"alumnus:{alumnus_id}"))
        bad_phone = await http.patch(f"/alumni/{alumnus_id}", json={"phone": "06 12"}, headers=world.auth("alumni:write"))
        unknown_field = await http.patch(f"/alumni/{alumnus_id}", json={"salary": 1}, headers=world.auth("alumni:write"))
        cleared_name = await http.patch(f"/alumni/{alumnus_id}", json={"last_name": None}, headers=world.auth("alumni:write"))
        bad_purpose = await http.put(f"/alumni/{alumnus_id}/consents/telepathy", json={"granted": True}, headers=world.auth("alumni:write"))
        huge_page = await http.get("/directory", params={"page_size": 1000}, headers=world.auth("alumni:read"))
        nobody = await http.get("/alumni/alm_nobody", headers=world.auth("alumni:read"))

    assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"] == "Bearer"
    assert (stale.status_code, stale.json()["detail"]) == (401, "the token has expired")
    assert fake.status_code == 401 and fake.json()["detail"].startswith("the token is not valid")
    assert reader_writes.status_code == 403 and "alumni:write" in reader_writes.json()["detail"]
    assert someone_else.status_code == 403
    assert own.status_code == 200
    assert own_export.status_code == 200  # the data subject's own access, as their erasure is
    assert bad_phone.status_code == 422 and bad_phone.json()["detail"][0]["loc"] == ["body", "phone"]
    assert unknown_field.status_code == 422 and unknown_field.json()["detail"][0]["loc"] == ["body", "salary"]
    assert (cleared_name.status_code, cleared_name.json()["detail"]) == (422, "first_name and last_name cannot be cleared")
    assert bad_purpose.status_code == 422 and bad_purpose.json()["detail"][0]["loc"] == ["path", "purpose"]
    assert huge_page.status_code == 422 and huge_page.json()["detail"][0]["loc"] == ["query", "page_size"]
    assert nobody.status_code == 404


async def _refusals(db, collection: str = "erased_people") -> int:
    return sum([doc.get("refusals", 0) async for doc in db[collection].find()])


async def _eventually_refused(db, at_least: int) -> int:
    for _ in range(150):
        if (found := await _refusals(db)) >= at_least:
            return found
        await asyncio.sleep(0.2)
    return await _refusals(db)


async def test_an_erased_person_never_comes_back_through_a_re_send_or_a_replayed_completion(world: Lifecycle) -> None:
    departure = world.departure()
    await world.depart(departure)
    alumnus_id = (await world.alumnus_for(departure["employee_id"]))["alumnus_id"]
    async with httpx.AsyncClient(base_url=world.identity) as http:
        assert (await http.delete(f"/alumni/{alumnus_id}", headers=world.auth("alumni:admin"))).status_code == 200
    [completed] = await world.records("alumni.offboarding.completed", departure["employee_id"])
    client, offboarding = await world.offboarding_db()
    identity = client["alumni_identity"]
    for _ in range(100):  # offboarding has handled the erasure
        if await offboarding.exit_cases.count_documents({"employee_id": departure["employee_id"]}) == 0:
            break
        await asyncio.sleep(0.2)
    offboarding_refusals, identity_refusals = await _refusals(offboarding), await _refusals(identity)

    await world.depart(departure)  # the HRIS sends the departure again
    headers = [(k, v.encode()) for k, v in completed.headers.items() if k != "ce_id"] + [("ce_id", b"replayed-completion")]
    await produce(world.bootstrap, "alumni.offboarding.completed", [(completed.key, completed.value, headers)])

    assert await _eventually_refused(offboarding, offboarding_refusals + 1) == offboarding_refusals + 1
    assert await _eventually_refused(identity, identity_refusals + 1) == identity_refusals + 1
    assert await offboarding.exit_cases.count_documents({"employee_id": departure["employee_id"]}) == 0
    assert len(await world.records("alumni.offboarding.exit-form-issued", departure["employee_id"], count=2, timeout=3)) == 1
    assert await identity.alumni.count_documents({"stints.employee_id": departure["employee_id"]}) == 0
    # What remembers them says nothing of who they were.
    assert not [d async for d in offboarding.erased_people.find({"$or": [{"_id": departure["employee_id"]}, {"employee_id": {"$exists": True}}]})]
    await client.close()
