"""Effects happen once: a repeated event changes nothing, and a crash between an effect and
its offset commit, or between a commit and the publication of its events, loses nothing and
duplicates nothing."""

import json
import signal

import httpx

from tests.integration.kafka_io import cloudevent_headers, produce, read_all
from tests.integration.platform.conftest import OrdersDeployment

V1 = "com.alumni.test.order-placed.v1"


async def test_the_same_event_delivered_twice_has_one_effect(orders: OrdersDeployment) -> None:
    await orders.start(role="worker")
    bootstrap = orders.stack.cfg.bootstrap_servers
    headers = cloudevent_headers(V1, ce_id="order-7-placed")
    record = (b"o-7", json.dumps({"order_id": "o-7"}).encode(), headers)
    await produce(bootstrap, orders.orders, [record, record])

    shipped = await read_all(bootstrap, orders.shipments, expect=1, settle=3)

    assert [r.json() for r in shipped] == [{"order_id": "o-7"}]
    client, db = await orders.db()
    assert await db.shipments.count_documents({}) == 1
    assert await db.processed_events.count_documents({}) == 1
    await client.close()


async def test_a_consumer_killed_after_its_effect_before_its_commit_has_one_effect(orders: OrdersDeployment) -> None:
    crashing = await orders.start(role="worker", env={"ALUMNI_FAILPOINTS": "consumer.before-commit=kill"})
    bootstrap = orders.stack.cfg.bootstrap_servers
    await produce(bootstrap, orders.orders, [(b"o-8", json.dumps({"order_id": "o-8"}).encode(), cloudevent_headers(V1))])

    assert await crashing.wait_exit() == -signal.SIGKILL
    client, db = await orders.db()
    assert await db.shipments.count_documents({}) == 1  # the effect is durable, the offset is not

    await orders.start(role="worker")  # redelivered, recognised, committed
    shipped = await read_all(bootstrap, orders.shipments, expect=1, settle=3)

    assert [r.json() for r in shipped] == [{"order_id": "o-8"}]
    assert await db.shipments.count_documents({}) == 1
    assert await db.outbox.count_documents({"status": "pending"}) == 0
    await client.close()


async def test_a_process_killed_after_commit_before_publish_publishes_once_on_restart(orders: OrdersDeployment) -> None:
    crashing = await orders.start(role="intake", env={"ALUMNI_FAILPOINTS": "outbox.before-publish=kill"})
    bootstrap = orders.stack.cfg.bootstrap_servers
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{crashing.url}/orders", json={"order_id": "o-9"})
    assert response.status_code == 202  # committed: the order and its event are stored

    assert await crashing.wait_exit() == -signal.SIGKILL
    client, db = await orders.db()
    assert await db.orders.count_documents({"order_id": "o-9"}) == 1
    assert await db.outbox.count_documents({"status": "pending"}) == 1
    assert await read_all(bootstrap, orders.orders, timeout=1) == []

    await orders.start(role="intake")  # a new process: it sweeps the crashed one's events once their lease ends
    placed = await read_all(bootstrap, orders.orders, expect=1, settle=4)

    assert [(r.key, r.headers["ce_id"]) for r in placed] == [(b"o-9", response.json()["event_id"])]
    assert await db.outbox.count_documents({"status": "pending"}) == 0
    await client.close()
