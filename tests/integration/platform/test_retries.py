"""Transient failures are retried with growing, jittered delays; a permanent failure or an
exhausted budget dead-letters the record, and other partitions keep flowing meanwhile."""

import json

from tests.integration.kafka_io import cloudevent_headers, produce, read_all
from tests.integration.platform.conftest import OrdersDeployment

V1 = "com.alumni.test.order-placed.v1"


def _order(order_id: str, **fields) -> tuple[bytes, bytes, list]:
    return order_id.encode(), json.dumps({"order_id": order_id, **fields}).encode(), cloudevent_headers(V1)


async def test_a_handler_failing_three_times_then_succeeding_has_one_effect_after_growing_backoff(orders: OrdersDeployment) -> None:
    await orders.start(role="worker")
    bootstrap = orders.stack.cfg.bootstrap_servers
    await produce(bootstrap, orders.orders, [_order("flaky", fail_times=3)])

    shipped = await read_all(bootstrap, orders.shipments, expect=1, settle=2)

    assert [r.json() for r in shipped] == [{"order_id": "flaky"}]
    assert await read_all(bootstrap, f"{orders.orders}.dlq", timeout=1) == []
    client, db = await orders.db()
    attempts = await db.attempts.find_one({"_id": "flaky"})
    assert await db.shipments.count_documents({}) == 1
    await client.close()
    # Attempts 1-3 failed, the 4th succeeded. Base delay 0.2 s: waits in [0.1, 0.2], [0.2, 0.4], [0.4, 0.8].
    assert attempts["n"] == 4
    gaps = [(b - a).total_seconds() for a, b in zip(attempts["at"], attempts["at"][1:], strict=False)]
    assert 0.1 <= gaps[0] < gaps[2], gaps
    assert 0.4 <= gaps[2] < 2.0, gaps


async def test_a_handler_that_always_fails_is_dead_lettered_after_the_budget_while_others_flow(orders: OrdersDeployment) -> None:
    # One consumer per partition, so the two partitions below never share a consumer.
    await orders.start(role="worker", env={"RETRY_ATTEMPTS": "4", "CONSUMER_WORKERS": "3"})
    bootstrap = orders.stack.cfg.bootstrap_servers
    # The failing order holds partition 0 while it is retried; partition 1 is not held up.
    await produce(bootstrap, orders.orders, [_order("doomed", always_fail=True)], partition=0)
    await produce(bootstrap, orders.orders, [_order("fine")], partition=1)

    shipped = await read_all(bootstrap, orders.shipments, expect=1, settle=0)
    assert [r.json() for r in shipped] == [{"order_id": "fine"}]
    client, db = await orders.db()
    assert (await db.attempts.find_one({"_id": "doomed"}))["n"] < 4  # still being retried

    [letter] = await read_all(bootstrap, f"{orders.orders}.dlq", expect=1, timeout=30)
    assert letter.key == b"doomed"
    assert letter.headers["dlq_error_class"] == "TransientError"
    assert letter.headers["dlq_attempts"] == "4"
    assert "warehouse unavailable" in letter.headers["dlq_error_message"]
    assert (await db.attempts.find_one({"_id": "doomed"}))["n"] == 4
    assert await db.shipments.count_documents({"_id": "doomed"}) == 0
    await client.close()


async def test_a_permanent_error_is_dead_lettered_at_once(orders: OrdersDeployment) -> None:
    await orders.start(role="worker")
    bootstrap = orders.stack.cfg.bootstrap_servers
    await produce(bootstrap, orders.orders, [_order("refused", reject=True)])

    [letter] = await read_all(bootstrap, f"{orders.orders}.dlq", expect=1)

    assert letter.headers["dlq_error_class"] == "PermanentError"
    assert letter.headers["dlq_attempts"] == "1"
    assert letter.headers["dlq_error_message"] == "the warehouse refuses this order"
