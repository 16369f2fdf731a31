"""The chunk consumers against what could be written to their topics: a record that is not
JSON, a chunk over the contract's bound, a chunk replayed under its own id, a chunk naming an
erased person. Bad records go to the dead-letter topic with their reason, a replay changes
nothing, an erased person is never brought back."""

import json
import uuid
from datetime import date

from shared.erasure import ErasureKeys
from shared.settings import DEVELOPMENT_ERASURE_HASH_KEY
from tests.integration.imports.conftest import Imports, unique
from tests.integration.kafka_io import cloudevent_headers, produce, wait_for

LEAVERS, ALUMNI = "alumni.offboarding.leavers-imported", "alumni.alumnus.imported"
KEYS = ErasureKeys(DEVELOPMENT_ERASURE_HASH_KEY)


def chunk(import_id: str, employee_ids: list[str]) -> dict:
    return {"import_id": import_id, "batch": 0, "part": 0, "leavers": [
        {"employee_id": e, "hire_date": "2010-01-04", "departure_date": "2016-05-31", "departure_reason": "resignation",
         "leaver": {"first_name": "Noé", "last_name": "Roux", "work_email": f"{e.lower()}@acme.example", "locale": "fr"}}
        for e in employee_ids]}


async def send(imports: Imports, topic: str, ce_type: str, key: str, value: bytes, ce_id: str | None = None) -> None:
    await produce(imports.stack.cfg.bootstrap_servers, topic, [(key.encode(), value, cloudevent_headers(ce_type, ce_id=ce_id, source="/tests/forged"))])


async def test_bad_chunks_are_dead_letters_a_replay_changes_nothing_and_the_erased_stay_out(imports: Imports) -> None:
    run = unique("Q")
    the_id = f"imp-{run}"
    leavers_type, alumni_type = "com.alumni.offboarding.leavers-imported.v1", "com.alumni.alumnus.imported.v1"
    await send(imports, LEAVERS, leavers_type, the_id, b"{not json")
    await send(imports, LEAVERS, leavers_type, the_id, json.dumps(chunk(the_id, [f"{run}-{n}" for n in range(1001)])).encode())
    await send(imports, ALUMNI, alumni_type, the_id, json.dumps({"import_id": the_id, "alumni": [{"alumnus_id": "x"}]}).encode())

    bootstrap = imports.stack.cfg.bootstrap_servers
    dead = await wait_for(bootstrap, f"{LEAVERS}.dlq", lambda r: r.key == the_id.encode(), count=2, timeout=60)
    assert sorted(r.headers["dlq_error_class"] for r in dead) == ["SchemaViolation", "UndecodableValue"]
    groups = {r.headers["dlq_group"] for r in await wait_for(bootstrap, f"{ALUMNI}.dlq", lambda r: r.key == the_id.encode(), count=3, timeout=60)}
    assert groups == {"notifications.alumni.alumnus.imported", "referrals.alumni.alumnus.imported", "engagement.alumni.alumnus.imported"}

    # A person erased in identity (their stint remembered there), named by a chunk written to the topic.
    client, db = await imports.db("identity")
    try:
        await db.erased_people.insert_one({"_id": KEYS.of_stint(f"{run}-GONE", date(2010, 1, 4)), "erased_at": None, "readmitted_at": None})
    finally:
        await client.close()
    event_id = str(uuid.uuid4())
    value = json.dumps(chunk(the_id, [f"{run}-A", f"{run}-GONE"])).encode()
    for _ in range(2):  # the same record twice (same ce_source and ce_id): a replay
        await send(imports, LEAVERS, leavers_type, the_id, value, ce_id=event_id)

    [alumnus] = (await imports.wait_for_alumni([f"{run}-A"])).values()
    announced = await wait_for(bootstrap, ALUMNI, lambda r: r.key == the_id.encode() and r.headers.get("ce_source") == "/alumni/identity",
                               count=1, timeout=60, settle=3)
    assert len(announced) == 1 and [a["alumnus_id"] for a in announced[0].json()["alumni"]] == [alumnus["_id"]]
    assert await imports.alumni_of([f"{run}-GONE"]) == {}
