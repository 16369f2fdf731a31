"""The platform's deployable services, one package each."""

# Each service's default HTTP port (override with HTTP_PORT). The local launcher, the
# Dockerfile and docker-compose.yml all follow this table.
DEFAULT_HTTP_PORTS: dict[str, int] = {
    "identity": 8001,
    "offboarding": 8002,
    "referrals": 8003,
    "notifications": 8004,
    "engagement": 8005,
}
