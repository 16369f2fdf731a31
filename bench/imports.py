"""Benchmark: an import of historic leavers, from the operator's command to every projection.

    .venv/bin/python -m bench.imports --leavers 100000 [--departures 300]

`measure_import(stack, leavers, log)` writes a file of that many leavers (JSON lines: 1% excluded
for cause, 0.1% rows that break the contract), imports it with the operator's command
(`python -m services.offboarding.imports`, as its own process) against a running stack, and
waits until identity and the three projections (notifications, referrals, engagement) have
read every chunk. It returns leavers per second from the command's start until the last
projection caught up, the time each stage finished, the alumni each service holds, the CPU
seconds each process spent (services, the database, the broker: where the time goes) and
peak RSS.

Run alone, it starts a stack of its own (.stack/bench-imports, other ports than bench.pipeline's),
emptied at every run, measures the pipeline's throughput in departures per second (as
bench/pipeline.py does, from intake to the welcome email) and then the import, in the same
run: the target is an import at least 10 times the pipeline's rate per departure.
"""

import argparse
import asyncio
import json
import logging
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pymongo import AsyncMongoClient

from bench.stack import bench_config
from devstack.config import ROOT, StackConfig
from devstack.stack import LocalStack
from shared.settings import DEVELOPMENT_JWT_SECRET
from shared.topics import consumer_group, topic_partitions
from shared.web.auth import TokenVerifier

# Who reads an import's chunks, on which topic: when every group has caught up, the import is done.
STAGES = {
    "identity": "alumni.offboarding.leavers-imported",
    "notifications": "alumni.alumnus.imported",
    "referrals": "alumni.alumnus.imported",
    "engagement": "alumni.alumnus.imported",
}
HELD = {"identity": "alumni", "notifications": "reachable_alumni", "referrals": "referrers", "engagement": "known_alumni"}
COUNTRIES, DEPARTMENTS = ("FR", "GB", "DE", "ES", "US", "BE", "CA"), ("Finance", "Engineering", "Sales", "Legal", "Operations")


def write_leavers(path: Path, count: int, run: str) -> dict[str, int]:
    """A file of `count` leavers; how many are eligible, excluded and bad."""
    rng = random.Random(run)
    yesterday = date.today() - timedelta(days=1)
    shares = {"eligible": 0, "excluded": 0, "invalid": 0}
    with path.open("w") as f:
        for n in range(count):
            hired = date(2000, 1, 3) + timedelta(days=rng.randrange(7000))
            record = {
                "employee_id": f"H-{run}-{n:07d}", "first_name": f"Prénom{n}", "last_name": "Historique",
                "work_email": f"h{n}.{run}@acme.example", "personal_email": f"h{n}.{run}@home.example",
                "hire_date": hired.isoformat(), "departure_date": min(hired + timedelta(days=200 + rng.randrange(3000)), yesterday).isoformat(),
                "departure_reason": rng.choice(("resignation", "retirement", "layoff", "end_of_contract", "mutual_agreement")),
                "country": rng.choice(COUNTRIES), "department": rng.choice(DEPARTMENTS), "locale": rng.choice(("fr", "en")),
            }
            kind = "excluded" if n % 100 == 99 else "invalid" if n % 1000 == 500 else "eligible"
            record |= {"excluded": {"departure_reason": "termination_for_cause"}, "invalid": {"work_email": "not an address"}}.get(kind, {})
            shares[kind] += 1
            f.write(json.dumps(record) + "\n")
    return shares


def cpu_seconds(pid: int | None) -> float:
    if not pid:
        return float("nan")
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int | None) -> float:
    return next((int(line.split()[1]) / 1024 for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("VmHWM:")),
                float("nan")) if pid else float("nan")


def processes(stack: LocalStack) -> dict[str, int | None]:
    return {name: s.process.pid() for name, s in stack.services.items()} | {
        "database": stack.database.process.pid(), "kafka": stack.kafka.process.pid()}


async def positions(bootstrap: str) -> dict[str, tuple[int, int]]:
    """For each stage: the end of its topic, and how far its consumer group has committed."""
    admin, consumer = AIOKafkaAdminClient(bootstrap_servers=bootstrap), AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await admin.start()
    await consumer.start()
    try:
        found = {}
        for service, topic in STAGES.items():
            partitions = [TopicPartition(topic, p) for p in range(topic_partitions()[topic])]
            committed = await admin.list_consumer_group_offsets(consumer_group(service, topic), partitions=partitions)
            ends = await consumer.end_offsets(partitions)
            found[service] = (sum(ends.values()), sum(max(committed[tp].offset, 0) for tp in partitions if tp in committed))
        return found
    finally:
        await consumer.stop()
        await admin.close()


async def wait_until_read(bootstrap: str, chunks: int, started: float, start: dict[str, tuple[int, int]]) -> dict[str, float]:
    """When each stage had read everything: identity once the import's `chunks` (the events
    offboarding published) are on its topic and committed; each projection once, after that, it has committed the end of its topic (what
    identity published, its relay given a moment)."""
    caught_up: dict[str, float] = {}
    while len(caught_up) < len(STAGES):
        now = time.monotonic()
        for service, (end, committed) in (await positions(bootstrap)).items():
            if service in caught_up or committed < end:
                continue
            if service == "identity" and end >= start["identity"][0] + chunks:
                caught_up[service] = now - started
            elif service != "identity" and "identity" in caught_up and now - started > caught_up["identity"] + 2:
                caught_up[service] = now - started
        if now - started > 3 * 3600:
            raise SystemExit(f"bench: the import was not read within 3 hours: {await positions(bootstrap)}")
        await asyncio.sleep(0.5)
    return caught_up


async def chunk_seconds(stack: LocalStack) -> dict[str, dict[str, float]]:
    """Each stage's handling of one chunk (its mean and its slowest bucket), from the service's
    own `alumni_handler_duration_seconds` histogram: it must stay well under HANDLER_TIMEOUT_SECONDS."""
    found = {}
    async with httpx.AsyncClient(timeout=10) as http:
        for service, topic in STAGES.items():
            text = (await http.get(f"{stack.services[service].url}/metrics")).text
            mine = [line for line in text.splitlines() if line.startswith("alumni_handler_duration_seconds") and f'topic="{topic}"' in line
                    and 'outcome="handled"' in line]
            value = {kind: sum(float(line.rsplit(" ", 1)[1]) for line in mine if line.startswith(f"alumni_handler_duration_seconds_{kind}"))
                     for kind in ("sum", "count")}
            buckets = sorted((float(line.split('le="', 1)[1].split('"', 1)[0]), float(line.rsplit(" ", 1)[1]))
                             for line in mine if "_bucket" in line and 'le="+Inf"' not in line)
            slowest = next((le for le, n in buckets if n >= value["count"]), float("inf"))
            found[service] = {"chunks": int(value["count"]), "mean": round(value["sum"] / max(value["count"], 1), 2), "all_under": slowest}
    return found


async def held(cfg: StackConfig) -> dict[str, int]:
    client = AsyncMongoClient(cfg.mongodb_uri)
    try:
        return {service: await client[f"alumni_{service}"][collection].count_documents({}) for service, collection in HELD.items()}
    finally:
        await client.close()


async def command(stack: LocalStack, path: Path, log) -> dict[str, Any]:
    """The operator's command as its own process; its summary, and its own peak RSS."""
    token = TokenVerifier(os.environ.get("AUTH_JWT_SECRET", DEVELOPMENT_JWT_SECRET)).issue("bench-operator", ["alumni:admin"], 4 * 3600)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.offboarding.imports", str(path), "--url", stack.services["offboarding"].url,
        cwd=ROOT, env={**os.environ, "ALUMNI_TOKEN": token}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )

    async def progress() -> None:  # the command's progress lines, as it prints them
        async for line in process.stderr:
            log(f"  {line.decode().rstrip()}")

    out, _ = await asyncio.gather(process.stdout.read(), progress())
    if await process.wait() != 0:
        raise SystemExit(f"bench: the import command failed ({process.returncode})")
    return json.loads(out) | {"peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


async def measure_import(stack: LocalStack, leavers: int, log=print) -> dict[str, Any]:
    run = uuid.uuid4().hex[:6]
    with tempfile.TemporaryDirectory(prefix="bench-import-") as folder:
        path = Path(folder) / "leavers.jsonl"
        shares = write_leavers(path, leavers, run)
        log(f"import of {leavers:,} leavers ({shares['eligible']:,} eligible, {shares['excluded']:,} excluded, {shares['invalid']:,} bad rows)")
        before_held, pids = await held(stack.cfg), processes(stack)
        start = await positions(stack.cfg.bootstrap_servers)
        cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        started = time.monotonic()
        summary = await command(stack, path, log)
    accepted = time.monotonic() - started
    caught_up = await wait_until_read(stack.cfg.bootstrap_servers, summary["events"], started, start)
    total = max(caught_up.values())
    after_held, per_chunk = await held(stack.cfg), await chunk_seconds(stack)
    return {
        "leavers": leavers, "eligible": shares["eligible"], "counts": summary["counts"],
        "leavers_per_second": round(leavers / total, 1), "alumni_per_second": round(shares["eligible"] / total, 1),
        "total_seconds": round(total, 1), "accepted_by_offboarding_seconds": round(accepted, 1),
        "caught_up_seconds": {k: round(v, 1) for k, v in caught_up.items()},
        "alumni_held": {service: after_held[service] - before_held[service] for service in HELD},
        "seconds_per_chunk": per_chunk,
        "cpu_seconds": {name: round(cpu_seconds(pid) - cpu_before[name], 1) for name, pid in pids.items()},
        "peak_rss_mb": {name: round(peak_rss_mb(pid)) for name, pid in pids.items() if name in stack.services} | {
            "command": round(summary["peak_rss_mb"])},
    }


async def main(args: argparse.Namespace) -> None:
    from bench.arrivals import Arrivals, throughput

    cfg = bench_config("bench-imports", 29100)
    arrivals = Arrivals().start()
    stack = LocalStack(cfg, service_env={"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(arrivals.port), "CHAT_CHANNELS": "{}", "LOG_LEVEL": "WARNING"})
    stack.down(log=lambda line: None)  # whatever an interrupted run left
    shutil.rmtree(cfg.home, ignore_errors=True)
    print(f"starting an empty bench stack in {cfg.home} ...", flush=True)
    await stack.up_infrastructure(log=lambda line: None)
    try:
        await stack.up_services(log=lambda line: None)
        departed = ("hris.employee.departed", "com.alumni.employee.departed.v1")
        await throughput(cfg, arrivals, *departed, 50, 120)  # warm-up
        pipe_rate = await throughput(cfg, arrivals, *departed, args.departures, 900)
        print(f"pipeline (five services, to SMTP): {pipe_rate:.1f} departures/s", flush=True)
        welcomes = arrivals.count
        figures = await measure_import(stack, args.leavers, log=lambda line: print(line, flush=True))
        figures["emails_during_import"] = arrivals.count - welcomes
        print(json.dumps(figures, indent=2))
        ratio = figures["leavers_per_second"] / pipe_rate
        print(f"import: {figures['leavers_per_second']:.1f} leavers/s ({figures['total_seconds']:.0f} s for {args.leavers:,}), "
              f"{ratio:.1f} x the pipeline's {pipe_rate:.1f} departures/s (target: at least 10 x)")
    finally:
        stack.down(log=lambda line: None)
        arrivals.stop()


def cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.imports", description=__doc__.split("\n\n")[0])
    parser.add_argument("--leavers", type=int, default=100_000, help="leavers in the imported file")
    parser.add_argument("--departures", type=int, default=300, help="departures for the pipeline's throughput run")
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # it logs every refused connection while the broker starts
    asyncio.run(main(parser.parse_args(argv)))
    return 0


if __name__ == "__main__":
    raise SystemExit(cli())
