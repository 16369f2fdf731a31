"""A real single-node Apache Kafka broker (KRaft, combined broker and controller) from the
Maven Central artifact, run with the machine's JDK."""

import asyncio
import base64
import hashlib
import re
import shutil
import subprocess
import uuid
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic

from devstack.config import DEPLOY_LOCAL, StackConfig
from devstack.errors import StackError
from devstack.process import ManagedProcess, port_free

POM = DEPLOY_LOCAL / "pom.xml"
LOG4J_CONFIG = DEPLOY_LOCAL / "log4j2.properties"
MIN_JAVA = 17
TOPIC_ALREADY_EXISTS = 36


def _java_major(java: str) -> int:
    out = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not match:
        raise StackError(f"cannot read the Java version from `{java} -version`:\n{out}")
    major = int(match.group(1))
    return int(match.group(2)) if major == 1 else major


def _cluster_id() -> str:
    # Kafka's own format: a random UUID, base64url without padding, never starting with '-'.
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cid.startswith("-"):
            return cid


class KafkaNode:
    def __init__(self, cfg: StackConfig) -> None:
        self.cfg = cfg
        self.dir = cfg.home / "kafka"
        self.data = self.dir / "data"
        self.properties = self.dir / "server.properties"
        self.process = ManagedProcess(
            name="kafka",
            argv=[],  # filled in by start(), once the JDK and jars are known
            marker=str(self.properties),
            run_dir=cfg.run,
            log_dir=cfg.logs,
        )

    # --- jars -------------------------------------------------------------------------------

    @property
    def libs(self) -> Path:
        digest = hashlib.sha256(POM.read_bytes()).hexdigest()[:12]
        return self.cfg.cache / f"kafka-libs-{digest}"

    def ensure_jars(self) -> Path:
        """Collect the broker's jars from Maven Central once; later calls reuse the cache."""
        libs = self.libs
        if (libs / ".complete").exists():
            return libs
        mvn = shutil.which("mvn")
        if mvn is None:
            raise StackError(
                "Maven (mvn) is not installed: it fetches the Kafka jars from Maven Central "
                "once. Install it (Debian: `apt-get install maven`) and run again."
            )
        partial = libs.with_name(libs.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        print(f"fetching Kafka jars from Maven Central into {libs} ...", flush=True)
        result = subprocess.run(
            [mvn, "-q", "-B", "-f", str(POM), "dependency:copy-dependencies",
             "-DincludeScope=runtime", f"-DoutputDirectory={partial}"],
            capture_output=True, text=True,
        )
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
            raise StackError(
                "Maven could not fetch the Kafka jars (is Maven Central reachable?).\n"
                f"Command: mvn -f {POM} dependency:copy-dependencies\n{tail}"
            )
        (partial / ".complete").touch()
        shutil.rmtree(libs, ignore_errors=True)
        partial.rename(libs)
        return libs

    # --- configuration and storage ---------------------------------------------------------

    def write_properties(self) -> None:
        c = self.cfg
        self.dir.mkdir(parents=True, exist_ok=True)
        self.properties.write_text(
            "\n".join([
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.bootstrap.servers=127.0.0.1:{c.kafka_controller_port}",
                f"listeners=PLAINTEXT://127.0.0.1:{c.kafka_port},CONTROLLER://127.0.0.1:{c.kafka_controller_port}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{c.kafka_port},CONTROLLER://127.0.0.1:{c.kafka_controller_port}",
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                f"log.dirs={self.data}",
                "num.partitions=3",
                "offsets.topic.replication.factor=1",
                "offsets.topic.num.partitions=10",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                "auto.create.topics.enable=false",
                "log.retention.hours=168",
                "",
            ])
        )

    def format_storage(self, java: str, libs: Path) -> None:
        if (self.data / "meta.properties").exists():
            return
        result = subprocess.run(
            [java, *self._jvm_flags(libs, heap="256m"), "kafka.tools.StorageTool", "format",
             "-t", _cluster_id(), "-c", str(self.properties), "--standalone"],
            capture_output=True, text=True,
        )
        if result.returncode != 0:
            raise StackError(f"formatting Kafka storage in {self.data} failed:\n{result.stdout}{result.stderr}")

    def _jvm_flags(self, libs: Path, heap: str) -> list[str]:
        return [
            f"-Xms{heap}", f"-Xmx{heap}", "-server", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
            f"-Dkafka.logs.dir={self.cfg.logs / 'kafka-server'}",
            "-cp", f"{libs}/*",
        ]

    # --- lifecycle --------------------------------------------------------------------------

    def running(self) -> bool:
        return self.process.pid() is not None

    def check_ports(self) -> None:
        if self.running():
            return
        for port in (self.cfg.kafka_port, self.cfg.kafka_controller_port):
            if not port_free(port):
                raise StackError(
                    f"port {port} is taken by another process, so Kafka cannot listen on it. "
                    "Stop that process or choose other ports with ALUMNI_KAFKA_PORT and "
                    "ALUMNI_KAFKA_CONTROLLER_PORT."
                )

    def start(self) -> bool:
        """Start the broker unless it runs already; True if it was started now."""
        if self.running():
            return False
        java = shutil.which("java")
        if java is None:
            raise StackError(f"no JDK found: Kafka needs Java {MIN_JAVA}+ (Debian: `apt-get install openjdk-17-jre-headless`).")
        if (major := _java_major(java)) < MIN_JAVA:
            raise StackError(f"Kafka needs Java {MIN_JAVA} or newer; `java` here is Java {major}.")
        self.check_ports()
        libs = self.ensure_jars()
        self.write_properties()
        self.format_storage(java, libs)
        self.process.argv = [java, *self._jvm_flags(libs, self.cfg.kafka_heap), "kafka.Kafka", str(self.properties)]
        self.process.start()
        return True

    async def wait_ready(self, timeout: float = 90.0) -> None:
        """Poll with an admin client until the broker answers metadata requests."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if not self.running():
                raise StackError(f"Kafka exited during start-up. Last lines of {self.process.log}:\n{self.process.log_tail()}")
            admin = AIOKafkaAdminClient(bootstrap_servers=self.cfg.bootstrap_servers, request_timeout_ms=3000)
            try:
                await admin.start()
                await admin.describe_cluster()
                return
            except Exception:
                if loop.time() > deadline:
                    raise StackError(
                        f"Kafka did not answer within {timeout:.0f}s. Last lines of {self.process.log}:\n"
                        f"{self.process.log_tail()}"
                    ) from None
                await asyncio.sleep(0.5)
            finally:
                await admin.close()

    def stop(self) -> bool:
        # A controlled shutdown moves leadership and flushes logs; give it time.
        return self.process.stop(timeout=60)



async def ensure_topics(bootstrap_servers: str, wanted: dict[str, int]) -> list[str]:
    """Create missing topics and grow ones that have fewer partitions, on any broker; returns
    what changed."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        return await _ensure_topics(admin, wanted)
    finally:
        await admin.close()


async def _ensure_topics(admin: AIOKafkaAdminClient, wanted: dict[str, int]) -> list[str]:
    present = set(await admin.list_topics())
    described = await admin.describe_topics([n for n in wanted if n in present]) if present else []
    existing = {t["topic"]: len(t["partitions"]) for t in described if t["error_code"] == 0}
    changes: list[str] = []
    missing = [NewTopic(name, n, replication_factor=1) for name, n in wanted.items() if name not in existing]
    if missing:
        response = (await admin.create_topics(missing)).to_object()
        failed = [t for t in response.get("topic_errors", response.get("topics", []))
                  if t["error_code"] not in (0, TOPIC_ALREADY_EXISTS)]
        if failed:
            raise StackError(f"Kafka refused to create topics: {failed}")
        changes += [f"created {t.name} ({t.num_partitions} partitions)" for t in missing]
    grow = {name: NewPartitions(n) for name, n in wanted.items() if name in existing and existing[name] < n}
    if grow:
        await admin.create_partitions(grow)
        changes += [f"grew {name} to {p.total_count} partitions" for name, p in grow.items()]
    return changes
