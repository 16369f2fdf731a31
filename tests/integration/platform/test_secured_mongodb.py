"""A service reaches a MongoDB that asks for TLS and credentials: the real server (SecantusDB)
started with a certificate the test makes and SCRAM authentication, the password read from a
file as a mounted secret; a wrong password or no TLS never gets ready."""

import asyncio
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pymongo import AsyncMongoClient

from devstack.process import ManagedProcess, free_port
from devstack.stack import LocalStack
from tests.integration.kafka_io import read_all
from tests.integration.platform.conftest import new_deployment
from tests.integration.platform.secure_kafka import make_certificates

USER, PASSWORD = "alumni-service", "mongodb-password-for-the-test"


@dataclass
class SecureMongo:
    port: int
    ca: Path

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true"


def _server(home: Path, port: int, *flags: str) -> ManagedProcess:
    data = home / "data"
    data.mkdir(parents=True, exist_ok=True)
    server = str(Path(sys.executable).parent / "secantusd-py")
    argv = [server, "--host", "127.0.0.1", "--port", str(port), "--storage-path", str(data), "--log-level", "WARNING", *flags]
    return ManagedProcess(name=f"secure-mongo-{port}", argv=argv, marker=str(data), run_dir=home / "run", log_dir=home / "logs")


async def _answers(uri: str, **options) -> bool:
    client = AsyncMongoClient(uri, serverSelectionTimeoutMS=1000, **options)
    try:
        await client.admin.command("ping")
        return True
    except Exception:
        return False
    finally:
        await client.close()


async def _until(check, timeout: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "the secured database did not answer"
        await asyncio.sleep(0.3)


@pytest.fixture(scope="module")
async def secure_mongo(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[SecureMongo]:
    home = tmp_path_factory.mktemp("secure-mongo")
    ca, _ = make_certificates(home / "certs")
    mongo = SecureMongo(free_port(), ca)
    # Users are created on a server without authentication, which then restarts with it.
    plain = _server(home, mongo.port)
    plain.start()
    await _until(lambda: _answers(mongo.uri))
    client = AsyncMongoClient(mongo.uri)
    await client.admin.command("createUser", USER, pwd=PASSWORD, roles=["root"])
    await client.close()
    plain.stop()
    secured = _server(home, mongo.port, "--auth", "--tls-cert-file", str(home / "certs" / "cert.pem"), "--tls-key-file", str(home / "certs" / "key.pem"))
    secured.start()
    await _until(lambda: _answers(mongo.uri, tls=True, tlsCAFile=str(ca), username=USER, password=PASSWORD))
    yield mongo
    secured.stop()


async def test_a_service_works_against_a_database_with_tls_and_credentials(secure_mongo: SecureMongo, stack: LocalStack, otlp, tmp_path: Path) -> None:
    password_file = tmp_path / "mongodb-password"
    password_file.write_text(PASSWORD + "\n")
    env = {"MONGODB_URI": secure_mongo.uri, "MONGODB_USERNAME": USER, "MONGODB_PASSWORD_FILE": str(password_file), "MONGODB_TLS_CA_FILE": str(secure_mongo.ca)}
    deployment = await new_deployment(stack, otlp)
    try:
        app = await deployment.start(env=env)
        async with httpx.AsyncClient(timeout=10) as http:
            answers = [await http.post(f"{app.url}/orders", json={"order_id": f"tls-{i}"}) for i in range(3)]
        assert [a.status_code for a in answers] == [202] * 3
        shipped = await read_all(stack.cfg.bootstrap_servers, deployment.shipments, expect=3, timeout=60)
        assert sorted(r.json()["order_id"] for r in shipped) == ["tls-0", "tls-1", "tls-2"]
        # The effects are in the secured database, written in its transactions.
        client = AsyncMongoClient(secure_mongo.uri, tls=True, tlsCAFile=str(secure_mongo.ca), username=USER, password=PASSWORD)
        try:
            assert await client[deployment.database].shipments.count_documents({}) == 3
        finally:
            await client.close()
    finally:
        deployment.stop_all()


async def test_a_wrong_password_or_no_tls_never_gets_ready(secure_mongo: SecureMongo, stack: LocalStack, otlp) -> None:
    deployment = await new_deployment(stack, otlp)
    wrong = {"MONGODB_URI": secure_mongo.uri, "MONGODB_USERNAME": USER, "MONGODB_PASSWORD": "not-the-password", "MONGODB_TLS_CA_FILE": str(secure_mongo.ca)}
    no_tls = {"MONGODB_URI": secure_mongo.uri, "MONGODB_USERNAME": USER, "MONGODB_PASSWORD": PASSWORD}
    try:
        await deployment.never_ready([wrong, no_tls], because="MongoDB unreachable at start-up")
    finally:
        deployment.stop_all()
