"""Records that cannot be read never block their partition: each goes to the dead-letter
topic with the reason and its origin, the partition keeps flowing, and a replay after a fix
delivers it."""

import json
from collections import Counter
import subprocess
import sys

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.kafka_io import cloudevent_headers, produce, read_all
from tests.integration.platform.conftest import OrdersDeployment

V1 = "com.alumni.test.order-placed.v1"
V2 = "com.alumni.test.order-placed.v2"


def _without(headers: list[tuple[str, bytes]], name: str) -> list[tuple[str, bytes]]:
    return [(k, v) for k, v in headers if k != name]


async def test_poison_records_are_dead_lettered_and_the_partition_keeps_flowing(orders: OrdersDeployment) -> None:
    app = await orders.start(role="worker")
    bootstrap = orders.stack.cfg.bootstrap_servers
    bad_source = _without(cloudevent_headers(V1), "ce_source") + [("ce_source", b"\xff\xfe")]
    poison = [
        (b"undecodable", b"\xff\xfe not json", cloudevent_headers(V1)),
        (b"schema", json.dumps({"fail_times": 2}).encode(), cloudevent_headers(V1)),
        (b"v2-1", json.dumps({"order_id": "v2-1", "channel": "web"}).encode(), cloudevent_headers(V2)),
        (b"header", json.dumps({"order_id": "header"}).encode(), bad_source),
        (b"envelope", json.dumps({"order_id": "envelope"}).encode(), _without(cloudevent_headers(V1), "ce_id")),
        (b"null-header", json.dumps({"order_id": "null-header"}).encode(), cloudevent_headers(V1) + [("traceparent", None)]),
        (b"deep", b"[" * 50_000 + b"]" * 50_000, cloudevent_headers(V1)),
    ]
    after = [(b"ok-1", json.dumps({"order_id": "ok-1"}).encode(), cloudevent_headers(V1))]
    # All on one partition: the valid record comes after every poison one.
    sent = await produce(bootstrap, orders.orders, poison + after, partition=0)

    dead = await read_all(bootstrap, f"{orders.orders}.dlq", expect=len(poison))
    shipped = await read_all(bootstrap, orders.shipments, expect=1)

    assert [r.json() for r in shipped] == [{"order_id": "ok-1"}]
    by_key = {r.key: r for r in dead}
    assert set(by_key) == {b"undecodable", b"schema", b"v2-1", b"header", b"envelope", b"null-header", b"deep"}
    expected_class = {
        b"undecodable": "UndecodableValue",
        b"schema": "SchemaViolation",
        b"v2-1": "UnknownEventType",
        b"header": "UndecodableHeader",
        b"envelope": "InvalidEnvelope",
        b"null-header": "UndecodableHeader",
        b"deep": "UndecodableValue",
    }
    for (key, value, _), metadata in zip(poison, sent, strict=False):
        letter = by_key[key]
        assert letter.value == value  # the record itself, untouched
        assert letter.headers["dlq_error_class"] == expected_class[key]
        assert letter.headers["dlq_original_topic"] == orders.orders
        assert letter.headers["dlq_original_partition"] == "0"
        assert letter.headers["dlq_original_offset"] == str(metadata.offset)
        assert letter.headers["dlq_attempts"] == "0"
        assert letter.headers["dlq_group"] == f"{orders.group}.{orders.orders}"
        assert letter.headers["dlq_failed_at"]
    assert by_key[b"schema"].headers["dlq_error_message"] == "order_id: Field required"
    assert "missing CloudEvents headers: ce_id" in by_key[b"envelope"].headers["dlq_error_message"]
    assert V2 in by_key[b"v2-1"].headers["dlq_error_message"]
    assert by_key[b"null-header"].headers["dlq_error_message"] == "header 'traceparent' has no value"
    assert "nested too deeply" in by_key[b"deep"].headers["dlq_error_message"]
    # Operators see them in the metrics too.
    async with httpx.AsyncClient() as http:
        metrics = (await http.get(f"{app.url}/metrics")).text
    for error_class, count in Counter(expected_class.values()).items():
        assert sample(metrics, "alumni_dead_letters_total", error_class=error_class, topic=orders.orders) == count, error_class
    assert sample(metrics, "alumni_consumer_lag", group=f"{orders.group}.{orders.orders}", partition="0", topic=orders.orders) == 0.0


async def test_a_dead_letter_replayed_after_the_fix_is_handled(orders: OrdersDeployment) -> None:
    bootstrap = orders.stack.cfg.bootstrap_servers
    old = await orders.start(role="worker")
    v2 = (b"v2-2", json.dumps({"order_id": "v2-2", "channel": "phone"}).encode(), cloudevent_headers(V2))
    await produce(bootstrap, orders.orders, [v2])
    [letter] = await read_all(bootstrap, f"{orders.orders}.dlq", expect=1)
    assert letter.headers["dlq_error_class"] == "UnknownEventType"

    # The fix: a version of the service that reads v2 replaces the old one.
    old.process.stop()
    await orders.start(role="worker", env={"ORDERS_APP_V2": "1"})
    listing = _dlq("list", orders.orders, bootstrap=bootstrap)
    assert "UnknownEventType" in listing and "1 dead letter(s)" in listing
    replayed = _dlq("replay", orders.orders, "--error", "UnknownEventType", bootstrap=bootstrap)
    assert "replayed 1 record(s)" in replayed

    shipped = await read_all(bootstrap, orders.shipments, expect=1)
    assert [r.json() for r in shipped] == [{"order_id": "v2-2"}]
    [back] = [r for r in await read_all(bootstrap, orders.orders, expect=2) if "dlq_replayed_from" in r.headers]
    assert back.headers["dlq_replayed_from"] == f"{orders.orders}.dlq:0"
    assert (back.key, back.value) == (letter.key, letter.value)
    assert "dlq_error_class" not in back.headers
    # Still one dead letter: the replayed record was handled, not dead-lettered again.
    assert len(await read_all(bootstrap, f"{orders.orders}.dlq", expect=2, timeout=3)) == 1


def sample(exposition: str, name: str, **labels: str) -> float | None:
    """The value of one Prometheus sample, found by name and (a subset of) its labels."""
    for family in text_string_to_metric_families(exposition):
        for s in family.samples:
            if s.name == name and labels.items() <= s.labels.items():
                return s.value
    return None


def _dlq(*args: str, bootstrap: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "shared.tools.dlq", "--bootstrap-servers", bootstrap, *args], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


async def test_a_skipped_type_is_read_and_let_pass_without_a_dead_letter_or_a_marker(orders: OrdersDeployment) -> None:
    from aiokafka import TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient

    bootstrap = orders.stack.cfg.bootstrap_servers
    await orders.start(role="worker", env={"ORDERS_APP_V2": "skip"})
    skipped = cloudevent_headers(V2, ce_id="skipped-1")
    sent = await produce(bootstrap, orders.orders, [
        (b"v2-3", json.dumps({"order_id": "v2-3", "channel": "web"}).encode(), skipped),
        (b"after", json.dumps({"order_id": "after"}).encode(), cloudevent_headers(V1)),
    ], partition=0)

    shipped = await read_all(bootstrap, orders.shipments, expect=1)
    assert [r.json() for r in shipped] == [{"order_id": "after"}]
    assert await read_all(bootstrap, f"{orders.orders}.dlq", timeout=2) == []
    client, db = await orders.db()
    assert await db.processed_events.count_documents({"type": V2}) == 0
    assert await db.processed_events.count_documents({"type": V1}) == 1
    await client.close()

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(f"{orders.group}.{orders.orders}")
    finally:
        await admin.close()
    assert committed[TopicPartition(orders.orders, 0)].offset == sent[-1].offset + 1
