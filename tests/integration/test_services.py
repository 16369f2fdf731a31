"""Every service is a real process: it starts, reports ready against the real stack, reports
not ready when a dependency is down, and stops cleanly on SIGTERM."""

import asyncio
import os
import signal
import subprocess
import sys

import httpx

from devstack.stack import LocalStack
from services import DEFAULT_HTTP_PORTS


async def _ready(http: httpx.AsyncClient, url: str) -> httpx.Response:
    return await http.get(f"{url}/health/ready")


async def _eventually(check, timeout: float = 20.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        if result := await check():
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.2)


async def test_services_start_report_ready_and_stop_on_sigterm(stack: LocalStack) -> None:
    assert set(stack.services) == set(DEFAULT_HTTP_PORTS)
    await stack.up_services()

    async with httpx.AsyncClient(timeout=5) as http:
        for service in stack.services.values():
            live = await http.get(f"{service.url}/health/live")
            ready = await _ready(http, service.url)
            assert live.status_code == 200, service.name
            assert ready.status_code == 200, service.name
            assert ready.json() == {"status": "ready", "checks": {"kafka": "ok", "mongodb": "ok"}}

        # Readiness follows the database: down, then back.
        identity = stack.services["identity"]
        stack.database.stop()
        try:
            down = await _eventually(lambda: _not_ready(http, identity.url))
            assert down.json()["checks"]["mongodb"] != "ok"
            assert down.json()["checks"]["kafka"] == "ok"
        finally:
            stack.database.start()
            await stack.database.wait_ready()
        await _eventually(lambda: _is_ready(http, identity.url))

    for service in stack.services.values():
        service.process.stop(timeout=20, sig=signal.SIGTERM)
        # uvicorn finishes its graceful shutdown, then re-raises SIGTERM so that the exit status
        # says why it stopped (143, as the JVM does). SIGKILL (-9) would mean it hung.
        assert service.process.exit_code == -signal.SIGTERM, f"{service.name} exited with {service.process.exit_code}"
        this_run = service.process.log.read_text().rsplit(f"--- {service.process.name} starting", 1)[-1]
        assert '"message": "service stopped"' in this_run, service.name
        # aiokafka reports a broker still creating its offsets topic at ERROR, and retries.
        errors = [line for line in this_run.splitlines() if '"level": "ERROR"' in line and '"logger": "aiokafka' not in line]
        assert errors == [], service.name


async def _not_ready(http: httpx.AsyncClient, url: str) -> httpx.Response | None:
    response = await _ready(http, url)
    return response if response.status_code == 503 else None


async def _is_ready(http: httpx.AsyncClient, url: str) -> bool:
    return (await _ready(http, url)).status_code == 200


async def test_a_service_refuses_to_start_with_a_development_secret_outside_development_mode(stack: LocalStack) -> None:
    env = {
        **os.environ, "ALUMNI_DEVELOPMENT_MODE": "false", "KAFKA_BOOTSTRAP_SERVERS": stack.cfg.bootstrap_servers,
        "MONGODB_URI": stack.cfg.mongodb_uri, "HTTP_PORT": "0",
    }
    env.pop("AUTH_JWT_SECRET", None)
    env["ERASURE_HASH_KEY"] = "an-erasure-hash-key-of-forty-characters!"
    env["EMAIL_CONFIRMATION_LINK_SECRET"] = "an-email-confirmation-secret-of-40-chars"
    refused = subprocess.run([sys.executable, "-m", "services.identity"], env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0
    last_line = refused.stderr.strip().splitlines()[-1]
    assert last_line.startswith("refusing to start: AUTH_JWT_SECRET is a development default")
    assert "Traceback" not in refused.stderr

    env["AUTH_JWT_SECRET"] = "short"
    refused = subprocess.run([sys.executable, "-m", "services.identity"], env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "shorter than 32 characters" in refused.stderr
