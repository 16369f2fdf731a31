"""The import API against what an attacker, or a broken client, sends: bodies over the bound,
rows over the count, bodies that are not JSON or nest too deep, tokens forged, missing or
without the scope, a batch replayed with other rows. Each is refused, or answered as before,
and changes nothing."""

import json

import httpx

from shared.web.auth import TokenVerifier
from tests.integration.imports.conftest import Imports, leaver, unique
from tests.integration.kafka_io import wait_for


async def streamed(chunk: bytes, times: int):
    """A body sent in chunks, with no declared length."""
    for _ in range(times):
        yield chunk


def rows(run: str, count: int, **fields) -> list[dict]:
    return [{"line": n + 2, "record": leaver(f"{run}-{n:04d}", litigation_pending=False, **fields)} for n in range(count)]


async def test_hostile_batches_are_refused_and_change_nothing(imports: Imports) -> None:
    run = unique("Z")
    the_id = f"imp-{run}-hostile"
    url = f"{imports.url()}/imports/{the_id}/batches/0"
    admin = imports.auth("alumni:admin")
    forged = {"Authorization": f"Bearer {TokenVerifier('another-secret-of-at-least-32-chars!').issue('x', ['alumni:admin'])}"}
    padding = "x" * 400
    async with httpx.AsyncClient(timeout=60) as http:
        answers = {
            "over the bound": await http.post(url, headers=admin | {"Content-Type": "application/json"},
                                              content=json.dumps({"rows": rows(run, 1000, city=padding * 2)}).encode() + b" " * 10),
            "streamed over the bound": await http.post(url, headers=admin, content=streamed(b"x" * 65_536, 20)),
            "too many rows": await http.post(url, headers=admin, json={"rows": rows(run, 1001)}),
            "not json": await http.post(url, headers=admin, content=b'{"rows": [{"line": 2,'),
            "nested too deep": await http.post(url, headers=admin, content=b'{"rows": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"),
            "bad line": await http.post(url, headers=admin, json={"rows": [{"line": -1, "record": leaver(f"{run}-1")}]}),
            "no token": await http.post(url, json={"rows": rows(run, 2)}),
            "forged token": await http.post(url, headers=forged, json={"rows": rows(run, 2)}),
            "no scope": await http.post(url, headers=imports.auth("alumni:write"), json={"rows": rows(run, 2)}),
            "progress, no token": await http.get(f"{imports.url()}/imports/{the_id}"),
            "bad import id": await http.post(f"{imports.url()}/imports/x/batches/0", headers=admin, json={"rows": rows(run, 2)}),
        }
        assert {k: r.status_code for k, r in answers.items()} == {
            "over the bound": 413, "streamed over the bound": 413, "too many rows": 422, "not json": 422, "nested too deep": 422,
            "bad line": 422, "no token": 401, "forged token": 401, "no scope": 403, "progress, no token": 401, "bad import id": 422,
        }
        assert (await imports.progress(the_id))["batches_done"] == []

        # Rows offboarding's rules refuse, in a batch it takes: reported by line, never stored.
        hostile = [{"line": 2, "record": leaver(f"{run}-" + "y" * 5000)}, {"line": 3, "record": {"employee_id": {"$ne": None}}},
                   {"line": 4, "record": leaver(f"{run}-ok", litigation_pending=False, unknown={"deep": ["x"] * 100})}]
        first = await http.post(url, headers=admin, json={"rows": hostile})
        replay = await http.post(url, headers=admin, json={"rows": rows(run, 5)})  # the same batch, other rows
    assert first.status_code == 200 and first.json()["counts"]["invalid"] == 2 and first.json()["counts"]["imported"] == 1
    assert [line["line"] for line in first.json()["lines"]] == [2, 3] and "yyyy" not in first.text
    assert replay.status_code == 200 and replay.json() == first.json() | {"replayed": True}
    chunks = await wait_for(imports.stack.cfg.bootstrap_servers, "alumni.offboarding.leavers-imported", lambda r: r.key == the_id.encode(),
                            count=1, timeout=30, settle=3)
    assert len(chunks) == 1 and [leaver["employee_id"] for leaver in chunks[0].json()["leavers"]] == [f"{run}-ok"]
    assert (await imports.progress(the_id))["rows"] == 3
