"""What the bench reads and prints: percentiles, peak memory, CPU time per process."""

import os
import statistics
from pathlib import Path

from pymongo import AsyncMongoClient


def percentile(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class CpuMeter:
    """CPU time (user + system, from /proc) of named processes between two readings: per
    departure it is the same on any machine of the kind, where throughput is not."""

    TICK = os.sysconf("SC_CLK_TCK")

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.start = self._read()

    def _read(self) -> dict[str, float]:
        return {name: self._seconds(pid) for name, pid in self.pids.items()}

    def _seconds(self, pid: int) -> float:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / self.TICK  # utime, stime

    def per_departure_ms(self, departures: int) -> dict[str, float]:
        now = self._read()
        return {name: (now[name] - self.start[name]) * 1000 / departures for name in self.pids}


def cpu_line(label: str, per_departure: dict[str, float]) -> str:
    parts = ", ".join(f"{name} {ms:.1f}" for name, ms in per_departure.items())
    return f"CPU ms per departure, {label}: {parts}; total {sum(per_departure.values()):.1f}"


def latency_line(label: str, values: list[float]) -> str:
    return (f"latency at {label} (intake to SMTP, welcome email): "
            f"p50 {percentile(values, 50):.0f} ms, p95 {percentile(values, 95):.0f} ms, p99 {percentile(values, 99):.0f} ms")


async def database_requests(uri: str) -> int:
    """Requests the database has answered so far (its `serverStatus`): per departure, a count
    that no machine's speed changes. Where the server does not count them, 0."""
    client = AsyncMongoClient(uri)
    try:
        status = await client.admin.command("serverStatus")
    finally:
        await client.close()
    return int(status.get("network", {}).get("numRequests", 0))
