"""One trace runs from an HTTP request in one process, through the outbox and Kafka, to the
handler and the events it publishes in another, as seen by an OTLP receiver."""

import asyncio

import httpx

from tests.integration.kafka_io import read_all
from tests.integration.otlp_receiver import OtlpReceiver, ReceivedSpan
from tests.integration.platform.conftest import OrdersDeployment

SPAN_KIND_SERVER, SPAN_KIND_CLIENT, SPAN_KIND_PRODUCER, SPAN_KIND_CONSUMER = 2, 3, 4, 5


async def _trace(otlp: OtlpReceiver, trace_id: str, *, until_producer_in: str, timeout: float = 15) -> list[ReceivedSpan]:
    """The spans of one trace, once the given service's producer span has arrived."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        spans = [s for s in otlp.snapshot() if s.trace_id == trace_id]
        if any(s.kind == SPAN_KIND_PRODUCER and s.service == until_producer_in for s in spans):
            return spans
        assert asyncio.get_running_loop().time() < deadline, f"trace incomplete: {[(s.service, s.name) for s in spans]}"
        await asyncio.sleep(0.3)


async def test_one_trace_spans_two_processes_linked_by_kafka(orders: OrdersDeployment) -> None:
    tag = orders.group
    intake = await orders.start(role="intake", name=f"intake-{tag}")
    await orders.start(role="worker", name=f"worker-{tag}")
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{intake.url}/orders", json={"order_id": "traced"})
    assert response.status_code == 202
    [placed] = await read_all(orders.stack.cfg.bootstrap_servers, orders.orders, expect=1)
    trace_id = placed.headers["traceparent"].split("-")[1]

    spans = await _trace(orders.otlp, trace_id, until_producer_in=f"worker-{tag}")

    intake_spans = [s for s in spans if s.service == f"intake-{tag}"]
    worker_spans = [s for s in spans if s.service == f"worker-{tag}"]
    assert any(s.kind == SPAN_KIND_SERVER and "/orders" in s.name for s in intake_spans)
    assert any(s.kind == SPAN_KIND_PRODUCER and s.attributes.get("messaging.destination.name") == orders.orders for s in intake_spans)
    assert any(s.kind == SPAN_KIND_CLIENT and s.attributes.get("db.system.name") == "mongodb" for s in intake_spans)
    assert any(s.kind == SPAN_KIND_CONSUMER for s in worker_spans)
    assert any(s.kind == SPAN_KIND_CLIENT and s.attributes.get("db.collection.name") == "shipments" for s in worker_spans)
    assert any(s.kind == SPAN_KIND_PRODUCER and s.attributes.get("messaging.destination.name") == orders.shipments for s in worker_spans)
    # Every span has its parent in the trace, but the root (the HTTP request).
    ids = {s.span_id for s in spans}
    roots = [s for s in spans if s.parent_id not in ids]
    assert len(roots) == 1 and roots[0].kind == SPAN_KIND_SERVER, [(s.service, s.name) for s in roots]
