import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from pymongo import AsyncMongoClient

from devstack.config import ROOT
from devstack.process import ManagedProcess, free_port
from devstack.stack import LocalStack
from tests.integration.otlp_receiver import OtlpReceiver


@pytest.fixture(scope="session")
def otlp() -> Iterator[OtlpReceiver]:
    receiver = OtlpReceiver().start()
    yield receiver
    receiver.stop()


@dataclass
class OrdersApp:
    """One process of the orders app."""

    process: ManagedProcess
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def wait_ready(self, timeout: float = 60) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        async with httpx.AsyncClient(timeout=2) as http:
            while True:
                assert self.process.pid() is not None, f"orders app exited:\n{self.process.log_tail(40)}"
                try:
                    if (await http.get(f"{self.url}/health/ready")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                assert asyncio.get_running_loop().time() < deadline, "orders app not ready in time"
                await asyncio.sleep(0.2)

    async def wait_exit(self, timeout: float = 30) -> int | None:
        deadline = asyncio.get_running_loop().time() + timeout
        while self.process.pid() is not None:
            assert asyncio.get_running_loop().time() < deadline, "orders app did not exit"
            await asyncio.sleep(0.1)
        return self.process.exit_code


@dataclass
class OrdersDeployment:
    """The orders app's topics and database, unique to one test, and its processes."""

    stack: LocalStack
    otlp: OtlpReceiver
    orders: str
    shipments: str
    database: str
    group: str
    apps: list[OrdersApp] = field(default_factory=list)

    async def start(self, *, role: str = "intake,worker", name: str | None = None, env: dict[str, str] | None = None) -> OrdersApp:
        port = free_port()
        tag = name or self.group
        process = ManagedProcess(
            name=f"{tag}-{port}",
            argv=[sys.executable, "-m", "tests.integration.platform.orders_app", "--instance", f"{tag}-{port}"],
            marker=f"{tag}-{port}",
            run_dir=self.stack.cfg.run,
            log_dir=self.stack.cfg.logs,
            cwd=ROOT,
            env={
                **os.environ,
                "ALUMNI_DEVELOPMENT_MODE": "true",
                "KAFKA_BOOTSTRAP_SERVERS": self.stack.cfg.bootstrap_servers,
                "MONGODB_URI": self.stack.cfg.mongodb_uri,
                "MONGODB_DATABASE": self.database,
                "HTTP_PORT": str(port),
                "ORDERS_APP_NAME": self.group,
                "ORDERS_APP_ROLE": role,
                "ORDERS_TOPIC": self.orders,
                "SHIPMENTS_TOPIC": self.shipments,
                "OTEL_SERVICE_NAME": tag,
                "OTEL_EXPORTER_OTLP_ENDPOINT": self.otlp.endpoint,
                "OTEL_BSP_SCHEDULE_DELAY": "100",
                "OTEL_METRICS_EXPORTER": "none",
                "RETRY_BASE_DELAY_SECONDS": "0.2",
                "OUTBOX_LEASE_SECONDS": "2",
                "PYTHONUNBUFFERED": "1",
                **(env or {}),
            },
        )
        process.start()
        app = OrdersApp(process, port)
        self.apps.append(app)
        await app.wait_ready()
        return app

    async def never_ready(self, envs: list[dict[str, str]], because: str) -> None:
        """Each of these configurations starts a process that gives up at start-up, saying why."""
        for env in envs:
            with pytest.raises(AssertionError, match="exited|not ready"):
                await self.start(env=env | {"STARTUP_TIMEOUT_SECONDS": "6"})
        for app in self.apps:
            await app.wait_exit()
            assert because in app.process.log_tail(80)

    def stop_all(self) -> None:
        for app in self.apps:
            app.process.stop(timeout=30)

    async def db(self):
        client = AsyncMongoClient(self.stack.cfg.mongodb_uri)
        return client, client[self.database]


async def new_deployment(stack: LocalStack, otlp: OtlpReceiver) -> OrdersDeployment:
    """The orders app's topics (created on `stack`'s broker) and database, unique to one test."""
    run = uuid.uuid4().hex[:8]
    deployment = OrdersDeployment(
        stack, otlp, orders=f"test.{run}.orders", shipments=f"test.{run}.shipments", database=f"orders_{run}", group=f"orders-{run}"
    )
    topics = [deployment.orders, deployment.shipments]
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.cfg.bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(t, 3, replication_factor=1) for t in topics] + [NewTopic(f"{t}.dlq", 1, replication_factor=1) for t in topics]
        )
    finally:
        await admin.close()
    return deployment


@pytest.fixture
async def orders(stack: LocalStack, otlp: OtlpReceiver) -> AsyncIterator[OrdersDeployment]:
    deployment = await new_deployment(stack, otlp)
    yield deployment
    deployment.stop_all()
