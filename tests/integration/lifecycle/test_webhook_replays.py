"""A replayed webhook stays refused however its signature header is dressed up: the replay key
is the canonical signature, so a non-breaking space after it or another letter case never make
a second departure."""

import json

import httpx

from tests.integration.lifecycle.conftest import Lifecycle


async def test_a_replay_with_a_mutated_signature_header_is_refused(world: Lifecycle) -> None:
    departure = world.departure()
    body = json.dumps(departure).encode()
    headers = world.signed("acme", body)
    signature = headers["X-Signature"].encode()
    url = f"{world.offboarding}/webhooks/hris/acme"
    mutations = [signature + b"\xa0", signature + b"\xa0\xa0", signature.upper().replace(b"SHA256=", b"sha256="), signature.replace(b"sha256=", b"SHA256=")]
    async with httpx.AsyncClient() as http:
        first = await http.post(url, content=body, headers=headers | {"Content-Type": "application/json"})
        replays = [
            await http.post(url, content=body, headers={"X-Timestamp": headers["X-Timestamp"], "X-Signature": mutated, "Content-Type": "application/json"})
            for mutated in mutations
        ]

    assert first.status_code == 202
    for mutated, replay in zip(mutations, replays, strict=True):
        assert replay.status_code == 401, (mutated, replay.status_code, replay.text)
    # One departure on the topic, one alumnus: none of the replays got through.
    published = await world.records("hris.employee.departed", departure["employee_id"], count=1, settle=2.0)
    assert [r.headers["ce_id"] for r in published] == [first.json()["event_id"]]
