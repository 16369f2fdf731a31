"""Two instances of every service, as a cluster runs them: the same consumer groups, the same
databases. Departures flow, future-dated ones fall due while both offboarding instances run
their scheduler, then one instance of each service is SIGKILLed and not brought back. At the
end every eligible departure has exactly one alumnus and one welcome email, every record was
consumed (the killed instances' partitions went to the survivors) and no outbox holds an
unsent event (the survivors' relays took over the killed ones' after their lease).

`REPLICA_DEPARTURES` sets the load (600 by default). `./alumni test -m system` runs it."""

import asyncio
import json
import os
import random
import time
import uuid
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from pymongo import AsyncMongoClient

from devstack.process import free_port
from devstack.services import ServiceProcess
from tests.integration.kafka_io import cloudevent_headers, produce, wait_for, wait_until_consumed
from tests.integration.system.conftest import System

DEPARTURES = int(os.environ.get("REPLICA_DEPARTURES", "600"))
TODAY = date.today()
DUE_IN_DAYS = 3


def _departures(run: str) -> list[dict]:
    rng = random.Random(run)
    return [
        {
            "employee_id": f"RPL-{run}-{n:05d}", "first_name": f"R{n}", "last_name": "Replica",
            "work_email": f"w{n}.{run}@acme.example", "personal_email": f"p{n}.{run}@home.example",
            "hire_date": (TODAY - timedelta(days=900)).isoformat(),
            # A fifth leave in three days: the scheduler completes them once the clock moves.
            "departure_date": (TODAY + timedelta(days=DUE_IN_DAYS if n % 5 == 0 else -1)).isoformat(),
            "departure_reason": "termination_for_cause" if rng.random() < 0.05 else "resignation", "locale": rng.choice(["fr", "en"]),
        }
        for n in range(DEPARTURES)
    ]


@pytest.mark.timeout(1800)
async def test_two_instances_of_every_service_survive_losing_one_each(system: System, tmp_path: Path, figures) -> None:
    stack, run = system.stack, uuid.uuid4().hex[:6]
    clock = tmp_path / "now"
    clock.write_text(datetime.combine(TODAY, datetime.min.time()).isoformat())
    # The package's one-instance services make way for pairs that share a clock the test moves.
    for service in stack.services.values():
        service.stop()
    pairs = {
        name: [
            ServiceProcess(stack.cfg, name, free_port(), _env_of(service) | {"CLOCK_FILE": str(clock), "DUE_CASES_INTERVAL_SECONDS": "1"}, instance=tag)
            for tag in ("a", "b")
        ]
        for name, service in stack.services.items()
    }
    everyone = [p for pair in pairs.values() for p in pair]
    for process in everyone:
        process.start()
    await asyncio.gather(*(p.wait_ready(timeout=120) for p in everyone))
    try:
        await _scenario(system, pairs, clock, run, figures)
    finally:
        for process in everyone:
            process.stop()
        await stack.up_services(log=lambda line: None)  # as the package's other tests expect


def _env_of(service: ServiceProcess) -> dict[str, str]:
    """The package's settings for this service (SMTP, chat, traces), its port left to the instance."""
    return {k: v for k, v in (service.process.env or {}).items() if k != "HTTP_PORT"}


async def _scenario(system: System, pairs: dict[str, list[ServiceProcess]], clock: Path, run: str, figures) -> None:
    stack, rng = system.stack, random.Random(run)
    departures = _departures(run)
    eligible = [d for d in departures if d["departure_reason"] != "termination_for_cause"]
    client = AsyncMongoClient(stack.cfg.mongodb_uri)
    alumni = client["alumni_identity"]["alumni"]
    started = time.monotonic()

    async def registered() -> int:
        return await alumni.count_documents({"stints.employee_id": {"$regex": f"^RPL-{run}-"}})

    def records(batch: list[dict]) -> list:
        return [(d["employee_id"].encode(), json.dumps(d).encode(), cloudevent_headers("com.alumni.employee.departed.v1")) for d in batch]

    batches = [departures[i:i + 50] for i in range(0, len(departures), 50)]
    first, second = batches[: len(batches) * 3 // 5], batches[len(batches) * 3 // 5 :]
    for batch in first:
        await produce(stack.cfg.bootstrap_servers, "hris.employee.departed", records(batch))
    # The future-dated ones wait as open cases; then their date comes while both offboarding
    # instances run their scheduler.
    future = [d for batch in first for d in batch if d["departure_date"] > TODAY.isoformat() and d in eligible]
    cases = client["alumni_offboarding"]["exit_cases"]
    waiting = {"employee_id": {"$in": [d["employee_id"] for d in future]}, "status": "open"}
    while await cases.count_documents(waiting) < len(future):
        assert time.monotonic() - started < 300, "the future-dated departures never became open cases"
        await asyncio.sleep(0.5)
    clock.write_text(datetime.combine(TODAY + timedelta(days=DUE_IN_DAYS), datetime.min.time()).isoformat())
    while await cases.count_documents(waiting) > 0:
        assert time.monotonic() - started < 300, "the due cases were never completed"
        await asyncio.sleep(0.2)
    fallen_due = f"{len(future)} fell due at {time.monotonic() - started:.0f}s, completed by the two schedulers"
    # Then, while the rest flows, one instance of each service dies, one after another.
    victims = list(pairs)
    rng.shuffle(victims)
    killed = []
    for n, batch in enumerate(second):
        await produce(stack.cfg.bootstrap_servers, "hris.employee.departed", records(batch))
        await asyncio.sleep(0.5)
        if victims and n % 2 == 1:
            name = victims.pop()
            victim = pairs[name].pop(rng.randrange(2))
            victim.process.kill()
            killed.append(f"{name}-{victim.instance} at {time.monotonic() - started:.0f}s ({await registered()} alumni so far)")
    for name in victims:
        victim = pairs[name].pop(rng.randrange(2))
        victim.process.kill()
        killed.append(f"{name}-{victim.instance} at {time.monotonic() - started:.0f}s ({await registered()} alumni so far)")

    deadline = time.monotonic() + 900
    while await registered() < len(eligible) and time.monotonic() < deadline:
        await asyncio.sleep(2)

    def welcomes(address: str) -> set[str]:
        return {m["Message-ID"] for m in system.mailbox.to(address) if "elcome" in m["Subject"] or "ienvenue" in m["Subject"]}

    while time.monotonic() < deadline and sum(1 for d in eligible if welcomes(d["personal_email"])) < len(eligible):
        await asyncio.sleep(2)
    elapsed = time.monotonic() - started
    left = await wait_until_consumed(stack.cfg.bootstrap_servers, tuple(pairs), timeout=300)
    await asyncio.sleep(3)  # anything extra would arrive now

    per_person = Counter()
    async for doc in alumni.find({"stints.employee_id": {"$regex": f"^RPL-{run}-"}}, {"stints.employee_id": 1}):
        for stint in doc["stints"]:
            per_person[stint["employee_id"]] += 1
    pending = {name: await client[f"alumni_{name}"]["outbox"].count_documents({"status": "pending"}) for name in pairs}
    # No double work: each case that fell due was completed once, by one scheduler or the other.
    future_ids = {d["employee_id"].encode() for d in future}
    completions = await wait_for(stack.cfg.bootstrap_servers, "alumni.offboarding.completed", lambda r: r.key in future_ids, count=len(future), settle=2)
    per_case = Counter(r.key for r in completions)
    await client.close()
    survivors = {name: pair[0] for name, pair in pairs.items()}

    figures(f"replicas: {len(departures)} departures ({len(eligible)} eligible) in {elapsed:.0f}s, two instances of each service; {fallen_due}")
    figures(f"  killed (SIGKILL, not restarted): {'; '.join(killed)}")
    figures(f"  alumni: {sum(per_person.values())} for {len(eligible)} eligible; welcome emails: {sum(len(welcomes(d['personal_email'])) for d in eligible)}")
    figures(f"  survivors: {', '.join(f'{n}-{p.instance}' for n, p in survivors.items())}; outbox pending: {sum(pending.values())}; records left: {left}")
    assert {d["employee_id"] for d in eligible} == set(per_person), "an eligible departure has no alumnus, or an excluded one has"
    assert set(per_person.values()) == {1}, "a departure has two alumni"
    assert len(per_case) == len(future) and set(per_case.values()) == {1}, "a due case was completed twice, or never"
    assert all(len(welcomes(d["personal_email"])) == 1 for d in eligible), "an eligible departure has no welcome email, or two"
    # Records written after the kills were all consumed: each group's partitions, the killed
    # instance's included, went to the survivor.
    assert left == 0, "records the survivors did not consume"
    assert pending == {name: 0 for name in pairs}, "an event stuck in an outbox"

