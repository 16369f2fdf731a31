"""Benchmark: one hosted-event invitation to many consented alumni, through engagement's API to
a real SMTP server, while departures trickle in and their welcome emails are timed.

    .venv/bin/python -m bench.fanout --alumni 50000
    .venv/bin/python -m bench.fanout --alumni 3000 --trickle-rate 0.5 --quiet-seconds 120

Standalone, it starts a stack of its own (.stack/bench-fanout, other ports than the pipeline
bench's), emptied at every run, with notifications as `./alumni up` runs it: the bulk message
stream in a process of its own at a lower CPU priority (`--one-notifications`: one process for
both). `measure_fanout(stack, alumni, log)` runs on any running stack.

The alumni are seeded by writing what each service's handlers would have written for an
eligible completion: identity's alumni (through its domain's `Alumnus.register` and its
repository's document) and consent ledger, the projections of notifications, engagement and
referrals (through their own domain objects and documents). Registering 50,000 leavers through
the pipeline would take the better part of an hour at its per-departure rate and send 50,000
welcome emails; the confirmation links identity would ask for are not seeded.

Then, with a real aiosmtpd server counting every SMTP connection and message:
1. departures trickle in (`--trickle-rate` per second, through the HRIS topic, the whole
   pipeline) for `--quiet-seconds`: the welcome email's latency without a fan-out;
2. one event is hosted for every alumnus (POST /events, then publish) while the trickle goes
   on: the time until the last invitation is accepted, the invitations per second, the
   welcome latency during the fan-out, the SMTP connections opened.
"""

import argparse
import asyncio
import json
import logging
import os
import shutil
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient

from bench.sample import departure, headers
from bench.fanout_tools import CountingSmtp, cpu_seconds, percentile, seed
from bench.stack import bench_config
from devstack.config import StackConfig
from devstack.stack import LocalStack
from shared.settings import DEVELOPMENT_JWT_SECRET
from shared.web.auth import TokenVerifier

# --- measuring ------------------------------------------------------------------------------------

class Trickle:
    """Departures published at a steady low rate through the HRIS topic; when each was sent."""

    def __init__(self, cfg: StackConfig, rate: float) -> None:
        self.cfg, self.rate = cfg, rate
        self.sent: dict[str, float] = {}
        self._task: asyncio.Task | None = None
        self._run = uuid.uuid4().hex[:6]

    async def _publish(self) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self.cfg.bootstrap_servers, acks="all", enable_idempotence=True)
        await producer.start()
        try:
            n, start = 0, time.monotonic()
            while True:
                await asyncio.sleep(max(0.0, start + n / self.rate - time.monotonic()))
                d = departure(self._run, n)
                self.sent[d["personal_email"]] = time.monotonic()
                await producer.send_and_wait("hris.employee.departed", json.dumps(d).encode(),
                                             key=d["employee_id"].encode(), headers=headers("com.alumni.employee.departed.v1"))
                n += 1
        finally:
            await producer.stop()

    def start(self) -> None:
        self._task = asyncio.create_task(self._publish())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


async def welcome_latencies(smtp: CountingSmtp, sent: dict[str, float], timeout: float) -> list[float]:
    """Milliseconds from each departure to its welcome email, once they all arrived."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(a not in smtp.counts.welcomes for a in sent):
        await asyncio.sleep(0.2)
    missing = [a for a in sent if a not in smtp.counts.welcomes]
    if missing:
        raise RuntimeError(f"{len(missing)} of {len(sent)} welcome emails did not arrive within {timeout:.0f}s")
    return [(smtp.counts.welcomes[a] - t) * 1000 for a, t in sent.items()]


async def welcome_stages(cfg: StackConfig, since: float, until: float) -> dict:
    """Of the welcome emails planned during the fan-out, from their planning in notifications
    (the registration handled) to their sending: the part of the latency spent there."""
    client = AsyncMongoClient(cfg.mongodb_uri)
    try:
        window = {"$gte": datetime.fromtimestamp(since, UTC), "$lte": datetime.fromtimestamp(until, UTC)}
        cursor = client["alumni_notifications"].deliveries.find({"template": "welcome", "created_at": window, "status": "sent"})
        waits = [(d["settled_at"] - d["created_at"]).total_seconds() * 1000 async for d in cursor]
    finally:
        await client.close()
    return {"n": len(waits), "p50": round(percentile(waits, 50)), "p99": round(percentile(waits, 99))} if waits else {"n": 0}


async def host_event(stack: LocalStack, title: str, secret: str) -> str:
    headers_ = {"Authorization": f"Bearer {TokenVerifier(secret).issue('bench', ['events:write'])}"}
    starts = (datetime.now(UTC) + timedelta(days=14)).replace(hour=17, minute=30, second=0, microsecond=0)
    body = {"title": title, "kind": "meetup", "starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=2)).isoformat(),
            "timezone": "Europe/Paris", "location": "Paris", "locale": "en", "description": "Alumni meetup."}
    url = stack.services["engagement"].url
    async with httpx.AsyncClient(timeout=60) as http:
        created = await http.post(f"{url}/events", json=body, headers=headers_)
        created.raise_for_status()
        event_id = created.json()["event_id"]
        (await http.post(f"{url}/events/{event_id}/publish", headers=headers_)).raise_for_status()
    return event_id


async def measure_fanout(
    stack: LocalStack, alumni: int, log, *, trickle_rate: float = 0.5, quiet_seconds: float = 120.0, timeout: float = 3600.0,
    secret: str = DEVELOPMENT_JWT_SECRET,
) -> dict:
    """On a running stack: seed `alumni` consented alumni, time the welcome email without a
    fan-out, then host one event for them all and time the invitations and the welcome email
    during the fan-out. Notifications (each of its processes) is restarted to send to this
    bench's SMTP server, and stopped at the end with its settings as they were."""
    run = uuid.uuid4().hex[:6]
    title = f"Fan-out bench {run}"
    smtp = CountingSmtp(title).start()
    senders = [s for s in stack.services.values() if s.name == "notifications"]  # both streams' when apart
    before = [dict(s.process.env) for s in senders]
    for notifications in senders:
        notifications.stop()
        notifications.process.env.update({"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp.port)})
        notifications.start()
    await asyncio.gather(*(s.wait_ready(timeout=120) for s in senders))
    try:
        addresses = await seed(stack.cfg, run, alumni, log)

        trickle = Trickle(stack.cfg, trickle_rate)
        trickle.start()
        await asyncio.sleep(quiet_seconds)
        quiet = dict(trickle.sent)
        connections_before = smtp.counts.connections
        log(f"{len(quiet)} departures without a fan-out; hosting one event for {alumni} alumni ...")

        cpu_before, started, wall_started = cpu_seconds(stack), time.monotonic(), time.time()
        await host_event(stack, title, secret)
        deadline, reported = started + timeout, started
        while sum(1 for a in addresses if a in smtp.counts.invitations) < alumni:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {len(smtp.counts.invitations)} of {alumni} invitations within {timeout:.0f}s")
            if time.monotonic() - reported >= 30:
                reported = time.monotonic()
                log(f"  {len(smtp.counts.invitations)} invitations accepted after {reported - started:.0f}s")
            await asyncio.sleep(0.2)
        finished, cpu_after = smtp.counts.last_invitation, cpu_seconds(stack)
        during = {a: t for a, t in trickle.sent.items() if started <= t <= finished}
        await trickle.stop()

        quiet_ms = await welcome_latencies(smtp, quiet, 300)
        during_ms = await welcome_latencies(smtp, during, 300)
        stages = await welcome_stages(stack.cfg, wall_started, time.time() - (time.monotonic() - finished))
        duplicates = sum(len(ids) - 1 for a, ids in smtp.counts.invitations.items())
        seconds = finished - started
        return {
            "alumni": alumni,
            "seconds_to_last_invitation": round(seconds, 1),
            "invitations_per_second": round(alumni / seconds, 1),
            "invitations_with_two_message_ids": duplicates,
            "smtp_connections": smtp.counts.connections - connections_before,
            "smtp_messages": smtp.counts.messages,
            "welcome_without_fanout_ms": {"n": len(quiet_ms), "p50": round(percentile(quiet_ms, 50)), "p99": round(percentile(quiet_ms, 99))},
            "cpu_seconds_during_fanout": {n: round(cpu_after[n] - cpu_before[n], 1) for n in cpu_after if n in cpu_before},
            "welcome_planned_to_sent_during_fanout_ms": stages,
            "welcome_during_fanout_ms": {"n": len(during_ms), "p50": round(percentile(during_ms, 50)), "p99": round(percentile(during_ms, 99))},
        }
    finally:
        for notifications, env in zip(senders, before):
            notifications.stop()
            notifications.process.env.clear()
            notifications.process.env.update(env)
        smtp.stop()


def bench_stack(extra_env: dict[str, str] | None = None, bulk_apart: bool = True) -> LocalStack:
    return LocalStack(bench_config("bench-fanout", 29200, bulk_apart), service_env={"CHAT_CHANNELS": "{}", "LOG_LEVEL": "WARNING", **(extra_env or {})})


async def main(args: argparse.Namespace) -> None:
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # the broker starting: not news
    extra = dict(e.split("=", 1) for e in args.env)
    stack = bench_stack(extra, bulk_apart=not args.one_notifications)
    stack.down(log=lambda line: None)  # whatever an interrupted run left
    shutil.rmtree(stack.cfg.home, ignore_errors=True)
    layout = "the bulk stream in a process of its own at nice 10" if stack.cfg.bulk_apart else "one process for both streams"
    print(f"starting an empty bench stack in {stack.cfg.home} (notifications: {layout}) ...", flush=True)
    await stack.up_infrastructure(log=lambda line: None)
    try:
        await stack.up_services(log=lambda line: None)
        result = await measure_fanout(stack, args.alumni, lambda line: print(line, flush=True), trickle_rate=args.trickle_rate,
                                      quiet_seconds=args.quiet_seconds, timeout=args.timeout)
    finally:
        stack.down(log=lambda line: None)
    q, d = result["welcome_without_fanout_ms"], result["welcome_during_fanout_ms"]
    print(f"fan-out to {result['alumni']} alumni: last invitation accepted after {result['seconds_to_last_invitation']:.0f}s "
          f"({result['invitations_per_second']:.1f} invitations/s); {result['smtp_connections']} SMTP connections opened during it; "
          f"{result['invitations_with_two_message_ids']} alumni got two different invitations")
    print(f"welcome email, intake to SMTP: without fan-out p50 {q['p50']} ms, p99 {q['p99']} ms ({q['n']} departures); "
          f"during fan-out p50 {d['p50']} ms, p99 {d['p99']} ms ({d['n']} departures); "
          f"p99 ratio {d['p99'] / q['p99']:.2f}")
    w = result["welcome_planned_to_sent_during_fanout_ms"]
    print(f"  of which from planning the welcome to sending it, in notifications: p50 {w.get('p50')} ms, p99 {w.get('p99')} ms")
    cpu = result["cpu_seconds_during_fanout"]
    print("CPU seconds used during the fan-out: " + ", ".join(f"{n} {s:.0f}" for n, s in sorted(cpu.items(), key=lambda i: -i[1]))
          + f" (of {os.cpu_count() * result['seconds_to_last_invitation']:.0f} on {os.cpu_count()} cores)")


def cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.fanout", description=__doc__.split("\n\n")[0])
    parser.add_argument("--alumni", type=int, default=50_000, help="consented alumni the event is hosted for")
    parser.add_argument("--trickle-rate", type=float, default=0.5, help="departures per second during the whole run (well under the pipeline's capacity)")
    parser.add_argument("--quiet-seconds", type=float, default=120.0, help="how long the welcome latency is measured without a fan-out")
    parser.add_argument("--timeout", type=float, default=3600.0, help="give up when the last invitation has not arrived by then")
    parser.add_argument("--one-notifications", action="store_true",
                        help="notifications in one process for both message streams (by default: the bulk stream apart, at a lower CPU priority)")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="a setting for every service of the bench stack")
    asyncio.run(main(parser.parse_args(argv)))
    return 0


if __name__ == "__main__":
    raise SystemExit(cli())
