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

# A service deployed as more than one workload, each with the settings that make it so:
# notifications' bulk message stream apart from its transactional one (MESSAGE_STREAM), with a
# CPU budget of its own and scaled on its own topics' lag. The first workload is the service's
# own (its name, its HTTP Service); the launcher, docker-compose.yml and the Kubernetes
# manifests all follow this table.
WORKLOADS: dict[str, dict[str, dict[str, str]]] = {
    "notifications": {"notifications": {"MESSAGE_STREAM": "transactional"}, "notifications-bulk": {"MESSAGE_STREAM": "bulk"}},
}


def workloads(service: str) -> dict[str, dict[str, str]]:
    """The service's workloads by name, each with its own settings (one, named after it, for most)."""
    return WORKLOADS.get(service, {service: {}})
