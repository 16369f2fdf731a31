"""How the platform reaches a Kafka that asks for TLS and SASL: the settings (named as librdkafka
names them: `KAFKA_SECURITY_PROTOCOL`, `KAFKA_SASL_MECHANISM`, `KAFKA_SASL_USERNAME`,
`KAFKA_SASL_PASSWORD`, `KAFKA_SSL_CA_LOCATION`, `KAFKA_SSL_CERTIFICATE_LOCATION`,
`KAFKA_SSL_KEY_LOCATION`) checked once, then handed to `KafkaBus` (the services) or to aiokafka's
clients (the operator tools)."""

import ssl
from dataclasses import dataclass
from typing import Any

from aiokafka.helpers import create_ssl_context

SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


class KafkaSecurityError(ValueError):
    """The Kafka security settings do not make sense together; the message says which."""


@dataclass(frozen=True)
class KafkaSecurity:
    protocol: str = "PLAINTEXT"
    mechanism: str = ""
    username: str = ""
    password: str = ""
    ca_location: str = ""
    certificate_location: str = ""
    key_location: str = ""

    @classmethod
    def from_settings(cls, settings: Any) -> "KafkaSecurity":
        security = cls(
            settings.kafka_security_protocol, settings.kafka_sasl_mechanism, settings.kafka_sasl_username,
            settings.kafka_sasl_password, settings.kafka_ssl_ca_location, settings.kafka_ssl_certificate_location,
            settings.kafka_ssl_key_location,
        )
        security.check()
        return security

    @property
    def tls(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    @property
    def sasl(self) -> bool:
        return self.protocol.startswith("SASL_")

    def check(self) -> None:
        if self.sasl and self.mechanism not in SASL_MECHANISMS:
            raise KafkaSecurityError(f"KAFKA_SECURITY_PROTOCOL={self.protocol} needs KAFKA_SASL_MECHANISM: one of {', '.join(SASL_MECHANISMS)}")
        if self.sasl and not (self.username and self.password):
            raise KafkaSecurityError(f"KAFKA_SECURITY_PROTOCOL={self.protocol} needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD")
        if not self.sasl and (self.mechanism or self.username):
            raise KafkaSecurityError(f"SASL settings are set but KAFKA_SECURITY_PROTOCOL={self.protocol} does not use SASL")
        if not self.tls and (self.ca_location or self.certificate_location or self.key_location):
            raise KafkaSecurityError(f"TLS files are set but KAFKA_SECURITY_PROTOCOL={self.protocol} does not use TLS")
        if bool(self.certificate_location) != bool(self.key_location):
            raise KafkaSecurityError("KAFKA_SSL_CERTIFICATE_LOCATION and KAFKA_SSL_KEY_LOCATION go together (client authentication)")

    def ssl_context(self) -> ssl.SSLContext | None:
        """Hostname and certificate verified, always; the system's CAs unless one is named."""
        if not self.tls:
            return None
        try:
            return create_ssl_context(
                cafile=self.ca_location or None, certfile=self.certificate_location or None, keyfile=self.key_location or None
            )
        except (OSError, ssl.SSLError) as exc:
            raise KafkaSecurityError(f"the Kafka TLS files cannot be used ({type(exc).__name__}: {exc.strerror or exc})") from None

    def for_aiokafka(self) -> dict[str, Any]:
        """Keyword arguments for aiokafka's clients (producer, consumer, admin)."""
        options: dict[str, Any] = {"security_protocol": self.protocol}
        if self.tls:
            options["ssl_context"] = self.ssl_context()
        if self.sasl:
            options |= {"sasl_mechanism": self.mechanism, "sasl_plain_username": self.username, "sasl_plain_password": self.password}
        return options
