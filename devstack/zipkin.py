"""The local trace store with a web UI: Zipkin's server, the executable jar Maven Central ships
(`io.zipkin:zipkin-server`, classifier `exec`), run with the machine's JDK, in memory, listening
on 127.0.0.1 only. The services send it their spans (OpenTelemetry's Zipkin exporter)."""

import asyncio
import shutil
import subprocess
from pathlib import Path

import httpx

from devstack.config import StackConfig
from devstack.errors import StackError
from devstack.process import ManagedProcess, port_free

VERSION = "3.5.1"
ARTIFACT = f"io.zipkin:zipkin-server:{VERSION}:jar:exec"
HEAP = "512m"
# Zipkin keeps spans in memory (500,000 by default, more than its heap holds: a fault test's
# spans made it run out of memory); the oldest go first past this many.
MAX_SPANS = 30_000


class ZipkinNode:
    def __init__(self, cfg: StackConfig) -> None:
        self.cfg = cfg
        self.process = ManagedProcess(
            name="zipkin", argv=[], marker=f"--armeria.ports[0].port={cfg.zipkin_port}", run_dir=cfg.run, log_dir=cfg.logs
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.cfg.zipkin_port}"

    @property
    def spans_endpoint(self) -> str:
        return f"{self.url}/api/v2/spans"

    @property
    def jar(self) -> Path:
        return self.cfg.cache / f"zipkin-server-{VERSION}-exec.jar"

    def ensure_jar(self) -> Path:
        """Fetch the server's jar from Maven Central once (131 MB); later calls reuse the cache."""
        if self.jar.exists():
            return self.jar
        mvn = shutil.which("mvn")
        if mvn is None:
            raise StackError("Maven (mvn) is not installed: it fetches Zipkin's server from Maven Central once (Debian: `apt-get install maven`).")
        print(f"fetching Zipkin {VERSION} from Maven Central into {self.cfg.cache} ...", flush=True)
        result = subprocess.run(
            [mvn, "-q", "-B", "dependency:copy", f"-Dartifact={ARTIFACT}", f"-DoutputDirectory={self.cfg.cache}", "-Dmdep.stripVersion=false"],
            capture_output=True, text=True,
        )
        if result.returncode != 0 or not self.jar.exists():
            tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
            raise StackError(f"Maven could not fetch Zipkin's server (is Maven Central reachable?).\nArtifact: {ARTIFACT}\n{tail}")
        return self.jar

    def running(self) -> bool:
        return self.process.pid() is not None

    def start(self) -> bool:
        if self.running():
            return False
        java = shutil.which("java")
        if java is None:
            raise StackError("no JDK found: the trace store (Zipkin) needs Java 17+ (Debian: `apt-get install openjdk-17-jre-headless`).")
        if not port_free(self.cfg.zipkin_port):
            raise StackError(f"port {self.cfg.zipkin_port} for the trace store is taken; choose another with ALUMNI_ZIPKIN_PORT.")
        jar = self.ensure_jar()
        self.process.argv = [
            java, f"-Xms{HEAP}", f"-Xmx{HEAP}", "-XX:+UseSerialGC", "-jar", str(jar),
            f"--armeria.ports[0].port={self.cfg.zipkin_port}", "--armeria.ports[0].ip=127.0.0.1", "--armeria.ports[0].protocols[0]=http",
            f"--zipkin.storage.mem.max-spans={MAX_SPANS}", "--logging.level.root=WARN",
        ]
        self.process.start()
        return True

    async def wait_ready(self, timeout: float = 120.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with httpx.AsyncClient(timeout=2.0) as http:
            while True:
                if not self.running():
                    raise StackError(f"Zipkin exited during start-up. Last lines of {self.process.log}:\n{self.process.log_tail()}")
                try:
                    if (await http.get(f"{self.url}/health")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if loop.time() > deadline:
                    raise StackError(f"Zipkin did not answer within {timeout:.0f}s; see {self.process.log}")
                await asyncio.sleep(0.5)

    def stop(self) -> bool:
        return self.process.stop(timeout=20)

    def service_env(self) -> dict[str, str]:
        """What points a service's spans here (and keeps a collector the operator configured)."""
        return {"OTEL_TRACES_EXPORTER": "otlp,zipkin", "OTEL_EXPORTER_ZIPKIN_ENDPOINT": self.spans_endpoint}
