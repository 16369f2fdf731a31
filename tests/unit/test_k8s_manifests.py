"""The Kubernetes manifests (deploy/k8s) stay true to the code and valid: the generated part
matches what the services and the topic catalog say; every overlay, rendered by kustomize
(`kubectl kustomize`), validates against the Kubernetes schemas (kubernetes-validate, strict)
and the custom resources against their operators' own CRD schemas (tests/unit/k8s_crds)."""

import functools
import math
import shutil
import subprocess
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from devstack import manifests
from services import DEFAULT_HTTP_PORTS, workloads
from shared.topics import CATALOG, DEAD_LETTER_PARTITIONS, consumer_group, topic_partitions

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
CRDS = Path(__file__).resolve().parent / "k8s_crds"
KUBERNETES_VERSION = "1.33.0"
OVERLAYS = sorted(p.name for p in (K8S / "overlays").iterdir())


@functools.cache
def facts() -> dict[str, manifests.k8s.ServiceFacts]:
    return manifests.describe_all()


@functools.cache
def generated() -> dict[str, str]:
    return manifests.render(list(facts().values()))


@functools.cache
def rendered(target: str) -> list[dict]:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl (with its built-in kustomize) renders the manifests: install kubectl"
    out = subprocess.run([kubectl, "kustomize", str(K8S / target)], capture_output=True, text=True, check=True).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


@functools.cache
def crd_schemas() -> dict[tuple[str, str], dict]:
    schemas = {}
    for path in CRDS.glob("*.yaml"):
        crd = yaml.safe_load(path.read_text())
        for version in crd["spec"]["versions"]:
            schemas[(f"{crd['spec']['group']}/{version['name']}", crd["spec"]["names"]["kind"])] = version["schema"]["openAPIV3Schema"]
    return schemas


def undeclared(value: object, schema: dict, path: str = "") -> list[str]:
    """Fields the schema does not declare (a real API server would prune them silently)."""
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return []
    found = []
    if isinstance(value, dict) and "properties" in schema:
        for key, item in value.items():
            if key not in schema["properties"]:
                found.append(f"{path}.{key}")
            else:
                found += undeclared(item, schema["properties"][key], f"{path}.{key}")
    elif isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            found += undeclared(item, schema["items"], f"{path}[{i}]")
    return found


def test_the_generated_manifests_match_the_code() -> None:
    assert manifests.stale(generated()) == [], "deploy/k8s is stale: run ./alumni manifests and commit"


@pytest.mark.parametrize("target", [f"overlays/{o}" for o in OVERLAYS] + ["topics"])
def test_every_object_validates_against_its_schema(target: str) -> None:
    objects = rendered(target)
    assert objects
    for obj in objects:
        schema = crd_schemas().get((obj["apiVersion"], obj["kind"]))
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        if schema is None:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        else:
            jsonschema.validate(obj, schema)
            assert undeclared(obj, schema) == [], name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_is_deployed_safely(overlay: str) -> None:
    objects = rendered(f"overlays/{overlay}")
    by_kind: dict[str, dict[str, dict]] = {}
    for obj in objects:
        by_kind.setdefault(obj["kind"], {})[obj["metadata"]["name"]] = obj
    assert set(by_kind["Deployment"]) == {w for service in DEFAULT_HTTP_PORTS for w in workloads(service)}
    for name, deployment in by_kind["Deployment"].items():
        service = facts()[name].service
        pod = deployment["spec"]["template"]["spec"]
        [container] = pod["containers"]
        assert container["image"].startswith("registry.example.com/alumni/alumni-platform:")
        assert container["args"] == [f"services.{service}"] and pod["serviceAccountName"] == service
        assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
        assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
        security = container["securityContext"]
        assert security["runAsNonRoot"] and security["readOnlyRootFilesystem"] and not security["allowPrivilegeEscalation"]
        assert pod["terminationGracePeriodSeconds"] > facts()[name].shutdown_seconds + container["lifecycle"]["preStop"]["sleep"]["seconds"]
        assert container["resources"]["limits"]["memory"] and container["resources"]["requests"]["memory"]
        # Secrets are files the settings read (ALUMNI_SECRETS_DIR), never environment variables.
        secret_volume = next(v for v in pod["volumes"] if "secret" in v)
        assert secret_volume["secret"]["secretName"] == f"alumni-{service}-secrets"
        mount = next(m for m in container["volumeMounts"] if m["name"] == secret_volume["name"])
        assert {"name": "ALUMNI_SECRETS_DIR", "value": mount["mountPath"]} in container["env"] and mount["readOnly"]
        assert not any("secretRef" in source for source in container.get("envFrom", []))
        labels = deployment["spec"]["selector"]["matchLabels"]
        assert by_kind["PodDisruptionBudget"][name]["spec"]["selector"]["matchLabels"] == labels
        assert by_kind["NetworkPolicy"][name]["spec"]["podSelector"]["matchLabels"] == labels
        if name == service:  # one HTTP Service, for the service's own workload
            assert by_kind["Service"][name]["spec"]["selector"] == labels
        else:
            assert name not in by_kind["Service"] and name not in by_kind["ServiceAccount"]
    assert by_kind["NetworkPolicy"]["default-deny"]["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_service_scales_on_the_lag_of_its_own_groups_within_its_partitions(overlay: str) -> None:
    scaled = {o["metadata"]["name"]: o for o in rendered(f"overlays/{overlay}") if o["kind"] == "ScaledObject"}
    partitions = {t.name: t.partitions for t in CATALOG}
    for name, service in facts().items():
        if not service.subscriptions:
            assert name not in scaled  # nothing to read: nothing to scale on
            continue
        spec = scaled[name]["spec"]
        assert spec["scaleTargetRef"] == {"name": name}
        triggers = {t["metadata"]["topic"]: t["metadata"] for t in spec["triggers"]}
        assert set(triggers) == set(service.subscriptions)
        for topic, metadata in triggers.items():
            assert metadata["consumerGroup"] == consumer_group(service.service, topic)
        widest = max(math.ceil(partitions[t] / workers) for t, workers in service.subscriptions.items())
        assert spec["maxReplicaCount"] == widest
        assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_identity_asks_every_other_service_through_its_service_for_an_export(overlay: str) -> None:
    import json

    objects = rendered(f"overlays/{overlay}")
    [config] = [o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "alumni-identity"]
    services = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Service"}
    peers = json.loads(config["data"]["PERSONAL_DATA_PEERS"])
    assert set(peers) == set(DEFAULT_HTTP_PORTS) - {"identity"}
    for name, url in peers.items():
        assert url == f"http://{name}" and services[name]["spec"]["ports"][0]["port"] == 80


def test_the_topic_catalog_is_one_kafka_topic_each_dead_letters_included() -> None:
    topics = {o["spec"]["topicName"]: o for o in rendered("topics") if o["kind"] == "KafkaTopic"}
    assert {name: t["spec"]["partitions"] for name, t in topics.items()} == topic_partitions()
    assert all(t["metadata"]["namespace"] == "kafka" for t in topics.values())
    assert {t["spec"]["partitions"] for name, t in topics.items() if name.endswith(".dlq")} == {DEAD_LETTER_PARTITIONS}


def test_a_drifted_manifest_is_caught() -> None:
    files = dict(generated())
    name = "topics/topics.yaml"
    files[name] = files[name].replace("partitions: 6", "partitions: 7", 1)
    assert manifests.stale(files) == [name]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_notifications_runs_its_two_message_streams_as_two_workloads_that_read_every_topic_once(overlay: str) -> None:
    deployments = {o["metadata"]["name"]: o for o in rendered(f"overlays/{overlay}") if o["kind"] == "Deployment"}
    streams = {}
    for name in ("notifications", "notifications-bulk"):
        [container] = deployments[name]["spec"]["template"]["spec"]["containers"]
        streams[name] = {e["name"]: e.get("value") for e in container["env"]}["MESSAGE_STREAM"]
    assert streams == {"notifications": "transactional", "notifications-bulk": "bulk"}
    transactional, bulk = set(facts()["notifications"].subscriptions), set(facts()["notifications-bulk"].subscriptions)
    assert "alumni.notification.email-bulk" in bulk and "alumni.notification.email" in transactional
    assert not transactional & bulk
    scaled = {o["metadata"]["name"]: o for o in rendered(f"overlays/{overlay}") if o["kind"] == "ScaledObject"}
    assert {t["metadata"]["topic"] for t in scaled["notifications-bulk"]["spec"]["triggers"]} == bulk
