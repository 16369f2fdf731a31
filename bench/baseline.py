"""The benchmark's baseline: the services' stages by hand with aiokafka and PyMongo, doing per
departure the I/O the services do (bench/pipeline.py); a process of its own, its CPU apart, on
the services' event loop (uvloop):

    .venv/bin/python -m bench.baseline --bootstrap-servers H:P --mongodb-uri URI --smtp-port N
"""

import argparse
import asyncio
import json
import logging
import signal
import socket
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage

import aiosmtplib
import uvloop
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import CommitFailedError
from pymongo import DESCENDING, AsyncMongoClient
from pymongo.errors import DuplicateKeyError

from bench.baseline_indexes import create_indexes
from bench.sample import headers


class Baseline:
    """Per departure, as the services: offboarding (a transaction: dedupe marker, erasure check,
    existing case, the case, the exit-form link, two outbox rows; two events), referrals (a
    look for a referred hire, per departure; its referrer projection by one conditional upsert,
    per registration; no transaction, no marker), identity (marker, erasure check, existing
    alumnus, the alumnus, the email confirmation, two outbox rows; two events), engagement (its
    projection by one insert, no transaction) and
    notifications (three emails: the exit-form invitation, the welcome, the email confirmation;
    each in one transaction: its marker, the SMTP send over a kept connection, the delivery
    recorded sent, its `delivered` outbox row). Published outbox rows are removed every 0.2 s,
    offsets committed per fetched batch, the collections carry the services' indexes."""

    DEPARTED, COMPLETED, REGISTERED, NOTIFY, DELIVERED = "bench.departed", "bench.completed", "bench.registered", "bench.notify", "bench.delivered"
    TOPICS = (DEPARTED, COMPLETED, REGISTERED, NOTIFY, DELIVERED)
    SUBJECTS = {"welcome": "Welcome", "invitation": "Staying in touch"}

    def __init__(self, bootstrap_servers: str, mongodb_uri: str, smtp_port: int) -> None:
        self.bootstrap = bootstrap_servers
        self.smtp_port = smtp_port
        self.client = AsyncMongoClient(mongodb_uri)
        self.db = {name: self.client[f"bench_{name}"] for name in ("offboarding", "identity", "referrals", "engagement", "notifications")}
        self.producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all", enable_idempotence=True)
        self.tasks: list[asyncio.Task] = []
        self.published: dict[str, list[str]] = {name: [] for name in self.db}
        self.local_hostname = socket.getfqdn()
        self.smtp_idle: list[aiosmtplib.SMTP] = []

    async def start(self) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        existing = set(await admin.list_topics())
        await admin.create_topics([NewTopic(t, 6, 1) for t in self.TOPICS if t not in existing])
        await admin.close()
        await create_indexes(self.db)
        await self.producer.start()
        self.tasks = [
            asyncio.create_task(self._stage("offboarding", [self.DEPARTED], self._offboarding)),
            asyncio.create_task(self._stage("referrals-departures", [self.DEPARTED], self._referrals_departure)),
            asyncio.create_task(self._stage("identity", [self.COMPLETED], self._identity)),
            asyncio.create_task(self._stage("referrals-alumni", [self.REGISTERED], self._referrals_alumnus)),
            asyncio.create_task(self._stage("engagement", [self.REGISTERED], self._engagement)),
            asyncio.create_task(self._stage("notifications", [self.NOTIFY, self.REGISTERED], self._notifications)),
            asyncio.create_task(self._remove_published()),
        ]

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.producer.stop()
        await self.client.close()

    async def _stage(self, group: str, topics: list[str], handle) -> None:
        consumer = AIOKafkaConsumer(*topics, bootstrap_servers=self.bootstrap, group_id=f"bench-{group}", enable_auto_commit=False, auto_offset_reset="earliest")
        await consumer.start()
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=200)

                async def partition(records) -> None:
                    for record in records:  # in order within a partition
                        await handle(record)

                await asyncio.gather(*(partition(r) for r in batches.values()))
                if batches:
                    try:
                        await consumer.commit({tp: records[-1].offset + 1 for tp, records in batches.items()})
                    except CommitFailedError:
                        pass  # the group rebalanced (this process was stopped a while): read again, as a service would
        finally:
            await consumer.stop()

    async def _transaction(self, writes) -> None:
        async with self.client.start_session() as session:
            await session.with_transaction(lambda s: writes(s))

    async def _publish(self, service: str, outbox_ids: list[str], messages: list[tuple[str, bytes, bytes, str]]) -> None:
        sends = [await self.producer.send(t, v, key=k, headers=headers(ce)) for t, k, v, ce in messages]
        await asyncio.gather(*sends)
        self.published[service].extend(outbox_ids)

    async def _remove_published(self) -> None:
        while True:
            await asyncio.sleep(0.2)
            for service, ids in self.published.items():
                if ids:
                    self.published[service] = []
                    await self.db[service].outbox.delete_many({"_id": {"$in": ids}})

    @staticmethod
    async def _marker(db, s) -> None:
        await db.processed_events.insert_one({"_id": uuid.uuid4().hex, "processed_at": datetime.now(UTC)}, session=s)

    @staticmethod
    def _outbox(ids: list[str], value: bytes) -> list[dict]:
        return [{"_id": i, "status": "pending", "seq": n, "value": value} for n, i in enumerate(ids)]

    async def _offboarding(self, record) -> None:
        d, db = json.loads(record.value), self.db["offboarding"]
        ids = [uuid.uuid4().hex, uuid.uuid4().hex]

        async def writes(s) -> None:
            await self._marker(db, s)
            await db.erased_people.find_one({"_id": d["employee_id"]}, session=s)
            await db.exit_cases.find_one({"employee_id": d["employee_id"]}, sort=[("hire_date", DESCENDING)], session=s)
            await db.exit_cases.replace_one({"_id": d["employee_id"]}, {"employee_id": d["employee_id"], "hire_date": d["hire_date"],
                                            "departure": d, "status": "completed"}, upsert=True, session=s)
            await db.exit_invitations.insert_one({"_id": uuid.uuid4().hex, "case_id": d["employee_id"]}, session=s)
            await db.outbox.insert_many(self._outbox(ids, record.value), session=s)

        await self._transaction(writes)
        key = d["employee_id"].encode()
        await self._publish("offboarding", ids, [(self.COMPLETED, key, record.value, "completed"),
                                                 (self.NOTIFY, key, json.dumps({"kind": "invitation", **d}).encode(), "issued")])

    async def _referrals_departure(self, record) -> None:
        """A leaver never referred: one read, no transaction, no marker (as the service)."""
        d, db = json.loads(record.value), self.db["referrals"]
        await db.referrals.find_one({"match.hired": {"$in": [f"employee:{d['employee_id']}", f"email:{d['personal_email']}"]}})

    async def _identity(self, record) -> None:
        d, db = json.loads(record.value), self.db["identity"]
        ids = [uuid.uuid4().hex, uuid.uuid4().hex]

        async def writes(s) -> None:
            await self._marker(db, s)
            await db.erased_people.find_one({"_id": d["employee_id"]}, session=s)
            await db.alumni.find_one({"stints.employee_id": d["employee_id"]}, session=s)
            await db.alumni.insert_one({"_id": uuid.uuid4().hex, "stints": [{"employee_id": d["employee_id"]}], "profile": d,
                                        "search": {"listed": False, "name": d["last_name"].lower()}}, session=s)
            await db.email_confirmations.insert_one({"_id": uuid.uuid4().hex, "alumnus_id": ids[0], "expires_at": datetime.now(UTC)}, session=s)
            await db.outbox.insert_many(self._outbox(ids, record.value), session=s)

        await self._transaction(writes)
        key = d["employee_id"].encode()
        await self._publish("identity", ids, [(self.REGISTERED, key, json.dumps({"kind": "welcome", **d}).encode(), "registered"),
                                              (self.NOTIFY, key, json.dumps({"kind": "confirmation", **d}).encode(), "confirmation")])

    async def _referrals_alumnus(self, record) -> None:
        """The referrer projection: one upsert applied only if newer, no transaction (as the service)."""
        d, db = json.loads(record.value), self.db["referrals"]
        try:
            await db.referrers.update_one({"_id": d["employee_id"], "erased_at": {"$exists": False}, "version": {"$lt": 1}},
                                          {"$set": {"version": 1, "email": d["personal_email"]}}, upsert=True)
        except DuplicateKeyError:
            pass

    async def _engagement(self, record) -> None:
        """A first registration: one insert, no transaction (as the service)."""
        d, db = json.loads(record.value), self.db["engagement"]
        try:
            await db.known_alumni.insert_one({"_id": d["employee_id"], "alumnus_id": d["employee_id"], "country": "FR", "consents": {"events": True}})
        except DuplicateKeyError:
            pass

    async def _notifications(self, record) -> None:
        """As the service sends a transactional email to a quick mail server: planned, sent over a
        kept connection and recorded sent with its `delivered` outbox row, in one transaction."""
        d, db = json.loads(record.value), self.db["notifications"]
        delivery, ids = uuid.uuid4().hex, [uuid.uuid4().hex]
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "bench@example.com", d["personal_email"], self.SUBJECTS.get(d["kind"], "Confirm your email")
        message.set_content("Hello")

        async def plan_send_settle(s) -> None:
            await self._marker(db, s)
            if d["kind"] == "welcome":
                await db.reachable_alumni.replace_one({"_id": d["employee_id"]}, {"email": d["personal_email"]}, upsert=True, session=s)
            await self._send(message)
            await db.deliveries.insert_one({"_id": delivery, "status": "sent", "recipient_id": d["employee_id"],
                                            "source_event_id": record.offset, "created_at": datetime.now(UTC)}, session=s)
            await db.outbox.insert_many(self._outbox(ids, b"{}"), session=s)

        await self._transaction(plan_send_settle)
        await self._publish("notifications", ids, [(self.DELIVERED, d["employee_id"].encode(), json.dumps({"delivery": delivery}).encode(), "delivered")])

    async def _send(self, message: EmailMessage) -> None:
        """Over connections kept open, as the service's pool keeps them."""
        smtp = self.smtp_idle.pop() if self.smtp_idle else aiosmtplib.SMTP(hostname="127.0.0.1", port=self.smtp_port, local_hostname=self.local_hostname)
        if not smtp.is_connected:
            await smtp.connect()
        await smtp.send_message(message)
        self.smtp_idle.append(smtp)


async def _serve(args: argparse.Namespace) -> None:
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    # Topics just created: the metadata and the group coordinator catch up within seconds (a
    # stage that never starts fails the bench). Stopped while the bench measures the services,
    # this process's group sessions expire.
    logging.getLogger("aiokafka.cluster").addFilter(lambda r: "not found in cluster metadata" not in r.getMessage())
    logging.getLogger("aiokafka.consumer.group_coordinator").addFilter(
        lambda r: all(m not in r.getMessage() for m in ("session expired", "will rejoin", "GroupCoordinatorNotAvailable")))
    # and the fetches in flight when it was stopped time out at the broker.
    logging.getLogger("aiokafka.consumer.fetcher").addFilter(lambda r: "RequestTimedOutError" not in r.getMessage())
    baseline = Baseline(args.bootstrap_servers, args.mongodb_uri, args.smtp_port)
    await baseline.start()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    print("ready", flush=True)
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait([stopping, *baseline.tasks], return_when=asyncio.FIRST_COMPLETED)
    for task in baseline.tasks:
        if task.done() and not task.cancelled() and task.exception():
            raise SystemExit(f"bench.baseline: a stage failed: {task.exception()!r}")  # never a stage missing from the figures
    await baseline.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="bench.baseline")
    for flag, kind in (("--bootstrap-servers", str), ("--mongodb-uri", str), ("--smtp-port", int)):
        parser.add_argument(flag, type=kind, required=True)
    uvloop.run(_serve(parser.parse_args()))  # the services' event loop too (uvicorn takes uvloop)
