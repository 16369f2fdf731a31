"""The whole system as its users run it: the five services as separate processes, started by the
launcher as `./alumni up` starts them, sending to a real SMTP server, a real chat receiver, a
real OTLP trace receiver on loopback and the local trace store (Zipkin) as `./alumni up` runs it."""

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from devstack.stack import LocalStack
from devstack.zipkin import ZipkinNode
from tests.integration.chat_receiver import ChatReceiver
from tests.integration.mailbox import Mailbox
from tests.integration.otlp_receiver import OtlpReceiver

WEBHOOK_SECRET = "system-test-webhook-secret"
HR = "/slack/hr"
RECRUITING = "/teams/recruiting"


@dataclass
class System:
    stack: LocalStack
    mailbox: Mailbox
    chat: ChatReceiver
    traces: OtlpReceiver
    zipkin: ZipkinNode


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/tests/integration/system/" in str(item.path):
            item.add_marker(pytest.mark.system)


@pytest.fixture(scope="package")
async def system(stack: LocalStack) -> AsyncIterator[System]:
    mailbox, chat, traces = Mailbox().start(), ChatReceiver().start(), OtlpReceiver().start()
    zipkin = ZipkinNode(stack.cfg)
    zipkin.start()
    env = zipkin.service_env() | {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(mailbox.port),
        "CHAT_CHANNELS": json.dumps({"hr": {"format": "slack", "url": chat.url(HR), "per_second": 50},
                                    "recruiting": {"format": "teams", "url": chat.url(RECRUITING), "per_second": 50, "recipient_kind": "recruiter"}}),
        "HRIS_SOURCES": json.dumps({"acme": {"kind": "generic", "secret": WEBHOOK_SECRET}}),
        "OTEL_EXPORTER_OTLP_ENDPOINT": traces.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "200",
        "OTEL_METRICS_EXPORTER": "none",
        "RETRY_BASE_DELAY_SECONDS": "0.3",
        "RETRY_ATTEMPTS": "8",
    }
    services = LocalStack(stack.cfg, service_env=env)
    await zipkin.wait_ready()
    await services.up_services(log=lambda line: None)
    yield System(services, mailbox, chat, traces, zipkin)
    zipkin.stop()
    for service in services.services.values():
        service.stop()
    mailbox.stop()
    chat.stop()
    traces.stop()
