"""Kafka security settings: checked together at start-up with a sentence naming what is wrong,
and handed to aiokafka's clients in their own terms; any setting can come from a file."""

import ssl
from pathlib import Path

import pytest
from pydantic_settings import SettingsError

from shared.messaging.kafka_security import KafkaSecurity, KafkaSecurityError
from shared.settings import ServiceSettings


@pytest.mark.parametrize(
    ("security", "complaint"),
    [
        (KafkaSecurity("SASL_SSL", username="u", password="p"), "needs KAFKA_SASL_MECHANISM"),
        (KafkaSecurity("SASL_SSL", "SCRAM-SHA-512", username="u"), "needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"),
        (KafkaSecurity("SSL", "PLAIN", "u", "p"), "does not use SASL"),
        (KafkaSecurity("SASL_PLAINTEXT", "PLAIN", "u", "p", ca_location="/ca.pem"), "does not use TLS"),
        (KafkaSecurity("SSL", certificate_location="/client.pem"), "go together"),
    ],
)
def test_settings_that_do_not_fit_together_are_refused_with_a_sentence(security: KafkaSecurity, complaint: str) -> None:
    with pytest.raises(KafkaSecurityError, match=complaint):
        security.check()


def test_sasl_over_tls_becomes_aiokafka_options_with_a_verifying_context() -> None:
    options = KafkaSecurity("SASL_SSL", "SCRAM-SHA-512", "alumni", "secret").for_aiokafka()
    context = options.pop("ssl_context")
    assert options == {"security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512", "sasl_plain_username": "alumni", "sasl_plain_password": "secret"}
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


def test_plaintext_asks_for_nothing() -> None:
    assert KafkaSecurity().for_aiokafka() == {"security_protocol": "PLAINTEXT"}


def test_an_unreadable_ca_file_is_a_sentence_not_a_trace(tmp_path: Path) -> None:
    with pytest.raises(KafkaSecurityError, match="cannot be used"):
        KafkaSecurity("SSL", ca_location=str(tmp_path / "missing.pem")).ssl_context()


def test_a_setting_comes_from_its_file_or_a_mounted_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "password").write_text("from-a-file\n")
    mounted = tmp_path / "mounted"
    mounted.mkdir()
    (mounted / "AUTH_JWT_SECRET").write_text("a-secret-mounted-by-the-orchestrator-0123\n")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD_FILE", str(tmp_path / "password"))
    monkeypatch.setenv("ALUMNI_SECRETS_DIR", str(mounted))
    settings = ServiceSettings()
    assert settings.kafka_sasl_password == "from-a-file"
    assert settings.auth_jwt_secret == "a-secret-mounted-by-the-orchestrator-0123"


def test_a_value_given_twice_or_a_missing_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_SASL_PASSWORD_FILE", str(tmp_path / "missing"))
    with pytest.raises(SettingsError, match="cannot be read"):
        ServiceSettings()
    (tmp_path / "missing").write_text("x")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "y")
    with pytest.raises(SettingsError, match="both set"):
        ServiceSettings()
