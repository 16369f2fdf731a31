"""What FastStream costs: CPU per record consumed and produced through the platform's `KafkaBus`
(FastStream with its tracing and Prometheus middleware, as every service runs it) against plain
aiokafka, on the same broker, topic and records, in one run.

    .venv/bin/python -m bench.kafka_layer [--records 20000] [--bootstrap-servers 127.0.0.1:9092]

Needs a running broker (`./alumni up --infra-only`). Plain aiokafka here has no tracing: the
difference is an upper bound of what dropping FastStream would save, since the platform would
then need `opentelemetry-instrumentation-aiokafka` for the same spans.
"""

import argparse
import asyncio
import time
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry

from shared.messaging import aiokafka_fix
from shared.messaging.kafka import KafkaBus

HEADERS = {"ce_specversion": "1.0", "ce_id": "x", "ce_source": "/bench", "ce_type": "com.alumni.bench.v1", "content-type": "application/json"}
VALUE = b'{"employee_id": "B-000001", "first_name": "Bench", "last_name": "Mark", "departure_reason": "resignation"}'


class Meter:
    def __init__(self) -> None:
        self.cpu, self.wall = time.process_time(), time.perf_counter()

    def per_record_us(self, n: int) -> tuple[float, float]:
        return (time.process_time() - self.cpu) / n * 1e6, (time.perf_counter() - self.wall) / n * 1e6


def bus(bootstrap: str) -> KafkaBus:
    return KafkaBus(bootstrap, client_id="bench", shutdown_timeout=5, tracer_provider=TracerProvider(),
                    registry=CollectorRegistry())


async def produce_plain(bootstrap: str, topic: str, n: int) -> tuple[float, float]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    headers = [(k, v.encode()) for k, v in HEADERS.items()]
    meter = Meter()
    sends = [await producer.send(topic, VALUE, key=str(i).encode(), headers=headers) for i in range(n)]
    await asyncio.gather(*sends)
    result = meter.per_record_us(n)
    await producer.stop()
    return result


async def produce_bus(bootstrap: str, topic: str, n: int) -> tuple[float, float]:
    kafka = bus(bootstrap)
    await kafka.start()
    meter = Meter()
    sends = [await kafka.publish(VALUE, topic, key=str(i).encode(), headers=HEADERS, confirm=False) for i in range(n)]
    await asyncio.gather(*sends)
    result = meter.per_record_us(n)
    await kafka.stop()
    return result


async def consume_plain(bootstrap: str, topic: str, n: int) -> tuple[float, float]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"plain-{uuid.uuid4().hex[:6]}",
                                enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    seen, meter = 0, Meter()
    while seen < n:
        for partition, records in (await consumer.getmany(timeout_ms=500)).items():
            seen += len(records)
            await consumer.commit({partition: records[-1].offset + 1})
    result = meter.per_record_us(n)
    await consumer.stop()
    return result


async def consume_bus(bootstrap: str, topic: str, n: int) -> tuple[float, float]:
    kafka, done, seen = bus(bootstrap), asyncio.Event(), [0]

    async def handle(record, consumer) -> None:
        seen[0] += 1
        if seen[0] >= n:
            done.set()

    kafka.subscribe(topic, group=f"bus-{uuid.uuid4().hex[:6]}", workers=1, fetch_max_wait_ms=500, handle=handle)
    meter = Meter()
    await kafka.start()
    await done.wait()
    result = meter.per_record_us(n)
    await kafka.stop()
    return result


async def main(bootstrap: str, n: int) -> None:
    aiokafka_fix.apply()
    topic = f"bench.kafka-layer.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topic, 3, 1)])
    try:
        rows = [
            ("produce, plain aiokafka", await produce_plain(bootstrap, topic, n)),
            ("produce, KafkaBus (FastStream)", await produce_bus(bootstrap, topic, n)),
            ("consume, plain aiokafka", await consume_plain(bootstrap, topic, 2 * n)),
            ("consume, KafkaBus (FastStream)", await consume_bus(bootstrap, topic, 2 * n)),
        ]
    finally:
        await admin.delete_topics([topic])
        await admin.close()
    print(f"{'per record':<34}{'CPU µs':>10}{'wall µs':>10}")
    for name, (cpu, wall) in rows:
        print(f"{name:<34}{cpu:>10.1f}{wall:>10.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=20000)
    parser.add_argument("--bootstrap-servers", default="127.0.0.1:9092")
    args = parser.parse_args()
    asyncio.run(main(args.bootstrap_servers, args.records))
