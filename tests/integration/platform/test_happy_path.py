import httpx

from tests.integration.kafka_io import read_all
from tests.integration.platform.conftest import OrdersDeployment


async def test_an_order_posted_over_http_is_published_handled_and_announced(orders: OrdersDeployment) -> None:
    app = await orders.start()
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{app.url}/orders", json={"order_id": "o-1"})
    assert response.status_code == 202
    event_id = response.json()["event_id"]

    placed = await read_all(orders.stack.cfg.bootstrap_servers, orders.orders, expect=1)
    shipped = await read_all(orders.stack.cfg.bootstrap_servers, orders.shipments, expect=1)

    assert [(r.key, r.json()["order_id"], r.headers["ce_id"]) for r in placed] == [(b"o-1", "o-1", event_id)]
    assert placed[0].headers["ce_type"] == "com.alumni.test.order-placed.v1"
    assert placed[0].headers["content-type"] == "application/json"
    assert "traceparent" in placed[0].headers
    assert [r.json() for r in shipped] == [{"order_id": "o-1"}]
    client, db = await orders.db()
    assert await db.shipments.find_one({"_id": "o-1"}) == {"_id": "o-1", "event_id": event_id}
    assert await db.outbox.count_documents({"status": "pending"}) == 0
    await client.close()
