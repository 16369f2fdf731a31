"""Benchmark: departures from intake to SMTP delivery, against a baseline measured in the same run.

    ./alumni bench                      # or: .venv/bin/python -m bench.pipeline
    ./alumni bench --departures 600 --rate 20 --seconds 30

It starts a stack of its own (.stack/bench, other ports), emptied at every run: the
local database's store grows with each run, and a grown store stalls its writers for seconds
at times (a p95 of 40 s after a few dozen runs), which would measure the leftovers. Then it prints:
1. baseline: three chained stages written directly with aiokafka and PyMongo, doing per
   departure the I/O the services do (consume; a transaction writing the dedupe marker, the
   state and the outbox; produce; remove the published events from the outbox, gathered every
   0.2 s as the services do; offsets committed per fetched batch; and at the end the two SMTP sends: exit-form
   invitation and welcome): the practical ceiling of this machine's broker and database;
2. pipeline: the five services as processes, sustained departures per second from the first
   record published to the last welcome email received;
3. latency at a fixed offered rate (20 departures/s by default): p50, p95, p99 from publishing
   a departure to its welcome email reaching the SMTP server;
4. peak RSS of each service process (VmHWM);
5. the ratio pipeline / baseline;
6. the pipeline's throughput again with two instances of the busiest service (notifications),
   sharing its consumer groups and database as replicas in a cluster do.
"""

import argparse
import asyncio
import json
import shutil
import statistics
import time
import uuid
from dataclasses import replace
from pathlib import Path

from aiokafka import AIOKafkaProducer
from aiosmtpd.controller import Controller

from bench.baseline import Baseline, departure, headers
from devstack.config import StackConfig
from devstack.process import free_port
from devstack.services import ServiceProcess
from devstack.stack import LocalStack

BUSIEST = "notifications"


class Arrivals:
    """A real SMTP server that notes when each welcome email arrives, by recipient."""

    def __init__(self) -> None:
        self.port = free_port()
        self.welcomes: dict[str, float] = {}
        self.count = 0
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802
        self.count += 1
        content = envelope.original_content or envelope.content
        if b"Subject: Welcome" in content or b"Subject: =?utf-8?q?Bienvenue" in content or b"Subject: Bienvenue" in content:
            for rcpt in envelope.rcpt_tos:
                self.welcomes.setdefault(rcpt, time.monotonic())
        return "250 OK"

    def start(self) -> "Arrivals":
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()


# --- measuring ------------------------------------------------------------------------------------

async def publish(cfg: StackConfig, topic: str, ce_type: str, departures: list[dict], rate: float | None) -> dict[str, float]:
    """Publish departures (at `rate` per second, or as fast as possible); when each was sent."""
    producer = AIOKafkaProducer(bootstrap_servers=cfg.bootstrap_servers, acks="all", enable_idempotence=True, linger_ms=5)
    await producer.start()
    sent: dict[str, float] = {}
    start = time.monotonic()
    try:
        for n, d in enumerate(departures):
            if rate:
                await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
            sent[d["personal_email"]] = time.monotonic()
            await producer.send(topic, json.dumps(d).encode(), key=d["employee_id"].encode(), headers=headers(ce_type))
        await producer.flush()
    finally:
        await producer.stop()
    return sent


async def wait_for_welcomes(arrivals: Arrivals, addresses: list[str], timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(a in arrivals.welcomes for a in addresses):
            return max(arrivals.welcomes[a] for a in addresses)
        await asyncio.sleep(0.05)
    missing = sum(1 for a in addresses if a not in arrivals.welcomes)
    raise SystemExit(f"bench: {missing} of {len(addresses)} welcome emails did not arrive within {timeout:.0f}s")


async def throughput(cfg: StackConfig, arrivals: Arrivals, topic: str, ce_type: str, count: int, timeout: float) -> float:
    run = uuid.uuid4().hex[:6]
    departures = [departure(run, n) for n in range(count)]
    started = time.monotonic()
    await publish(cfg, topic, ce_type, departures, rate=None)
    finished = await wait_for_welcomes(arrivals, [d["personal_email"] for d in departures], timeout)
    return count / (finished - started)


def percentile(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def main(args: argparse.Namespace) -> None:
    base = StackConfig.from_env()
    cfg = replace(base, home=base.home / "bench", kafka_port=29092, kafka_controller_port=29093, mongo_port=27217,
                  http_port_base=28001, smtp_port=21025, sink_http_port=28025)
    arrivals = Arrivals().start()
    stack = LocalStack(cfg, service_env={
        "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(arrivals.port), "CHAT_CHANNELS": "{}", "LOG_LEVEL": "WARNING",
    })
    stack.down(log=lambda line: None)  # whatever an interrupted run left
    shutil.rmtree(cfg.home, ignore_errors=True)
    print(f"starting an empty bench stack in {cfg.home} ...", flush=True)
    await stack.up_infrastructure(log=lambda line: None)
    try:
        baseline = Baseline(cfg, arrivals.port)
        await baseline.start()
        await throughput(cfg, arrivals, Baseline.TOPICS[0], "departed", 50, 120)  # warm-up
        base_rate = await throughput(cfg, arrivals, Baseline.TOPICS[0], "departed", args.departures, 600)
        await baseline.stop()
        print(f"baseline (3 hand-written stages):     {base_rate:7.1f} departures/s", flush=True)

        await stack.up_services(log=lambda line: None)
        await throughput(cfg, arrivals, "hris.employee.departed", "com.alumni.employee.departed.v1", 50, 120)  # warm-up
        pipe_rate = await throughput(cfg, arrivals, "hris.employee.departed", "com.alumni.employee.departed.v1", args.departures, 900)
        print(f"pipeline (five services, to SMTP):     {pipe_rate:7.1f} departures/s", flush=True)

        run = uuid.uuid4().hex[:6]
        departures = [departure(run, n) for n in range(int(args.rate * args.seconds))]
        sent = await publish(cfg, "hris.employee.departed", "com.alumni.employee.departed.v1", departures, rate=args.rate)
        await wait_for_welcomes(arrivals, list(sent), 300)
        latencies = [(arrivals.welcomes[a] - t) * 1000 for a, t in sent.items()]
        print(f"latency at {args.rate:.0f}/s for {args.seconds}s (intake to SMTP, welcome email): "
              f"p50 {percentile(latencies, 50):.0f} ms, p95 {percentile(latencies, 95):.0f} ms, p99 {percentile(latencies, 99):.0f} ms")
        print("peak RSS: " + ", ".join(f"{name} {peak_rss_mb(s.process.pid()):.0f} MB" for name, s in stack.services.items()))
        print(f"ratio pipeline / baseline: {pipe_rate / base_rate:.2f}")

        # The busiest service (notifications: two hops and the SMTP sends) as two instances
        # sharing its groups, as a cluster scales it: the same throughput run again.
        busiest = stack.services[BUSIEST]
        env = {k: v for k, v in (busiest.process.env or {}).items() if k != "HTTP_PORT"}
        second = ServiceProcess(cfg, BUSIEST, free_port(), env, instance="b")
        second.start()
        try:
            await second.wait_ready(timeout=120)
            await asyncio.sleep(5)  # the groups rebalance over the two instances
            await throughput(cfg, arrivals, "hris.employee.departed", "com.alumni.employee.departed.v1", 50, 120)  # warm-up
            two_rate = await throughput(cfg, arrivals, "hris.employee.departed", "com.alumni.employee.departed.v1", args.departures, 900)
        finally:
            second.stop()
        print(f"pipeline with two {BUSIEST} instances:   {two_rate:7.1f} departures/s ({two_rate / pipe_rate:.2f} x one instance)")
    finally:
        stack.down(log=lambda line: None)
        arrivals.stop()


def cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--departures", type=int, default=500, help="departures for each throughput run")
    parser.add_argument("--rate", type=float, default=20.0, help="offered rate for the latency run (departures/s)")
    parser.add_argument("--seconds", type=int, default=30, help="length of the latency run")
    asyncio.run(main(parser.parse_args(argv)))
    return 0


if __name__ == "__main__":
    raise SystemExit(cli())
