"""Configuration from environment variables; the same names in every service."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_JWT_SECRET = "local-development-secret-change-me"
# Secrets shipped in this repository for one machine: never accepted outside development mode.
DEVELOPMENT_EXIT_FORM_LINK_SECRET = "local-development-exit-form-link-secret"
DEVELOPMENT_ERASURE_HASH_KEY = "local-development-erasure-hash-key"
DEVELOPMENT_ATS_WEBHOOK_SECRET = "local-ats-webhook-secret"
DEVELOPMENT_SECRETS = frozenset({
    DEVELOPMENT_JWT_SECRET, "local-development-unsubscribe-secret", "local-webhook-secret", DEVELOPMENT_EXIT_FORM_LINK_SECRET,
    DEVELOPMENT_ERASURE_HASH_KEY, DEVELOPMENT_ATS_WEBHOOK_SECRET,
})
MIN_SECRET_LENGTH = 32


class InsecureConfiguration(SystemExit):
    """A service refuses to start with a default or weak secret outside development mode."""


class ServiceSettings(BaseSettings):
    """Settings every service reads. A service subclasses it to add its own."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    mongodb_uri: str = "mongodb://127.0.0.1:27017/?directConnection=true"
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
    # Handled records' offsets are committed together at this interval (0: one by one). A crash
    # redelivers at most this much, and repeats are dropped.
    consumer_commit_interval_seconds: float = Field(default=0.5, ge=0)
    # Outbox: how often unsent events of crashed processes are looked for, and how long an
    # event belongs to the process that wrote it before another may publish it.
    outbox_sweep_interval_seconds: float = 1.0
    outbox_lease_seconds: float = 5.0

    # A development machine (`./alumni up`, the tests): the repository's development secrets are
    # accepted. Off, a service refuses to start with a default or weak secret.
    alumni_development_mode: bool = False
    # Bearer tokens: JWTs (HS256) from the identity provider, checked against the issuer and the
    # audience when they are set; a token may live at most this long.
    auth_jwt_secret: str = DEVELOPMENT_JWT_SECRET
    auth_jwt_issuer: str = ""
    auth_jwt_audience: str = ""
    auth_token_max_lifetime_seconds: int = Field(default=12 * 3600, ge=60)
    # Tests and demos only: read "now" from this file (shared/testing/clock.py), and crash at
    # named places (`ALUMNI_FAILPOINTS`, shared/testing/failpoints.py). Never set in production.
    clock_file: str = ""
    alumni_failpoints: str = ""

    def secrets(self) -> dict[str, str]:
        """The secrets this service needs, by variable name: a service adds its own."""
        return {"AUTH_JWT_SECRET": self.auth_jwt_secret}

    def weak_secrets(self) -> list[str]:
        """The names of the secrets that are a development default or too short to be one."""
        return sorted(
            name for name, value in self.secrets().items() if value in DEVELOPMENT_SECRETS or len(value) < MIN_SECRET_LENGTH
        )

    def refuse_weak_secrets(self) -> None:
        if (weak := self.weak_secrets()) and not self.alumni_development_mode:
            what = "is a development default" if len(weak) == 1 else "are development defaults"
            raise InsecureConfiguration(
                f"refusing to start: {', '.join(weak)} {what} or shorter than {MIN_SECRET_LENGTH} characters; "
                "set real secrets, or ALUMNI_DEVELOPMENT_MODE=true on a development machine"
            )

    def database_name(self, service: str) -> str:
        return self.mongodb_database or f"alumni_{service}"
