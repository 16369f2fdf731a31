"""The Kubernetes objects of one workload of a service: plain dictionaries, built from what the
code says (ports, subscriptions, secrets); the topic catalog's are in k8s_topics.py."""

import math
from dataclasses import dataclass, field

from shared.topics import CATALOG, consumer_group

PART_OF = "alumni"
IMAGE = "alumni-platform"
UID = 10001  # the Dockerfile's `alumni` user
# Measured: peak RSS 73-97 MB per service under the benchmark's load (README, "Benchmark").
MEMORY_REQUEST, MEMORY_LIMIT, CPU_REQUEST = "128Mi", "256Mi", "100m"
# Beyond SHUTDOWN_TIMEOUT_SECONDS: the endpoint removal delay and the bounded graceful stop both fit.
PRE_STOP_SECONDS = 5
GRACE_MARGIN_SECONDS = 15
SECRETS_MOUNT = "/var/run/secrets/alumni"
LAG_PER_REPLICA = "50"  # records behind per partition before KEDA adds a replica
KAFKA_PORTS = (9092, 9093)  # Strimzi's plain and TLS listeners
MONGODB_PORT = 27017
OTLP_PORTS = (4317, 4318)
# Who may reach the internet, and on which ports: chat webhooks and SMTP (notifications), the
# HRIS vendors' APIs (offboarding), the identity provider's JWKS (every service verifies tokens).
EXTERNAL_EGRESS = {
    "notifications": (443, 25, 465, 587),
    "offboarding": (443,),
}
DEFAULT_EXTERNAL_EGRESS = (443,)  # the identity provider's JWKS


@dataclass(frozen=True)
class ServiceFacts:
    """One workload of a service (services.WORKLOADS): most services are one, named after them."""

    service: str
    name: str  # the workload's, its Deployment's: the service's own name for its main one
    port: int
    subscriptions: dict[str, int]  # topic -> consumers in one process
    secrets: list[str]
    shutdown_seconds: float
    settings: dict[str, str] = field(default_factory=dict)  # what makes this workload what it is (MESSAGE_STREAM)

    @property
    def is_main(self) -> bool:
        """The workload named after its service: the one its HTTP Service and account are for."""
        return self.name == self.service


def labels(name: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": PART_OF}


def max_replicas(facts: ServiceFacts) -> int:
    """More consumers than partitions sit idle: past the widest topic, replicas add nothing."""
    partitions = {t.name: t.partitions for t in CATALOG}
    return max((math.ceil(partitions[t] / workers) for t, workers in facts.subscriptions.items()), default=1)


def deployment(facts: ServiceFacts) -> dict:
    container = {
        "name": facts.name,
        "image": IMAGE,
        "args": [f"services.{facts.service}"],
        "ports": [{"name": "http", "containerPort": facts.port}],
        "env": [
            {"name": "HTTP_HOST", "value": "0.0.0.0"},
            {"name": "HTTP_PORT", "value": str(facts.port)},
            {"name": "OTEL_SERVICE_NAME", "value": f"alumni-{facts.service}"},
            {"name": "SHUTDOWN_TIMEOUT_SECONDS", "value": str(int(facts.shutdown_seconds))},
            # Secrets as files, one per key, never in the environment (shared/settings.py reads them).
            {"name": "ALUMNI_SECRETS_DIR", "value": SECRETS_MOUNT},
            *({"name": k, "value": v} for k, v in sorted(facts.settings.items())),
        ],
        "envFrom": [
            {"configMapRef": {"name": "alumni-config"}},
            {"configMapRef": {"name": f"alumni-{facts.service}", "optional": True}},
        ],
        "resources": {"requests": {"cpu": CPU_REQUEST, "memory": MEMORY_REQUEST}, "limits": {"memory": MEMORY_LIMIT}},
        "startupProbe": _probe("/health/ready", period=2, failures=45),
        "livenessProbe": _probe("/health/live", period=10, failures=3),
        "readinessProbe": _probe("/health/ready", period=5, failures=2),
        "lifecycle": {"preStop": {"sleep": {"seconds": PRE_STOP_SECONDS}}},
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": UID,
            "runAsGroup": UID,
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}, {"name": "secrets", "mountPath": SECRETS_MOUNT, "readOnly": True}],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": facts.name, "labels": labels(facts.name)},
        "spec": {
            "selector": {"matchLabels": labels(facts.name)},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {
                "metadata": {
                    "labels": labels(facts.name),
                    "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": str(facts.port), "prometheus.io/path": "/metrics"},
                },
                "spec": {
                    "serviceAccountName": facts.service,
                    "automountServiceAccountToken": False,
                    "terminationGracePeriodSeconds": int(PRE_STOP_SECONDS + facts.shutdown_seconds + GRACE_MARGIN_SECONDS),
                    "securityContext": {"runAsNonRoot": True, "fsGroup": UID, "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [container],
                    "volumes": [
                        {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
                        {"name": "secrets", "secret": {"secretName": f"alumni-{facts.service}-secrets", "defaultMode": 0o440}},
                    ],
                },
            },
        },
    }


def _probe(path: str, *, period: int, failures: int) -> dict:
    return {"httpGet": {"path": path, "port": "http"}, "periodSeconds": period, "timeoutSeconds": 3, "failureThreshold": failures}


def service(facts: ServiceFacts) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": facts.name, "labels": labels(facts.name)},
        "spec": {"selector": labels(facts.name), "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
    }


def service_account(facts: ServiceFacts) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": facts.name, "labels": labels(facts.name)},
        "automountServiceAccountToken": False,
    }


def disruption_budget(facts: ServiceFacts) -> dict:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": facts.name, "labels": labels(facts.name)},
        # maxUnavailable, not minAvailable: a single replica can still be drained.
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": labels(facts.name)}},
    }


def scaled_object(facts: ServiceFacts) -> dict | None:
    """Replicas follow the consumer lag of the service's groups (one per topic), up to what its
    topics' partitions can use."""
    if not facts.subscriptions:
        return None
    triggers = [
        {
            "type": "kafka",
            "name": topic.replace(".", "-"),
            "metadata": {
                "bootstrapServersFromEnv": "KAFKA_BOOTSTRAP_SERVERS",
                "consumerGroup": consumer_group(facts.service, topic),
                "topic": topic,
                "lagThreshold": LAG_PER_REPLICA,
                "offsetResetPolicy": "earliest",
            },
            "authenticationRef": {"name": "alumni-kafka"},
        }
        for topic in sorted(facts.subscriptions)
    ]
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": facts.name, "labels": labels(facts.name)},
        "spec": {
            "scaleTargetRef": {"name": facts.name},
            "minReplicaCount": 1,
            "maxReplicaCount": max_replicas(facts),
            "pollingInterval": 15,
            "cooldownPeriod": 300,
            # Every replica added or removed rebalances the groups: scale down slowly.
            "advanced": {"horizontalPodAutoscalerConfig": {"behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}}}},
            "triggers": triggers,
        },
    }


def network_policy(facts: ServiceFacts) -> dict:
    """Ingress: the ingress controller, Prometheus and the platform's own services (identity
    gathers a person's data from the others) on the HTTP port. Egress: DNS, Kafka, MongoDB,
    the collector, and the outside world only on the ports this service needs."""
    external = EXTERNAL_EGRESS.get(facts.service, DEFAULT_EXTERNAL_EGRESS)
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": facts.name, "labels": labels(facts.name)},
        "spec": {
            "podSelector": {"matchLabels": labels(facts.name)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {
                    "from": [
                        _namespace("ingress-nginx"),
                        _namespace("monitoring"),
                        {"podSelector": {"matchLabels": {"app.kubernetes.io/part-of": PART_OF}}},
                    ],
                    "ports": [{"protocol": "TCP", "port": "http"}],
                }
            ],
            "egress": [
                {"to": [_namespace("kube-system")], "ports": [{"protocol": p, "port": 53} for p in ("UDP", "TCP")]},
                {"to": [_namespace("kafka")], "ports": [{"protocol": "TCP", "port": p} for p in KAFKA_PORTS]},
                {"to": [_namespace("mongodb")], "ports": [{"protocol": "TCP", "port": MONGODB_PORT}]},
                {"to": [_namespace("observability")], "ports": [{"protocol": "TCP", "port": p} for p in OTLP_PORTS]},
                {
                    "to": [{"podSelector": {"matchLabels": {"app.kubernetes.io/part-of": PART_OF}}}],
                    "ports": [{"protocol": "TCP", "port": "http"}],
                },
                {
                    "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]}}],
                    "ports": [{"protocol": "TCP", "port": p} for p in external],
                },
            ],
        },
    }


def _namespace(name: str) -> dict:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}
