"""Configuration from environment variables; the same names in every service.

A setting's value can also come from a file, as orchestrators mount secrets: `<NAME>_FILE`
names a file holding the value of `<NAME>` (setting both is refused), and `ALUMNI_SECRETS_DIR`
names a directory whose files are named after the settings (a Kubernetes Secret mounted as a
volume: one file per key, e.g. `AUTH_JWT_SECRET`)."""

import os
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import (
    BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SecretsSettingsSource, SettingsConfigDict, SettingsError,
)

from shared.web.auth import ASYMMETRIC, SYMMETRIC

DEVELOPMENT_JWT_SECRET = "local-development-secret-change-me"
# Secrets shipped in this repository for one machine: never accepted outside development mode.
DEVELOPMENT_EXIT_FORM_LINK_SECRET = "local-development-exit-form-link-secret"
DEVELOPMENT_ERASURE_HASH_KEY = "local-development-erasure-hash-key"
DEVELOPMENT_EMAIL_CONFIRMATION_LINK_SECRET = "local-development-email-confirmation-link-secret"
DEVELOPMENT_RSVP_LINK_SECRET = "local-development-rsvp-link-secret"
DEVELOPMENT_ATS_WEBHOOK_SECRET = "local-ats-webhook-secret"
DEVELOPMENT_SECRETS = frozenset({
    DEVELOPMENT_JWT_SECRET, "local-development-unsubscribe-secret", "local-webhook-secret", DEVELOPMENT_EXIT_FORM_LINK_SECRET,
    DEVELOPMENT_ERASURE_HASH_KEY, DEVELOPMENT_EMAIL_CONFIRMATION_LINK_SECRET, DEVELOPMENT_RSVP_LINK_SECRET, DEVELOPMENT_ATS_WEBHOOK_SECRET,
})
MIN_SECRET_LENGTH = 32


class InsecureConfiguration(SystemExit):
    """A service refuses to start with a default or weak secret outside development mode."""


class FileVariables(EnvSettingsSource):
    """`<NAME>_FILE=/path`: the setting `<NAME>`, read from that file (its last newline dropped)."""

    def _load_env_vars(self) -> dict[str, str | None]:
        found: dict[str, str | None] = {}
        for variable, path in os.environ.items():
            name = variable[: -len("_FILE")]
            if not variable.endswith("_FILE") or name.lower() not in self.settings_cls.model_fields:
                continue
            if name in os.environ:
                raise SettingsError(f"{name} and {variable} are both set: give the value one way")
            try:
                found[name.lower()] = Path(path).read_text().removesuffix("\n")
            except OSError as exc:
                raise SettingsError(f"{variable} names {path}, which cannot be read ({type(exc).__name__})") from None
        return found


class ServiceSettings(BaseSettings):
    """Settings every service reads. A service subclasses it to add its own."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource, env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource, file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        mounted = os.environ.get("ALUMNI_SECRETS_DIR")
        directory = (SecretsSettingsSource(settings_cls, secrets_dir=mounted),) if mounted else ()
        return init_settings, env_settings, FileVariables(settings_cls), *directory

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    # A Kafka that asks for TLS and SASL (Confluent Cloud, MSK, Aiven, Strimzi): the names of
    # librdkafka's settings. Certificates are PEM files; the CA defaults to the system's.
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = ""
    kafka_sasl_username: str = ""
    kafka_sasl_password: str = ""
    kafka_ssl_ca_location: str = ""
    kafka_ssl_certificate_location: str = ""  # with the key: TLS client authentication (mTLS)
    kafka_ssl_key_location: str = ""
    # Credentials and TLS as the URI carries them (`mongodb+srv://user:pass@host/?tls=true`), or
    # beside it: MONGODB_USERNAME / MONGODB_PASSWORD, and MONGODB_TLS_CA_FILE (turns TLS on).
    mongodb_uri: str = "mongodb://127.0.0.1:27017/?directConnection=true"
    mongodb_username: str = ""
    mongodb_password: str = ""
    mongodb_tls_ca_file: str = ""
    # Empty means `alumni_<service>`: each service owns its own database.
    mongodb_database: str = ""
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=0, ge=0, le=65535)
    # Request bodies over this are refused (413) before anything reads them.
    http_max_body_bytes: int = Field(default=65536, ge=1024)
    log_level: str = "INFO"
    # How long Kafka and MongoDB may stay unreachable at start-up before the process gives up.
    startup_timeout_seconds: float = 60.0
    # Bound on graceful shutdown: stop consuming, finish in-flight work, flush, close.
    shutdown_timeout_seconds: float = 10.0

    # Consumers per subscribed topic (a handler may ask for more); each handles its partitions
    # in order, consumers run concurrently.
    consumer_workers: int = Field(default=1, ge=1, le=64)
    handler_timeout_seconds: float = 30.0
    retry_attempts: int = Field(default=5, ge=1)
    retry_base_delay_seconds: float = 0.2
    retry_max_delay_seconds: float = 30.0
    # How long the broker holds a fetch that finds no new record. Longer means fewer idle fetches
    # from the many consumers, but a consumer sends its next fetch only when the one in flight
    # returns: a partition whose buffered records were just handled can wait this long.
    kafka_fetch_max_wait_ms: int = Field(default=500, ge=10, le=30000)
    # A consumer whose fetches come back empty waits twice as long at each, up to this, and
    # KAFKA_FETCH_MAX_WAIT_MS again once records come (shared/messaging/long_poll.py): idle
    # consumers fetch a quarter as often, and the first record after a quiet spell is answered
    # at once. At most KAFKA_FETCH_MAX_WAIT_MS turns it off.
    kafka_fetch_idle_max_wait_ms: int = Field(default=2000, ge=10, le=10000)
    # Handled records' offsets are committed together at this interval (0: one by one). A crash
    # redelivers at most this much, and repeats are dropped.
    consumer_commit_interval_seconds: float = Field(default=0.5, ge=0)
    # Outbox: how often unsent events of crashed processes are looked for, and how long an
    # event belongs to the process that wrote it before another may publish it.
    outbox_sweep_interval_seconds: float = 1.0
    outbox_lease_seconds: float = 5.0
    # Parked events (an event waiting for one it depends on, from another topic): first check
    # after this, doubling up to the maximum, and dead-lettered when still waiting after the max
    # wait. Three days: the usual wait is seconds, but one HRIS path down over a weekend must not
    # turn its cancellations into dead letters; past that, an operator should look.
    parked_event_recheck_seconds: float = Field(default=5.0, gt=0)
    parked_event_recheck_max_seconds: float = Field(default=600.0, gt=0)
    parked_event_max_wait_seconds: float = Field(default=3 * 86400, gt=0)
    parked_event_lease_seconds: float = Field(default=60.0, gt=0)
    # Beyond this many waiting, an event that would wait is dead-lettered at once.
    parked_events_max: int = Field(default=100_000, ge=1)

    # A development machine (`./alumni up`, the tests): the repository's development secrets are
    # accepted. Off, a service refuses to start with a default or weak secret.
    alumni_development_mode: bool = False
    # Bearer tokens: JWTs from the identity provider, checked against the issuer and the audience
    # when they are set; a token may live at most this long. Signed with the provider's private
    # keys, checked with the public ones it publishes at AUTH_JWKS_URL, or (one machine) HS256
    # with AUTH_JWT_SECRET. AUTH_JWT_ALGORITHMS (comma-separated) defaults to RS256,ES256 with a
    # JWKS URL and to HS256 without.
    auth_jwt_secret: str = DEVELOPMENT_JWT_SECRET
    auth_jwt_issuer: str = ""
    auth_jwt_audience: str = ""
    auth_token_max_lifetime_seconds: int = Field(default=12 * 3600, ge=60)
    auth_jwks_url: str = Field(default="", max_length=2048)
    auth_jwt_algorithms: str = ""
    auth_jwks_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    auth_jwks_max_bytes: int = Field(default=65536, ge=1024, le=1048576)
    # A token naming an unknown key fetches the keys again, at most once in this interval.
    auth_jwks_refresh_min_interval_seconds: float = Field(default=30.0, ge=0)
    auth_jwks_max_age_seconds: float = Field(default=3600.0, ge=60)
    # Tests and demos only: read "now" from this file (shared/testing/clock.py), and crash at
    # named places (`ALUMNI_FAILPOINTS`, shared/testing/failpoints.py). Never set in production.
    clock_file: str = ""
    alumni_failpoints: str = ""

    def jwt_algorithms(self) -> tuple[str, ...]:
        if configured := tuple(a.strip() for a in self.auth_jwt_algorithms.split(",") if a.strip()):
            return configured
        return ("RS256", "ES256") if self.auth_jwks_url else ("HS256",)

    def secrets(self) -> dict[str, str]:
        """The secrets this service needs, by variable name: a service adds its own. The token
        secret only while HS256 tokens are accepted."""
        return {"AUTH_JWT_SECRET": self.auth_jwt_secret} if "HS256" in self.jwt_algorithms() else {}

    def token_problems(self) -> list[str]:
        """What makes the token settings unusable or unsafe, in words."""
        algorithms = self.jwt_algorithms()
        problems = [f"AUTH_JWT_ALGORITHMS names {a!r}, not one of {', '.join(sorted(SYMMETRIC | ASYMMETRIC))}"
                    for a in algorithms if a not in SYMMETRIC | ASYMMETRIC]
        if any(a in ASYMMETRIC for a in algorithms) and not self.auth_jwks_url:
            problems.append("AUTH_JWT_ALGORITHMS names asymmetric algorithms but AUTH_JWKS_URL is not set")
        scheme = self.auth_jwks_url.partition("://")[0].lower() if self.auth_jwks_url else ""
        if scheme and scheme not in ("https", "http"):
            problems.append("AUTH_JWKS_URL is not an http(s) URL")
        elif scheme == "http" and not self.alumni_development_mode:
            problems.append("AUTH_JWKS_URL must be https (anyone on the path could hand out keys over http)")
        return problems

    def weak_secrets(self) -> list[str]:
        """The names of the secrets that are a development default or too short to be one."""
        return sorted(
            name for name, value in self.secrets().items() if value in DEVELOPMENT_SECRETS or len(value) < MIN_SECRET_LENGTH
        )

    def refuse_weak_secrets(self) -> None:
        if problems := self.token_problems():
            raise InsecureConfiguration(f"refusing to start: {'; '.join(problems)}")
        if (weak := self.weak_secrets()) and not self.alumni_development_mode:
            what = "is a development default" if len(weak) == 1 else "are development defaults"
            raise InsecureConfiguration(
                f"refusing to start: {', '.join(weak)} {what} or shorter than {MIN_SECRET_LENGTH} characters; "
                "set real secrets, or ALUMNI_DEVELOPMENT_MODE=true on a development machine"
            )

    def database_name(self, service: str) -> str:
        return self.mongodb_database or f"alumni_{service}"
