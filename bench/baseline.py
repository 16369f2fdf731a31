"""The benchmark's baseline: three chained stages written by hand with aiokafka and PyMongo,
doing per departure the I/O the services do (see bench/pipeline.py), and the sample departures
both are fed."""

import asyncio
import json
import socket
import uuid
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage

import aiosmtplib
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from pymongo import AsyncMongoClient

from devstack.config import StackConfig
from shared.events import Envelope

TODAY = date.today()


def departure(run: str, n: int) -> dict:
    return {
        "employee_id": f"B-{run}-{n:06d}", "first_name": f"Bench{n}", "last_name": "Mark", "work_email": f"w{n}.{run}@acme.example",
        "personal_email": f"p{n}.{run}@home.example", "hire_date": (TODAY - timedelta(days=800)).isoformat(),
        "departure_date": (TODAY - timedelta(days=1)).isoformat(), "departure_reason": "resignation", "locale": "en",
    }


def headers(ce_type: str) -> list[tuple[str, bytes]]:
    return [(k, v.encode()) for k, v in Envelope(type=ce_type, source="/bench").headers().items()]


# --- the baseline: three stages by hand ---------------------------------------------------------

class Baseline:
    TOPICS = ("bench.departed", "bench.completed", "bench.notify")

    def __init__(self, cfg: StackConfig, smtp_port: int) -> None:
        self.cfg = cfg
        self.smtp_port = smtp_port
        self.client = AsyncMongoClient(cfg.mongodb_uri)
        self.db = self.client["bench_baseline"]
        self.producer = AIOKafkaProducer(bootstrap_servers=cfg.bootstrap_servers, acks="all", enable_idempotence=True)
        self.tasks: list[asyncio.Task] = []
        self.published: list[str] = []
        self.local_hostname = socket.getfqdn()

    async def start(self) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.cfg.bootstrap_servers)
        await admin.start()
        existing = set(await admin.list_topics())
        await admin.create_topics([NewTopic(t, 6, 1) for t in self.TOPICS if t not in existing])
        await admin.close()
        await self.producer.start()
        self.tasks = [
            asyncio.create_task(self._stage(self.TOPICS[0], self._offboarding)),
            asyncio.create_task(self._stage(self.TOPICS[1], self._identity)),
            asyncio.create_task(self._stage(self.TOPICS[2], self._notifications)),
            asyncio.create_task(self._remove_published()),
        ]

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.producer.stop()
        await self.client.close()

    async def _stage(self, topic: str, handle) -> None:
        consumer = AIOKafkaConsumer(topic, bootstrap_servers=self.cfg.bootstrap_servers, group_id=f"bench-{topic}",
                                    enable_auto_commit=False, auto_offset_reset="earliest")
        await consumer.start()
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=200)

                async def partition(records) -> None:
                    for record in records:  # in order within a partition
                        await handle(record)

                await asyncio.gather(*(partition(r) for r in batches.values()))
                if batches:
                    await consumer.commit({tp: records[-1].offset + 1 for tp, records in batches.items()})
        finally:
            await consumer.stop()

    async def _transaction(self, writes) -> None:
        async with self.client.start_session() as session:
            await session.with_transaction(lambda s: writes(s))

    async def _publish(self, outbox_ids: list[str], messages: list[tuple[str, bytes, bytes, str]]) -> None:
        sends = [await self.producer.send(t, v, key=k, headers=headers(ce)) for t, k, v, ce in messages]
        await asyncio.gather(*sends)
        self.published.extend(outbox_ids)

    async def _remove_published(self) -> None:
        while True:
            await asyncio.sleep(0.2)
            ids, self.published = self.published, []
            if ids:
                await self.db.outbox.delete_many({"_id": {"$in": ids}})

    async def _offboarding(self, record) -> None:
        d = json.loads(record.value)
        ids = [uuid.uuid4().hex, uuid.uuid4().hex]

        async def writes(s) -> None:
            await self.db.processed.insert_one({"_id": uuid.uuid4().hex, "at": datetime.now(UTC)}, session=s)
            await self.db.cases.replace_one({"_id": d["employee_id"]}, {"departure": d, "status": "completed"}, upsert=True, session=s)
            await self.db.invitations.insert_one({"_id": uuid.uuid4().hex, "case": d["employee_id"]}, session=s)
            await self.db.outbox.insert_many([{"_id": i, "status": "pending", "value": record.value} for i in ids], session=s)

        await self._transaction(writes)
        key = d["employee_id"].encode()
        await self._publish(ids, [(self.TOPICS[1], key, record.value, "completed"), (self.TOPICS[2], key, json.dumps({"kind": "invitation", **d}).encode(), "issued")])

    async def _identity(self, record) -> None:
        d = json.loads(record.value)
        outbox_id = uuid.uuid4().hex

        async def writes(s) -> None:
            await self.db.processed.insert_one({"_id": uuid.uuid4().hex, "at": datetime.now(UTC)}, session=s)
            await self.db.alumni.insert_one({"_id": uuid.uuid4().hex, "employee_id": d["employee_id"], "profile": d}, session=s)
            await self.db.outbox.insert_one({"_id": outbox_id, "status": "pending", "value": record.value}, session=s)

        await self._transaction(writes)
        await self._publish([outbox_id], [(self.TOPICS[2], d["employee_id"].encode(), json.dumps({"kind": "welcome", **d}).encode(), "registered")])

    async def _notifications(self, record) -> None:
        d = json.loads(record.value)
        delivery = uuid.uuid4().hex

        async def plan(s) -> None:
            await self.db.processed.insert_one({"_id": uuid.uuid4().hex, "at": datetime.now(UTC)}, session=s)
            await self.db.reachable.replace_one({"_id": d["employee_id"]}, {"email": d["personal_email"]}, upsert=True, session=s)
            await self.db.deliveries.insert_one({"_id": delivery, "status": "planned"}, session=s)

        await self._transaction(plan)
        message = EmailMessage()
        message["From"], message["To"] = "bench@example.com", d["personal_email"]
        message["Subject"] = "Welcome" if d["kind"] == "welcome" else "Staying in touch"
        message.set_content("Hello")
        await aiosmtplib.send(message, hostname="127.0.0.1", port=self.smtp_port, local_hostname=self.local_hostname)

        async def settle(s) -> None:
            await self.db.deliveries.update_one({"_id": delivery}, {"$set": {"status": "sent"}}, session=s)
            await self.db.outbox.insert_one({"_id": uuid.uuid4().hex, "status": "pending"}, session=s)

        await self._transaction(settle)
