"""The bench's departures: published at a rate or as fast as possible, and timed to their welcome
email at a real SMTP server."""

import asyncio
import json
import time
import uuid

from aiokafka import AIOKafkaProducer
from aiosmtpd.controller import Controller

from bench.sample import departure, headers
from devstack.config import StackConfig
from devstack.process import free_port


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


async def latency(cfg: StackConfig, arrivals: Arrivals, rate: float, seconds: int) -> list[float]:
    """Milliseconds from publishing each departure, at `rate` per second, to its welcome email."""
    run = uuid.uuid4().hex[:6]
    departures = [departure(run, n) for n in range(max(1, int(rate * seconds)))]
    sent = await publish(cfg, "hris.employee.departed", "com.alumni.employee.departed.v1", departures, rate=rate)
    await wait_for_welcomes(arrivals, list(sent), 300)
    return [(arrivals.welcomes[a] - t) * 1000 for a, t in sent.items()]
