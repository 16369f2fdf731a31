"""Where the local stack keeps its files and which ports it uses, from ALUMNI_* variables."""

import os
from dataclasses import dataclass, replace
from pathlib import Path

from services import DEFAULT_HTTP_PORTS

ROOT = Path(__file__).resolve().parent.parent
DEPLOY_LOCAL = ROOT / "deploy" / "local"


@dataclass(frozen=True)
class StackConfig:
    home: Path  # data, logs and pid files of this stack
    cache: Path  # downloads, shared by every stack on the machine (the Kafka jars)
    kafka_port: int = 9092
    kafka_controller_port: int = 9093
    mongo_port: int = 27017
    http_port_base: int = 0  # 0: each service's default port; else base, base+1, ... in table order
    kafka_heap: str = "512m"
    smtp_port: int = 1025  # the local mail sink
    sink_http_port: int = 8025  # the local chat webhook sink
    zipkin_port: int = 9411  # the local trace store (Zipkin's API and UI)
    test_port_offset: int = 0  # shifts the test stack's ports, so two checkouts can test at once
    # Each service as its workloads (services.WORKLOADS: notifications' bulk stream apart, at a
    # lower CPU priority), as in production; the tests' stack runs one process of each, which
    # they restart at will.
    bulk_apart: bool = True

    @classmethod
    def from_env(cls, env: os._Environ | dict | None = None) -> "StackConfig":
        env = os.environ if env is None else env
        home = Path(env.get("ALUMNI_STACK_HOME", ROOT / ".stack")).resolve()
        return cls(
            home=home,
            cache=Path(env.get("ALUMNI_CACHE", ROOT / ".stack" / "cache")).resolve(),
            kafka_port=int(env.get("ALUMNI_KAFKA_PORT", 9092)),
            kafka_controller_port=int(env.get("ALUMNI_KAFKA_CONTROLLER_PORT", 9093)),
            mongo_port=int(env.get("ALUMNI_MONGO_PORT", 27017)),
            http_port_base=int(env.get("ALUMNI_HTTP_PORT_BASE", 0)),
            kafka_heap=env.get("ALUMNI_KAFKA_HEAP", "512m"),
            smtp_port=int(env.get("ALUMNI_SMTP_PORT", 1025)),
            sink_http_port=int(env.get("ALUMNI_SINK_HTTP_PORT", 8025)),
            zipkin_port=int(env.get("ALUMNI_ZIPKIN_PORT", 9411)),
            test_port_offset=int(env.get("ALUMNI_TEST_PORT_OFFSET", 0)),
            bulk_apart=env.get("ALUMNI_BULK_APART", "true").lower() not in ("0", "false", "no"),
        )

    def for_tests(self) -> "StackConfig":
        """The test suite's own stack: its own data and ports, so a running system is untouched."""
        shift = self.test_port_offset
        return replace(
            self,
            home=self.home / "test",
            kafka_port=19092 + shift,
            kafka_controller_port=19093 + shift,
            mongo_port=27117 + shift,
            http_port_base=18001 + shift,
            smtp_port=11025 + shift,
            sink_http_port=18025 + shift,
            zipkin_port=19411 + shift,
            bulk_apart=False,
        )

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def mongodb_uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.mongo_port}/?directConnection=true"

    def service_ports(self) -> dict[str, int]:
        if not self.http_port_base:
            return dict(DEFAULT_HTTP_PORTS)
        return {name: self.http_port_base + i for i, name in enumerate(DEFAULT_HTTP_PORTS)}

    @property
    def sinks(self) -> Path:
        return self.home / "sinks"

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    @property
    def run(self) -> Path:
        return self.home / "run"
