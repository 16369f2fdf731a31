"""The local MongoDB-compatible server: SecantusDB, a development dependency (GPL-2.0-only),
run as its own process and reached only over the MongoDB wire protocol."""

import asyncio
import importlib.util
import sys

from pymongo import AsyncMongoClient

from devstack.config import StackConfig
from devstack.errors import StackError
from devstack.process import ManagedProcess, port_free

class DatabaseNode:
    def __init__(self, cfg: StackConfig) -> None:
        self.cfg = cfg
        self.data = cfg.home / "mongo" / "data"
        self.process = ManagedProcess(
            name="mongo",
            argv=[
                sys.executable, "-m", "devstack.secantusd",  # the server, its expiry done by index (devstack/secantusd.py)
                "--host", "127.0.0.1",
                "--port", str(cfg.mongo_port),
                "--storage-path", str(self.data),
                "--log-level", "WARNING",
            ],
            marker=str(self.data),
            run_dir=cfg.run,
            log_dir=cfg.logs,
        )

    def running(self) -> bool:
        return self.process.pid() is not None

    def check_ports(self) -> None:
        if not self.running() and not port_free(self.cfg.mongo_port):
            raise StackError(
                f"port {self.cfg.mongo_port} is taken by another process, so the database cannot "
                "listen on it. Stop that process or choose another port with ALUMNI_MONGO_PORT."
            )

    def start(self) -> bool:
        if self.running():
            return False
        if importlib.util.find_spec("secantus") is None:
            raise StackError(
                "SecantusDB is missing: it is installed from requirements-dev.lock; "
                "run the command through ./alumni, which installs it."
            )
        self.check_ports()
        self.data.mkdir(parents=True, exist_ok=True)
        self.process.start()
        return True

    async def wait_ready(self, timeout: float = 60.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if not self.running():
                raise StackError(f"the database exited during start-up. Last lines of {self.process.log}:\n{self.process.log_tail()}")
            client = AsyncMongoClient(self.cfg.mongodb_uri, serverSelectionTimeoutMS=1000)
            try:
                await client.admin.command("ping")
                return
            except Exception:
                if loop.time() > deadline:
                    raise StackError(
                        f"the database did not answer within {timeout:.0f}s. Last lines of "
                        f"{self.process.log}:\n{self.process.log_tail()}"
                    ) from None
                await asyncio.sleep(0.3)
            finally:
                await client.close()

    def stop(self) -> bool:
        return self.process.stop(timeout=30)
