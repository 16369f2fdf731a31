"""Configuration from environment variables; the same names in every service."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    log_level: str = "INFO"
    # How long Kafka and MongoDB may stay unreachable at start-up before the process gives up.
    startup_timeout_seconds: float = 60.0
    # Bound on graceful shutdown: stop consuming, finish in-flight work, flush, close.
    shutdown_timeout_seconds: float = 10.0

    def database_name(self, service: str) -> str:
        return self.mongodb_database or f"alumni_{service}"
