"""A service reaches a Kafka that asks for TLS and SASL (SCRAM-SHA-512 and PLAIN): the real
broker with a SASL_SSL listener and a certificate the test makes, and the platform's own test
service consuming and producing through it; a wrong password or no TLS gets nowhere."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from devstack.process import free_port
from devstack.stack import LocalStack
from tests.integration.kafka_io import read_all
from tests.integration.otlp_receiver import OtlpReceiver
from tests.integration.platform.conftest import OrdersDeployment, new_deployment
from tests.integration.platform.secure_kafka import SecureKafka, Users, make_certificates


@pytest.fixture(scope="module")
async def secure_kafka(stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[SecureKafka]:
    home = tmp_path_factory.mktemp("secure-kafka")
    ca, keystore = make_certificates(home / "certs")
    cfg = replace(stack.cfg, home=home, kafka_port=free_port(), kafka_controller_port=free_port())
    node = SecureKafka(cfg, free_port(), keystore, ca, Users())
    node.start()
    try:
        await node.wait_ready()
        yield node
    finally:
        node.stop()


async def _deployment(secure_kafka: SecureKafka, stack: LocalStack, otlp: OtlpReceiver) -> OrdersDeployment:
    # The test's own admin speaks to the plain listener; the service only to the secured one.
    return await new_deployment(LocalStack(replace(stack.cfg, kafka_port=secure_kafka.cfg.kafka_port)), otlp)


def _secured(secure_kafka: SecureKafka, mechanism: str, user: tuple[str, str]) -> dict[str, str]:
    return {
        "KAFKA_BOOTSTRAP_SERVERS": secure_kafka.secure_bootstrap,
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_MECHANISM": mechanism,
        "KAFKA_SASL_USERNAME": user[0],
        "KAFKA_SASL_PASSWORD": user[1],
        "KAFKA_SSL_CA_LOCATION": str(secure_kafka.ca),
    }


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-512", "PLAIN"])
async def test_a_service_consumes_and_produces_through_sasl_over_tls(
    secure_kafka: SecureKafka, stack: LocalStack, otlp: OtlpReceiver, tmp_path: Path, mechanism: str
) -> None:
    users = Users()
    user = users.scram if mechanism == "SCRAM-SHA-512" else users.plain
    password_file = tmp_path / "kafka-password"  # as a Kubernetes secret mounted as a file
    password_file.write_text(user[1] + "\n")
    env = _secured(secure_kafka, mechanism, user)
    env.pop("KAFKA_SASL_PASSWORD")
    env["KAFKA_SASL_PASSWORD_FILE"] = str(password_file)
    deployment = await _deployment(secure_kafka, stack, otlp)
    try:
        app = await deployment.start(env=env)
        async with httpx.AsyncClient(timeout=10) as http:
            answers = [await http.post(f"{app.url}/orders", json={"order_id": f"secure-{i}"}) for i in range(5)]
        assert [a.status_code for a in answers] == [202] * 5
        # Published through the outbox over SASL_SSL, consumed over SASL_SSL, announced again.
        shipped = await read_all(deployment.stack.cfg.bootstrap_servers, deployment.shipments, expect=5, timeout=60)
        assert sorted(r.json()["order_id"] for r in shipped) == [f"secure-{i}" for i in range(5)]
    finally:
        deployment.stop_all()


async def test_a_wrong_password_or_no_tls_never_gets_ready(secure_kafka: SecureKafka, stack: LocalStack, otlp: OtlpReceiver) -> None:
    deployment = await _deployment(secure_kafka, stack, otlp)
    wrong = _secured(secure_kafka, "SCRAM-SHA-512", (Users().scram[0], "not-the-password"))
    no_tls = {"KAFKA_BOOTSTRAP_SERVERS": secure_kafka.secure_bootstrap}
    try:
        await deployment.never_ready([wrong, no_tls], because="Kafka unreachable at start-up")
    finally:
        deployment.stop_all()


async def test_settings_that_do_not_fit_are_refused_at_start(secure_kafka: SecureKafka, stack: LocalStack, otlp: OtlpReceiver) -> None:
    deployment = await _deployment(secure_kafka, stack, otlp)
    try:
        with pytest.raises(AssertionError, match="exited"):
            await deployment.start(env={"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512"})
        [app] = deployment.apps
        await asyncio.wait_for(app.wait_exit(), 30)
        assert "refusing to start: KAFKA_SECURITY_PROTOCOL=SASL_SSL needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD" in app.process.log_tail(40)
    finally:
        deployment.stop_all()
