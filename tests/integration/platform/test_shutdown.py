"""A SIGTERM under load loses and duplicates nothing: in-flight handlers finish and commit, the
outbox is drained, and a new process carries on from the committed offsets."""

import asyncio
import json
import signal

import httpx

from tests.integration.kafka_io import cloudevent_headers, produce, read_all
from tests.integration.platform.conftest import OrdersDeployment

V1 = "com.alumni.test.order-placed.v1"
ORDERS = 300


async def _count(db, collection: str) -> int:
    return await db[collection].count_documents({})


async def test_a_worker_stopped_under_load_loses_and_duplicates_nothing(orders: OrdersDeployment) -> None:
    bootstrap = orders.stack.cfg.bootstrap_servers
    first = await orders.start(role="worker", env={"CONSUMER_WORKERS": "3"})
    records = [(f"o-{i}".encode(), json.dumps({"order_id": f"o-{i}", "work_ms": 20}).encode(), cloudevent_headers(V1)) for i in range(ORDERS)]
    await produce(bootstrap, orders.orders, records)
    client, db = await orders.db()
    while await _count(db, "shipments") < ORDERS // 4:
        await asyncio.sleep(0.05)

    first.process.stop(sig=signal.SIGTERM, timeout=30)
    assert first.process.exit_code == -signal.SIGTERM  # a graceful stop, not a kill after a hang
    stopped_at = await _count(db, "shipments")
    assert stopped_at < ORDERS, "the load was over before the stop; the test proves nothing"

    await orders.start(role="worker", env={"CONSUMER_WORKERS": "3"})
    shipped = await read_all(bootstrap, orders.shipments, expect=ORDERS, timeout=90, settle=3)

    ids = [r.json()["order_id"] for r in shipped]
    print(f"stopped after {stopped_at} shipments; {len(ids)} announced in all, {len(set(ids))} distinct")
    assert sorted(set(ids)) == sorted(f"o-{i}" for i in range(ORDERS))  # nothing lost
    assert len(ids) == ORDERS  # nothing announced twice
    assert await _count(db, "shipments") == ORDERS
    assert await db.outbox.count_documents({"status": "pending"}) == 0
    assert await read_all(bootstrap, f"{orders.orders}.dlq", timeout=1) == []
    await client.close()


async def test_an_intake_stopped_under_load_publishes_every_accepted_order_once(orders: OrdersDeployment) -> None:
    bootstrap = orders.stack.cfg.bootstrap_servers
    intake = await orders.start(role="intake")
    accepted: list[str] = []

    async def post(http: httpx.AsyncClient, i: int) -> None:
        try:
            response = await http.post(f"{intake.url}/orders", json={"order_id": f"h-{i}"})
        except httpx.HTTPError:
            return  # refused once the server stopped accepting: the client would retry
        if response.status_code == 202:
            accepted.append(response.json()["event_id"])

    async with httpx.AsyncClient(timeout=10, limits=httpx.Limits(max_connections=20)) as http:
        load = asyncio.gather(*(post(http, i) for i in range(ORDERS)))
        while len(accepted) < ORDERS // 4:
            await asyncio.sleep(0.02)
        await asyncio.to_thread(intake.process.stop, 30, signal.SIGTERM)
        await load

    assert intake.process.exit_code == -signal.SIGTERM
    placed = await read_all(bootstrap, orders.orders, expect=len(accepted), timeout=30, settle=3)
    published = [r.headers["ce_id"] for r in placed]
    print(f"{len(accepted)} orders accepted before the stop; {len(published)} published")
    assert sorted(published) == sorted(accepted)  # every accepted order, once
    client, db = await orders.db()
    assert await db.outbox.count_documents({"status": "pending"}) == 0
    await client.close()
