"""Events of one aggregate reach Kafka in the order their transactions committed, on one
partition (the key is the aggregate's id), across many relay batches."""

import asyncio

import httpx

from tests.integration.kafka_io import read_all
from tests.integration.platform.conftest import OrdersDeployment

REVISIONS = 40


async def test_events_of_one_aggregate_keep_their_commit_order(orders: OrdersDeployment) -> None:
    intake = await orders.start(role="intake")
    async with httpx.AsyncClient() as http:
        # Two aggregates interleaved; each request commits before the next is sent.
        for revision in range(REVISIONS):
            for order_id in ("agg-a", "agg-b"):
                response = await http.post(f"{intake.url}/orders", json={"order_id": order_id, "revision": revision})
                assert response.status_code == 202
            if revision % 10 == 9:
                await asyncio.sleep(0.3)  # let some land in separate relay batches

    placed = await read_all(orders.stack.cfg.bootstrap_servers, orders.orders, expect=2 * REVISIONS)

    for order_id in ("agg-a", "agg-b"):
        mine = sorted((r for r in placed if r.key == order_id.encode()), key=lambda r: r.offset)
        assert len({r.partition for r in mine}) == 1
        assert [r.json()["revision"] for r in mine] == list(range(REVISIONS))
