"""An event the broker refuses for its size is set aside by the relay, counted for an alert,
and never holds back the events written after it."""

import asyncio

import httpx
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from tests.integration.kafka_io import read_all
from tests.integration.platform.conftest import OrdersDeployment
from tests.integration.platform.test_dead_letters import sample

TOPIC_LIMIT = 4096  # bytes: the broker refuses any batch larger than this on the orders topic


async def _limit_topic(bootstrap: str, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs={"max.message.bytes": str(TOPIC_LIMIT)})])
    finally:
        await admin.close()


async def test_an_event_the_broker_refuses_is_set_aside_and_later_events_are_published(orders: OrdersDeployment) -> None:
    bootstrap = orders.stack.cfg.bootstrap_servers
    await _limit_topic(bootstrap, orders.orders)
    app = await orders.start(role="intake")
    oversized = "big-" + "x" * (3 * TOPIC_LIMIT)
    later = [f"after-{i}" for i in range(20)]
    async with httpx.AsyncClient(timeout=10) as http:
        refused = await http.post(f"{app.url}/orders", json={"order_id": oversized})
        accepted = [await http.post(f"{app.url}/orders", json={"order_id": order_id}) for order_id in later]
    assert refused.status_code == 202  # under the platform's own bound: only this topic's broker limit refuses it
    assert [r.status_code for r in accepted] == [202] * len(later)

    published = await read_all(bootstrap, orders.orders, expect=len(later), timeout=30)
    assert sorted(r.json()["order_id"] for r in published) == sorted(later)

    client, db = await orders.db()
    try:
        for _ in range(50):  # the removal of acknowledged events runs every 0.2 s
            left = await db.outbox.find({}, {"status": 1, "reason": 1, "topic": 1}).to_list(None)
            if len(left) == 1:
                break
            await asyncio.sleep(0.2)
    finally:
        await client.close()
    [set_aside] = left
    assert set_aside["status"] == "unsendable"
    assert "refuses this event for its size" in set_aside["reason"]
    async with httpx.AsyncClient() as http:
        metrics = (await http.get(f"{app.url}/metrics")).text
    assert sample(metrics, "alumni_outbox_unsendable_total", topic=orders.orders) == 1.0
    # The series the dashboard and the alerts read (deploy/observability), as the service exports them.
    assert sample(metrics, "alumni_outbox_published_total", topic=orders.orders) == len(later)
    assert sample(metrics, "alumni_outbox_pending") is not None
    assert sample(metrics, "alumni_outbox_oldest_pending_age_seconds") is not None
    assert sample(metrics, "alumni_dependency_up", dependency="kafka") == 1.0
    assert sample(metrics, "alumni_dependency_up", dependency="mongodb") == 1.0
