"""Benchmark: departures from intake to SMTP delivery, against a baseline measured in the same run.

    ./alumni bench                      # or: .venv/bin/python -m bench.pipeline
    ./alumni bench --departures 600 --rounds 3 --load 0.5 --rate 20 --seconds 30

It starts a stack of its own (.stack/bench, other ports), emptied at every run: the
local database's store grows with each run, and a grown store stalls its writers for seconds
at times (a p95 of 40 s after a few dozen runs), which would measure the leftovers. Then it prints, from one stack in one run:
1. baseline: the services' stages written by hand with aiokafka and PyMongo, as a process of
   its own (bench/baseline.py), doing per departure the I/O the services do (consume; a
   transaction per stage writing the dedupe marker, the reads and state and the outbox, on
   collections with the services' indexes; produce; remove the published events from the
   outbox, gathered every 0.2 s as the services do; offsets committed per fetched batch; the
   three SMTP sends, exit-form invitation, welcome and email confirmation, each planned and
   settled in a transaction): the practical ceiling of this machine's broker and database;
2. pipeline: the five services as processes, sustained departures per second from the first
   record published to the last welcome email received;
   Both are measured in turn, `--rounds` times each (3), the side not measured stopped
   (SIGSTOP): each round's ratio, and their median;
3. CPU milliseconds per departure of every process (baseline or services, broker, database)
   and database requests per departure over those rounds, and the ratio pipeline / baseline:
   these mean the same on any machine of the kind, where departures per second do not;
4. latency at 50% of the capacity just measured (`--load`), and at a fixed rate (20/s,
   `--rate`) when the machine is under it: p50, p95, p99 from publishing a departure to its
   welcome email reaching the SMTP server;
5. peak RSS of each service process (VmHWM);
6. the pipeline's throughput again with two instances of the busiest service (notifications),
   sharing its consumer groups and database as replicas in a cluster do.
"""

import argparse
import asyncio
import os
import shutil
import signal
import statistics
import sys

from bench.arrivals import Arrivals, latency, throughput
from bench.baseline import Baseline
from bench.measures import CpuMeter, cpu_line, database_requests, latency_line, peak_rss_mb
from bench.stack import bench_config
from devstack.config import StackConfig
from devstack.process import free_port
from devstack.services import ServiceProcess
from devstack.stack import LocalStack

BUSIEST = "notifications"


async def measured(cfg: StackConfig, arrivals: Arrivals, topic: str, ce_type: str, count: int, timeout: float,
                   pids: dict[str, int]) -> tuple[float, dict[str, float], float]:
    """Throughput of one run; the CPU each process spent, and the database requests, per departure."""
    requests, meter = await database_requests(cfg.mongodb_uri), CpuMeter(pids)
    rate = await throughput(cfg, arrivals, topic, ce_type, count, timeout)
    cpu = meter.per_departure_ms(count)
    return rate, cpu, (await database_requests(cfg.mongodb_uri) - requests) / count


class Side:
    """The baseline's process or the services' processes, measured in turn with the other side
    stopped (SIGSTOP), so that neither's idle work lands in the other's figures: rounds of both,
    in one run, give a ratio that one noisy moment of the machine does not decide."""

    def __init__(self, pids: dict[str, int], topic: tuple[str, str]) -> None:
        self.pids, self.topic = pids, topic
        self.runs: list[tuple[float, dict[str, float], float]] = []  # (departures/s, CPU ms, requests)

    def pause(self) -> None:
        for pid in self.pids.values():
            os.kill(pid, signal.SIGSTOP)

    def resume(self) -> None:
        for pid in self.pids.values():
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass

    def rate(self) -> float:
        return statistics.median(run[0] for run in self.runs)

    def cpu(self) -> dict[str, float]:
        """CPU ms per departure of every process, over all rounds."""
        return {name: statistics.fmean(run[1][name] for run in self.runs) for name in self.runs[0][1]}

    def requests(self) -> float:
        return statistics.fmean(run[2] for run in self.runs)


async def start_baseline(cfg: StackConfig, smtp_port: int) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.baseline", "--bootstrap-servers", cfg.bootstrap_servers, "--mongodb-uri", cfg.mongodb_uri,
        "--smtp-port", str(smtp_port), stdout=asyncio.subprocess.PIPE,
    )
    ready = await asyncio.wait_for(process.stdout.readline(), 120)
    if ready.strip() != b"ready":
        raise SystemExit(f"bench: the baseline did not start ({ready!r})")
    return process


async def main(args: argparse.Namespace) -> None:
    cfg = bench_config("bench", 29000)
    arrivals = Arrivals().start()
    stack = LocalStack(cfg, service_env={
        "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(arrivals.port), "CHAT_CHANNELS": "{}", "LOG_LEVEL": "WARNING",
    })
    stack.down(log=lambda line: None)  # whatever an interrupted run left
    shutil.rmtree(cfg.home, ignore_errors=True)
    print(f"starting an empty bench stack in {cfg.home} ...", flush=True)
    await stack.up_infrastructure(log=lambda line: None)
    infrastructure = {"broker": stack.kafka.process.pid(), "database": stack.database.process.pid()}
    departed = ("hris.employee.departed", "com.alumni.employee.departed.v1")
    sides: dict[str, Side] = {}
    baseline = None
    try:
        baseline = await start_baseline(cfg, arrivals.port)
        await stack.up_services(log=lambda line: None)
        sides |= {
            "baseline": Side({"baseline": baseline.pid}, (Baseline.DEPARTED, "departed")),
            "pipeline": Side({name: s.process.pid() for name, s in stack.services.items()}, departed),
        }
        for round_ in range(1, args.rounds + 1):
            for name, side in sides.items():
                other = sides["pipeline" if name == "baseline" else "baseline"]
                other.pause()
                side.resume()
                await throughput(cfg, arrivals, *side.topic, 50, 300)  # warm-up, and the groups joined again
                side.runs.append(await measured(cfg, arrivals, *side.topic, args.departures, 900, side.pids | infrastructure))
            base_rate, pipe_rate = sides["baseline"].runs[-1][0], sides["pipeline"].runs[-1][0]
            print(f"round {round_}: baseline {base_rate:.1f}, pipeline {pipe_rate:.1f} departures/s, ratio {pipe_rate / base_rate:.2f}", flush=True)
        baseline.terminate()
        sides["baseline"].resume()
        await baseline.wait()
        sides["pipeline"].resume()
        base, pipe = sides["baseline"], sides["pipeline"]
        print(f"baseline (the stages by hand):        {base.rate():7.1f} departures/s (median of {args.rounds} rounds)", flush=True)
        print(cpu_line("baseline", base.cpu()), flush=True)
        print(f"database requests per departure, baseline: {base.requests():.1f}", flush=True)
        print(f"pipeline (five services, to SMTP):     {pipe.rate():7.1f} departures/s (median of {args.rounds} rounds)", flush=True)
        print(cpu_line("pipeline", pipe.cpu()), flush=True)
        print(f"database requests per departure, pipeline: {pipe.requests():.1f}", flush=True)
        ratios = [p[0] / b[0] for b, p in zip(base.runs, pipe.runs)]
        print(f"ratio pipeline / baseline: {statistics.median(ratios):.2f}, the median of the rounds' "
              f"{', '.join(f'{r:.2f}' for r in ratios)} (CPU per departure: "
              f"{sum(pipe.cpu().values()) / sum(base.cpu().values()):.2f} x the baseline's)", flush=True)
        pipe_rate = pipe.rate()

        # A fixed share of the capacity just measured, so that the figure means the same on a
        # faster or a slower machine; and the fixed rate too when this machine is under it.
        offered = pipe_rate * args.load
        print(latency_line(f"{offered:.1f}/s ({args.load:.0%} of capacity) for {args.seconds}s",
                           await latency(cfg, arrivals, offered, args.seconds)), flush=True)
        if args.rate < pipe_rate:
            print(latency_line(f"{args.rate:.0f}/s for {args.seconds}s", await latency(cfg, arrivals, args.rate, args.seconds)), flush=True)
        else:
            print(f"latency at {args.rate:.0f}/s: not measured, over this machine's capacity ({pipe_rate:.1f}/s)", flush=True)
        print("peak RSS: " + ", ".join(f"{name} {peak_rss_mb(s.process.pid()):.0f} MB" for name, s in stack.services.items()), flush=True)

        # The busiest service (notifications: two hops and the SMTP sends) as two instances
        # sharing its groups, as a cluster scales it: the same throughput run again.
        busiest = stack.services[BUSIEST]
        env = {k: v for k, v in (busiest.process.env or {}).items() if k != "HTTP_PORT"}
        second = ServiceProcess(cfg, BUSIEST, free_port(), env, instance="b")
        second.start()
        try:
            await second.wait_ready(timeout=120)
            await asyncio.sleep(5)  # the groups rebalance over the two instances
            await throughput(cfg, arrivals, *departed, 50, 120)  # warm-up
            two_rate = await throughput(cfg, arrivals, *departed, args.departures, 900)
        finally:
            second.stop()
        print(f"pipeline with two {BUSIEST} instances:   {two_rate:7.1f} departures/s ({two_rate / pipe_rate:.2f} x one instance)")
    finally:
        for side in sides.values():  # a stopped process would not see the SIGTERM
            side.resume()
        if baseline is not None and baseline.returncode is None:  # a round that failed
            baseline.terminate()
            await baseline.wait()
        stack.down(log=lambda line: None)
        arrivals.stop()


def cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--departures", type=int, default=500, help="departures for each throughput run")
    parser.add_argument("--rounds", type=int, default=3, help="baseline and pipeline measured in turn, this many times each")
    parser.add_argument("--load", type=float, default=0.5, help="share of the measured capacity offered in the latency run")
    parser.add_argument("--rate", type=float, default=20.0, help="a fixed offered rate, measured too when under capacity (departures/s)")
    parser.add_argument("--seconds", type=int, default=30, help="length of the latency run")
    asyncio.run(main(parser.parse_args(argv)))
    return 0


if __name__ == "__main__":
    raise SystemExit(cli())
