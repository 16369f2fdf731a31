"""The whole local system: infrastructure (Kafka, the database, the topics), the trace store,
the local mail and chat sinks, and the services."""

import asyncio
import os
import time

from devstack.config import StackConfig
from devstack.database import DatabaseNode
from devstack.kafka import KafkaNode, ensure_topics
from devstack.services import ServiceProcess, SinksProcess
from devstack.zipkin import ZipkinNode
from services import workloads
from shared.topics import topic_partitions


class LocalStack:
    def __init__(self, cfg: StackConfig, service_env: dict[str, str] | None = None) -> None:
        self.cfg = cfg
        self.kafka = KafkaNode(cfg)
        self.database = DatabaseNode(cfg)
        self.sinks = SinksProcess(cfg)
        self.zipkin = ZipkinNode(cfg)
        self.services: dict[str, ServiceProcess] = {}
        for name, port in cfg.service_ports().items():
            apart = workloads(name) if cfg.bulk_apart else {name: {}}
            for i, (workload, settings) in enumerate(apart.items()):  # the others: lower priority, ports 100 apart
                env, instance = {**(service_env or {}), **settings}, workload.removeprefix(name).lstrip("-")
                self.services[workload] = ServiceProcess(cfg, name, port + 100 * i, env, instance=instance, nice=10 if i else 0)

    def infrastructure_running(self) -> bool:
        return self.kafka.running() and self.database.running()

    async def up_infrastructure(self, log=print) -> None:
        """Start Kafka and the database (a no-op for what runs already) and create the topics."""
        started = time.monotonic()
        # Refuse before starting anything, so a taken port leaves nothing half started.
        self.database.check_ports()
        self.kafka.check_ports()
        if self.database.start():
            log(f"database: starting on 127.0.0.1:{self.cfg.mongo_port}")
        if self.kafka.start():
            log(f"kafka: starting on {self.cfg.bootstrap_servers}")
        await asyncio.gather(self.database.wait_ready(), self.kafka.wait_ready())
        for change in await ensure_topics(self.cfg.bootstrap_servers, topic_partitions()):
            log(f"kafka: {change}")
        log(f"infrastructure ready in {time.monotonic() - started:.1f}s")

    async def up_services(self, names: list[str] | None = None, log=print) -> None:
        chosen = [self.services[n] for n in (names or list(self.services))]
        for service in chosen:
            if service.start():
                log(f"{service.name}: starting on {service.url}")
        await asyncio.gather(*(s.wait_ready() for s in chosen))

    async def up(self, log=print) -> None:
        if self.zipkin.start():  # the slowest to start: it comes up while the rest does
            log(f"traces: starting Zipkin on {self.zipkin.url}")
        await self.up_infrastructure(log)
        if self.sinks.start():
            log(f"sinks: mail on 127.0.0.1:{self.cfg.smtp_port}, chat on 127.0.0.1:{self.cfg.sink_http_port}, kept in {self.cfg.sinks}")
        # Spans go to the local trace store, unless the operator chose exporters of their own.
        if "OTEL_TRACES_EXPORTER" not in os.environ:
            for service in self.services.values():
                service.process.env.update(self.zipkin.service_env())
        await self.up_services(log=log)
        await self.zipkin.wait_ready()

    def down(self, log=print) -> None:
        for service in self.services.values():
            if service.stop():
                log(f"{service.name}: stopped")
        if self.sinks.stop():
            log("sinks: stopped")
        if self.zipkin.stop():
            log("traces: stopped")
        if self.kafka.stop():
            log("kafka: stopped")
        if self.database.stop():
            log("database: stopped")

    def status(self) -> list[tuple[str, str, str]]:
        """(component, state, address) rows."""
        rows = [
            ("kafka", self._state(self.kafka.process.pid()), self.cfg.bootstrap_servers),
            ("database", self._state(self.database.process.pid()), self.cfg.mongodb_uri),
        ]
        rows += [(key, self._state(s.process.pid()), s.url) for key, s in self.services.items()]
        rows.append(("sinks", self._state(self.sinks.process.pid()), f"smtp://127.0.0.1:{self.cfg.smtp_port}, http://127.0.0.1:{self.cfg.sink_http_port}"))
        rows.append(("traces", self._state(self.zipkin.process.pid()), f"{self.zipkin.url}/zipkin/"))
        return rows

    @staticmethod
    def _state(pid: int | None) -> str:
        return f"running (pid {pid})" if pid else "stopped"
