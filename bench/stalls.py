"""The local database's insert latency while a collection grows, with and without a TTL index
(bench/store.py, `stalls`; the finding is docs/secantusdb-ttl-monitor.md)."""

import asyncio
import shutil
import sys
import statistics
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Callable

from pymongo import AsyncMongoClient

from devstack.config import StackConfig
from devstack.database import DatabaseNode

Log = Callable[[str], None]


def _marker(n: int, at: datetime) -> dict:
    """A document shaped like a processed-event marker."""
    return {"_id": f"/identity/{uuid.UUID(int=n)}", "type": "com.alumni.offboarding.completed.v1", "processed_at": at}


async def stall_timeline(uri: str, documents: int, ttl: bool, probe_seconds: float, step: int = 50_000, log: Log = print) -> dict[str, Any]:
    """Grow `stalls.grown` to `documents` while a probe inserts into `stalls.probe` every 20 ms,
    then keep probing `probe_seconds` at that size; per-insert latency against time."""
    client = AsyncMongoClient(uri, tz_aware=True)
    db = client[f"stalls_{'ttl' if ttl else 'plain'}"]
    grown = db["grown"]
    if ttl:
        await grown.create_index("processed_at", expireAfterSeconds=30 * 86400)
    else:
        await grown.create_index("processed_at")
    samples: list[tuple[float, float, int]] = []  # (seconds since start, latency s, documents then)
    size, stop = 0, asyncio.Event()
    started = time.monotonic()

    async def probe() -> None:
        n = 0
        while not stop.is_set():
            t = time.perf_counter()
            await db["probe"].insert_one({"n": n, "at": datetime.now(UTC)})
            samples.append((time.monotonic() - started, time.perf_counter() - t, size))
            n += 1
            await asyncio.sleep(0.02)

    prober = asyncio.create_task(probe())
    now = datetime.now(UTC)
    try:
        while size < documents:
            await grown.insert_many([_marker(size + i, now) for i in range(1000)], ordered=False)
            size += 1000
        grown_at = time.monotonic()
        await asyncio.sleep(probe_seconds)
    finally:
        stop.set()
        await prober
        await client.drop_database(db.name)
        await client.close()
    label = "with a TTL index" if ttl else "without a TTL index"
    log(f"grown collection {label}: {documents:,} documents in {grown_at - started:.0f}s, then {probe_seconds:.0f}s at that size")
    for lo in range(0, documents + 1, step):
        window = [s[1] for s in samples if lo <= s[2] < lo + step]
        if window:
            log(f"  {lo:>9,}-{lo + step - 1:>9,} docs: {len(window):5d} probe inserts, p50 {statistics.median(window) * 1000:6.1f} ms, "
                f"max {max(window) * 1000:7.0f} ms")
    stalls = [(round(t, 1), round(d * 1000), n) for t, d, n in samples if d > 1.0]
    for t, ms, n in stalls:
        log(f"  stall at +{t:.1f}s ({n:,} docs): {ms} ms")
    if len(stalls) > 1:
        gaps = [b[0] - a[0] for a, b in zip(stalls, stalls[1:])]
        log(f"  stalls every {statistics.median(gaps):.0f}s (median gap)")
    latencies = sorted(s[1] for s in samples)
    return {"ttl": ttl, "documents": documents, "probes": len(samples), "p50_ms": statistics.median(latencies) * 1000,
            "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000, "max_ms": latencies[-1] * 1000, "stalls": stalls}


async def measure_stalls(cfg: StackConfig, documents: int = 300_000, probe_seconds: float = 150, log: Log = print) -> dict[str, Any]:
    """The timeline with a TTL index, on a database of its own: started as the launcher starts it
    (its expiry pass walks the index), then as `secantusd-py` alone (the server's own monitor
    reads every document under its lock); and without a TTL index, for the floor."""
    node = DatabaseNode(cfg)
    server_alone = [str(Path(sys.executable).parent / "secantusd-py"), *node.process.argv[3:]]
    results = {}
    for label, argv, ttl in (("launcher", node.process.argv, True), ("server-monitor", server_alone, True), ("no-ttl", node.process.argv, False)):
        node.process.argv = argv
        node.stop()
        shutil.rmtree(cfg.home / "mongo", ignore_errors=True)
        node.start()
        try:
            await node.wait_ready()
            log(f"-- {label}: {' '.join(Path(a).name if a.startswith('/') else a for a in argv[:3])}")
            results[label] = await stall_timeline(cfg.mongodb_uri, documents, ttl=ttl, probe_seconds=probe_seconds, log=log)
        finally:
            node.stop()
    return results
