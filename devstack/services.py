"""The five services as separate processes, each `python -m services.<name>` under uvicorn."""

import asyncio
import json
import os
import sys

import httpx

from devstack.config import ROOT, StackConfig
from devstack.errors import StackError
from devstack.process import ManagedProcess, port_free


def local_chat_channels(port: int) -> dict:
    base = f"http://127.0.0.1:{port}"
    return {
        "hr": {"format": "slack", "url": f"{base}/slack/hr", "per_second": 20},
        "recruiting": {"format": "teams", "url": f"{base}/teams/recruiting", "recipient_kind": "recruiter", "per_second": 20},
        "community": {"format": "discord", "url": f"{base}/discord/community", "recipient_kind": "community_channel", "per_second": 20},
    }


LOCAL_HRIS_SOURCES = '{"local": {"kind": "generic", "secret": "local-webhook-secret"}}'
LOCAL_ATS_SOURCES = '{"local": {"kind": "generic", "secret": "local-ats-webhook-secret"}}'


class ServiceProcess:
    def __init__(self, cfg: StackConfig, name: str, port: int, extra_env: dict[str, str] | None = None, instance: str = "",
                 nice: int = 0) -> None:
        """`instance`: a second process of the same service (same groups, same database) is
        told apart by it. `nice`: its CPU priority below the others'."""
        self.name = name
        self.instance = instance
        self.port = port
        env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": cfg.bootstrap_servers,
            "MONGODB_URI": cfg.mongodb_uri,
            "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": str(port),
            "OTEL_SERVICE_NAME": f"alumni-{name}",
            "PYTHONUNBUFFERED": "1",
            "EXIT_FORM_BASE_URL": f"http://127.0.0.1:{cfg.service_ports()['offboarding']}",
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{cfg.service_ports()['notifications']}",
            "EMAIL_CONFIRMATION_BASE_URL": f"http://127.0.0.1:{cfg.service_ports()['identity']}",
            "ENGAGEMENT_BASE_URL": f"http://127.0.0.1:{cfg.service_ports()['engagement']}",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(cfg.smtp_port),
            **(extra_env or {}),
        }
        # A webhook source to try the intake with, and chat channels posting to the local sink.
        env.setdefault("HRIS_SOURCES", LOCAL_HRIS_SOURCES)
        env.setdefault("ATS_SOURCES", LOCAL_ATS_SOURCES)
        # One machine, its development secrets: a service accepts them only when told so.
        env.setdefault("ALUMNI_DEVELOPMENT_MODE", "true")
        env.setdefault("CHAT_CHANNELS", json.dumps(local_chat_channels(cfg.sink_http_port)))
        # Identity's export asks the services that serve /personal-data, on this stack's ports.
        ports = cfg.service_ports()
        env.setdefault("PERSONAL_DATA_PEERS", json.dumps({n: f"http://127.0.0.1:{ports[n]}" for n in ("offboarding", "notifications", "referrals", "engagement")}))
        self.process = ManagedProcess(
            name=f"service-{name}-{instance}" if instance else f"service-{name}",
            argv=[sys.executable, "-m", f"services.{name}", "--stack-home", str(cfg.home)],
            marker=str(cfg.home),
            run_dir=cfg.run,
            log_dir=cfg.logs,
            env=env,
            cwd=ROOT,
            nice=nice,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def running(self) -> bool:
        return self.process.pid() is not None

    def start(self) -> bool:
        if self.running():
            return False
        if not port_free(self.port):
            raise StackError(
                f"port {self.port} for the {self.name} service is taken by another process. "
                "Stop it or move the services with ALUMNI_HTTP_PORT_BASE."
            )
        self.process.start()
        return True

    async def wait_ready(self, timeout: float = 60.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with httpx.AsyncClient(timeout=2.0) as http:
            while True:
                if not self.running():
                    raise StackError(f"the {self.name} service exited during start-up. Last lines of {self.process.log}:\n{self.process.log_tail()}")
                try:
                    if (await http.get(f"{self.url}/health/ready")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if loop.time() > deadline:
                    raise StackError(f"the {self.name} service was not ready within {timeout:.0f}s; see {self.process.log}")
                await asyncio.sleep(0.3)

    def stop(self) -> bool:
        return self.process.stop(timeout=30)


class SinksProcess:
    """The local mail and chat sinks (devstack/sinks.py)."""

    def __init__(self, cfg: StackConfig) -> None:
        self.cfg = cfg
        self.process = ManagedProcess(
            name="sinks",
            argv=[sys.executable, "-m", "devstack.sinks", "--dir", str(cfg.sinks), "--smtp-port", str(cfg.smtp_port), "--http-port", str(cfg.sink_http_port)],
            marker=str(cfg.sinks),
            run_dir=cfg.run,
            log_dir=cfg.logs,
            cwd=ROOT,
        )

    def running(self) -> bool:
        return self.process.pid() is not None

    def start(self) -> bool:
        if self.running():
            return False
        for port in (self.cfg.smtp_port, self.cfg.sink_http_port):
            if not port_free(port):
                raise StackError(f"port {port} for the local mail and chat sinks is taken; choose others with ALUMNI_SMTP_PORT and ALUMNI_SINK_HTTP_PORT")
        self.process.start()
        return True

    def stop(self) -> bool:
        return self.process.stop(timeout=10)
