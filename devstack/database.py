"""The local MongoDB-compatible server: SecantusDB, a development dependency (GPL-2.0-only),
run as its own process and reached only over the MongoDB wire protocol."""

import asyncio
import sys
from pathlib import Path

from pymongo import AsyncMongoClient

from devstack.config import StackConfig
from devstack.errors import StackError
from devstack.process import ManagedProcess, port_free

# The server's TTL monitor reads every document of each TTL-indexed collection once a minute,
# holding the lock every command takes: about 40 us a document on an idle machine
# (docs/secantusdb-ttl-monitor.md). Past this many such documents, a pass stalls for seconds.
TTL_STALL_DOCUMENTS = 100_000
TTL_SECONDS_PER_DOCUMENT = 40e-6


def ttl_stall_warning(documents: int) -> str | None:
    """What to tell whoever starts a database holding `documents` in TTL-indexed collections."""
    if documents <= TTL_STALL_DOCUMENTS:
        return None
    return (
        f"database: {documents:,} documents in TTL-indexed collections; the server stalls every command for about "
        f"{documents * TTL_SECONDS_PER_DOCUMENT:.0f} s once a minute while it looks for expired ones "
        "(docs/secantusdb-ttl-monitor.md). To start afresh: ./alumni down, then remove .stack/mongo."
    )


class DatabaseNode:
    def __init__(self, cfg: StackConfig) -> None:
        self.cfg = cfg
        self.data = cfg.home / "mongo" / "data"
        self.process = ManagedProcess(
            name="mongo",
            argv=[
                str(Path(sys.executable).parent / "secantusd-py"),
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
        server = Path(self.process.argv[0])
        if not server.exists():
            raise StackError(
                f"{server} is missing: SecantusDB is installed from requirements-dev.lock; "
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

    async def documents_under_ttl(self) -> int:
        """Documents in collections that have a TTL index, in every database of the server."""
        client = AsyncMongoClient(self.cfg.mongodb_uri, serverSelectionTimeoutMS=2000)
        total = 0
        try:
            for name in await client.list_database_names():
                if name in ("admin", "config", "local"):
                    continue
                db = client[name]
                for collection in await db.list_collection_names():
                    if any(["expireAfterSeconds" in ix async for ix in await db[collection].list_indexes()]):
                        total += await db[collection].estimated_document_count()
        finally:
            await client.close()
        return total

    def stop(self) -> bool:
        return self.process.stop(timeout=30)
