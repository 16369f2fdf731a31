"""The store at company scale: what the services keep per departure, a departure's latency on a
store of 1,000,000 documents, and the local database's write stalls.

    .venv/bin/python -m bench.store                  # all three, on a stack of its own (.stack/bench-store)
    .venv/bin/python -m bench.store sizes --departures 200
    .venv/bin/python -m bench.store scale --documents 1000000 --rate 2 --seconds 60
    .venv/bin/python -m bench.store stalls --documents 300000 --seconds 150

1. sizes (`measure_store`): documents and bytes per departure in every collection of every
   service, after departures sent through the real pipeline (intake to the welcome email at a
   real SMTP server), once the pipeline is quiet; and how each collection is bounded (a TTL
   index, a retention job, or nothing).
2. scale (`measure_scale`): a departure's end-to-end latency (publish to its welcome email) at a
   modest rate on the empty store, then the store filled to `--documents` by cloning, in bulk,
   the documents those measured departures made the services write (every collection, in the
   proportions the pipeline wrote them, ids made unique per clone and kept consistent across
   collections: some 55,000 departures' worth at 18 documents each), then the same latency run again.
3. stalls (`measure_stalls`): a database of its own; a filler grows one collection in batches
   while a probe times one small insert every 20 ms into another; run three times: the grown
   collection with a TTL index (as `processed_events` has) on the server as the launcher starts
   it (its expiry pass walks the index, devstack/secantusd.py), the same on `secantusd-py` alone
   (the server's own TTL monitor), and without a TTL index. The stalls the second run shows and
   the others do not are the server's TTL monitor (docs/secantusdb-ttl-monitor.md).
"""

import argparse
import asyncio
import logging
import random
import shutil
import time
import uuid
from typing import Any, Callable

from pymongo import AsyncMongoClient

from bench.sample import departure
from bench.measures import percentile
from bench.stack import bench_config
from bench.arrivals import Arrivals, publish, wait_for_welcomes
from bench.stalls import measure_stalls
from bench.store_fill import fill
from devstack.stack import LocalStack
from services import DEFAULT_HTTP_PORTS

SERVICES = tuple(DEFAULT_HTTP_PORTS)
DEPARTED_TOPIC, DEPARTED_TYPE = "hris.employee.departed", "com.alumni.employee.departed.v1"
# Collections bounded by something other than a TTL index (which `census` reads from the indexes).
BOUNDED_OTHERWISE = {
    "outbox": "drained: published events are deleted by the relay",
    "parked_events": "emptied as the events they wait for arrive (bounded by PARKED_EVENTS_MAX)",
    "exit_cases": "retention job: deleted EXIT_CASE_RETENTION_DAYS (90) after closing",
    "exit_invitations": "retention job: deleted with their case",
    "erased_people": "one keyed hash per forgotten stint (the proof that a replay is refused): kept",
    "alumni": "the alumnus: kept until erased",
    "consent_ledger": "the alumnus's consent history: kept until erased",
    "referrers": "projection, one per alumnus: kept until erased",
    "reachable_alumni": "projection, one per alumnus: kept until erased (then a tombstone)",
    "known_alumni": "projection, one per alumnus: kept until erased",
}
Log = Callable[[str], None]


# --- what the store holds --------------------------------------------------------------------------

async def census(client: AsyncMongoClient) -> dict[str, dict[str, Any]]:
    """Every collection of every service: documents, data bytes (BSON), index bytes, and its TTL
    index if it has one, keyed `service.collection`."""
    out: dict[str, dict[str, Any]] = {}
    for service in SERVICES:
        db = client[f"alumni_{service}"]
        for name in sorted(await db.list_collection_names()):
            stats = await db.command("collStats", name)
            ttl = [
                (next(iter(ix["key"])), ix["expireAfterSeconds"])
                async for ix in await db[name].list_indexes() if "expireAfterSeconds" in ix
            ]
            out[f"{service}.{name}"] = {
                "docs": int(stats.get("count", 0)), "bytes": int(stats.get("size", 0)),
                "index_bytes": int(stats.get("totalIndexSize", 0)),
                "expiry": f"TTL index on {ttl[0][0]}, {ttl[0][1] / 86400:g} days" if ttl else BOUNDED_OTHERWISE.get(name, "none"),
            }
    return out


async def settle(client: AsyncMongoClient, quiet: float = 3.0, timeout: float = 180.0) -> None:
    """Until every outbox is empty and no collection has changed for `quiet` seconds."""
    deadline = time.monotonic() + timeout
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        counts = {}
        for service in SERVICES:
            db = client[f"alumni_{service}"]
            for name in await db.list_collection_names():
                counts[f"{service}.{name}"] = await db[name].estimated_document_count()
        if counts != last:
            last, since = counts, time.monotonic()
        elif all(n == 0 for k, n in counts.items() if k.endswith(".outbox")) and time.monotonic() - since >= quiet:
            return
        await asyncio.sleep(0.5)
    raise SystemExit(f"bench: the pipeline did not settle within {timeout:.0f}s")


async def send_departures(stack: LocalStack, arrivals: Arrivals, count: int, rate: float | None, timeout: float = 600) -> dict[str, float]:
    """`count` departures through the pipeline; each one's latency to its welcome email, in ms."""
    run = uuid.uuid4().hex[:6]
    departures = [departure(run, n) for n in range(count)]
    sent = await publish(stack.cfg, DEPARTED_TOPIC, DEPARTED_TYPE, departures, rate=rate)
    await wait_for_welcomes(arrivals, list(sent), timeout)
    return {a: (arrivals.welcomes[a] - t) * 1000 for a, t in sent.items()}


async def measure_store(stack: LocalStack, arrivals: Arrivals, departures: int = 200, log: Log = print) -> dict[str, Any]:
    """Documents and bytes each departure leaves in each collection, once the pipeline is quiet."""
    client = AsyncMongoClient(stack.cfg.mongodb_uri, tz_aware=True)
    try:
        await send_departures(stack, arrivals, 20, rate=None)  # warm-up, and every collection created
        await settle(client)
        before = await census(client)
        await send_departures(stack, arrivals, departures, rate=None)
        await settle(client)
        after = await census(client)
    finally:
        await client.close()
    rows = {}
    for key, a in after.items():
        b = before.get(key, {"docs": 0, "bytes": 0, "index_bytes": 0})
        rows[key] = {
            "docs_per_departure": (a["docs"] - b["docs"]) / departures,
            "bytes_per_departure": (a["bytes"] - b["bytes"]) / departures,
            "index_bytes_per_departure": (a["index_bytes"] - b["index_bytes"]) / departures,
            "docs": a["docs"], "expiry": a["expiry"],
        }
    total_docs = sum(r["docs_per_departure"] for r in rows.values())
    total_bytes = sum(r["bytes_per_departure"] for r in rows.values())
    log(f"per departure, after {departures} departures through the pipeline (quiet, outboxes drained):")
    log(f"  {'collection':40s} {'docs':>6s} {'bytes':>8s} {'index B':>8s}  bounded by")
    for key, r in sorted(rows.items(), key=lambda kv: -kv[1]["bytes_per_departure"]):
        if r["docs_per_departure"] or r["bytes_per_departure"]:
            log(f"  {key:40s} {r['docs_per_departure']:6.2f} {r['bytes_per_departure']:8.0f} {r['index_bytes_per_departure']:8.0f}  {r['expiry']}")
    log(f"  {'total':40s} {total_docs:6.2f} {total_bytes:8.0f}")
    unbounded = [k for k, r in rows.items() if r["docs_per_departure"] > 0 and r["expiry"] == "none"]
    expiring = sum(r["docs_per_departure"] for r in rows.values() if r["expiry"].startswith("TTL"))
    log(f"  of which in TTL-indexed collections: {expiring:.2f} documents")
    log(f"  growing per departure with nothing bounding them: {', '.join(unbounded) or 'none'}")
    return {"departures": departures, "collections": rows, "docs_per_departure": total_docs, "bytes_per_departure": total_bytes,
            "ttl_docs_per_departure": expiring, "unbounded": unbounded}


def _latency_line(label: str, ms: list[float]) -> str:
    return (f"{label}: p50 {percentile(ms, 50):.0f} ms, p99 {percentile(ms, 99):.0f} ms, max {max(ms):.0f} ms "
            f"({len(ms)} departures)")


async def measure_scale(stack: LocalStack, arrivals: Arrivals, documents: int = 1_000_000, rate: float = 2.0,
                        seconds: int = 60, log: Log = print) -> dict[str, Any]:
    """A departure's latency (publish to welcome email) at `rate`/s on the store as it is, then
    after filling it to `documents`. Call on a store holding a few hundred departures (the
    templates), e.g. after `measure_store`."""
    client = AsyncMongoClient(stack.cfg.mongodb_uri, tz_aware=True)
    count = int(rate * seconds)
    try:
        empty = list((await send_departures(stack, arrivals, count, rate)).values())
        log(_latency_line(f"latency at {rate:g}/s, store of {sum(c['docs'] for c in (await census(client)).values()):,} documents", empty))
        await settle(client)
        filled = await fill(client, documents, census, log)
        docs = sum(c["docs"] for c in (await census(client)).values())
        log(f"filled to {docs:,} documents in {filled['seconds']:.0f}s (slowest batch of 1000: {filled['slowest_batch_s']:.1f}s)")
        full = list((await send_departures(stack, arrivals, count, rate, timeout=1800)).values())
        log(_latency_line(f"latency at {rate:g}/s, store of {docs:,} documents", full))
    finally:
        await client.close()
    return {
        "rate": rate, "documents": docs, "fill": filled,
        "empty": {"p50_ms": percentile(empty, 50), "p99_ms": percentile(empty, 99), "max_ms": max(empty)},
        "full": {"p50_ms": percentile(full, 50), "p99_ms": percentile(full, 99), "max_ms": max(full)},
    }


# --- standalone ------------------------------------------------------------------------------------

async def main(args: argparse.Namespace) -> None:
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # "Unable connect" while the broker starts
    cfg = bench_config("bench-store", args.ports)
    if args.what == "stalls":
        shutil.rmtree(cfg.home, ignore_errors=True)
        await measure_stalls(cfg, args.stall_documents, args.stall_seconds)
        return
    arrivals = Arrivals().start()
    stack = LocalStack(cfg, service_env={
        "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(arrivals.port), "CHAT_CHANNELS": "{}", "LOG_LEVEL": "WARNING",
    })
    stack.down(log=lambda line: None)  # whatever an interrupted run left
    shutil.rmtree(cfg.home, ignore_errors=True)
    print(f"starting an empty stack in {cfg.home} ...", flush=True)
    try:
        await stack.up_infrastructure(log=lambda line: None)
        await stack.up_services(log=lambda line: None)
        if args.what in ("all", "sizes", "scale"):
            await measure_store(stack, arrivals, args.departures)
        if args.what in ("all", "scale"):
            await measure_scale(stack, arrivals, args.documents, args.rate, args.seconds)
    finally:
        stack.down(log=lambda line: None)
        arrivals.stop()
    if args.what == "all":
        await measure_stalls(cfg, args.stall_documents, args.stall_seconds)


def cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.store", description=__doc__.split("\n\n")[0])
    parser.add_argument("what", nargs="?", choices=("all", "sizes", "scale", "stalls"), default="all")
    parser.add_argument("--departures", type=int, default=200, help="departures measured for the sizes (and cloned by scale)")
    parser.add_argument("--documents", type=int, default=1_000_000, help="documents the store is filled to")
    parser.add_argument("--rate", type=float, default=2.0, help="departures per second of the latency runs")
    parser.add_argument("--seconds", type=int, default=60, help="length of each latency run")
    parser.add_argument("--stall-documents", type=int, default=300_000, help="documents the stall timelines grow to")
    parser.add_argument("--stall-seconds", type=float, default=150, help="probing at full size, per timeline")
    parser.add_argument("--ports", type=int, default=29500, help="first of the stack's ports (kafka, +1 controller, +2 database, +10.. services)")
    random.seed(0)
    asyncio.run(main(parser.parse_args(argv)))
    return 0


if __name__ == "__main__":
    raise SystemExit(cli())
