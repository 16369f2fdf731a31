"""docker-compose.yml cannot run here (no Docker engine): these checks keep it in step with
the code, so that whoever has Docker gets a system wired as the code expects."""

import importlib
import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from services import DEFAULT_HTTP_PORTS, workloads

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
REQUIRED_ENV = {"KAFKA_BOOTSTRAP_SERVERS", "MONGODB_URI", "SMTP_HOST", "SMTP_PORT", "HTTP_HOST", "HTTP_PORT"}


def _settings_env_names(service: str) -> set[str]:
    settings = importlib.import_module(f"services.{service}.app").Settings
    return {name.upper() for name in settings.model_fields}


def _host_port(address: str) -> tuple[str, int]:
    host, port = address.rsplit(":", 1)
    return host, int(port)


@pytest.mark.parametrize("name", list(DEFAULT_HTTP_PORTS))
def test_each_service_runs_its_module_from_the_one_dockerfile(name: str) -> None:
    service = SERVICES[name]
    assert service["build"] == {"context": ".", "dockerfile": "Dockerfile"}
    assert service["command"] == [f"services.{name}"]
    assert importlib.util.find_spec(f"services.{name}.__main__") is not None


@pytest.mark.parametrize("name", list(DEFAULT_HTTP_PORTS))
def test_each_service_environment_names_only_settings_the_code_reads(name: str) -> None:
    env = SERVICES[name]["environment"]
    known = _settings_env_names(name)
    unknown = {k for k in env if k not in known and not k.startswith("OTEL_")}
    assert not unknown, f"{name}: variables no setting reads: {unknown}"
    assert REQUIRED_ENV <= set(env), f"{name}: missing {REQUIRED_ENV - set(env)}"


@pytest.mark.parametrize("name", list(DEFAULT_HTTP_PORTS))
def test_each_service_listens_and_publishes_its_port(name: str) -> None:
    service = SERVICES[name]
    port = DEFAULT_HTTP_PORTS[name]
    assert int(service["environment"]["HTTP_PORT"]) == port
    assert service["environment"]["HTTP_HOST"] == "0.0.0.0"
    assert service["ports"] == [f"127.0.0.1:{port}:{port}"]  # published to this host only
    assert "/health/ready" in " ".join(service["healthcheck"]["test"])


@pytest.mark.parametrize("name", list(DEFAULT_HTTP_PORTS))
def test_each_service_is_given_its_secrets_and_never_a_default(name: str) -> None:
    settings = importlib.import_module(f"services.{name}.app").Settings
    env = SERVICES[name]["environment"]
    needed = {
        secret.upper()
        for secret in ("auth_jwt_secret", "unsubscribe_secret", "exit_form_link_secret", "erasure_hash_key", "email_confirmation_link_secret", "rsvp_link_secret")
        if secret in settings.model_fields
    }
    for variable in needed:
        assert env.get(variable, "").startswith(f"${{{variable}:?"), f"{name}: {variable} must come from the operator"
    assert "ALUMNI_DEVELOPMENT_MODE" not in env


@pytest.mark.parametrize("name", list(DEFAULT_HTTP_PORTS))
def test_each_service_starts_after_topics_database_and_collector(name: str) -> None:
    depends = SERVICES[name]["depends_on"]
    assert depends["kafka-init"]["condition"] == "service_completed_successfully"
    assert depends["mongo"]["condition"] == "service_healthy"
    assert {"otel-collector", "mailpit"} <= set(depends)


def test_identitys_export_asks_every_service_it_asks_by_default_at_its_address_in_compose() -> None:
    peers = json.loads(SERVICES["identity"]["environment"]["PERSONAL_DATA_PEERS"])
    defaults = importlib.import_module("services.identity.app").Settings.model_fields["personal_data_peers"].default
    assert set(peers) == set(defaults) == set(DEFAULT_HTTP_PORTS) - {"identity"}
    for name, url in peers.items():
        assert (urlsplit(url).hostname, urlsplit(url).port) == (name, DEFAULT_HTTP_PORTS[name])


def test_kafka_bootstrap_address_is_an_advertised_listener() -> None:
    kafka_env = SERVICES["kafka"]["environment"]
    advertised = {
        listener.split("://")[1] for listener in kafka_env["KAFKA_ADVERTISED_LISTENERS"].split(",")
    }
    for name in DEFAULT_HTTP_PORTS:
        assert SERVICES[name]["environment"]["KAFKA_BOOTSTRAP_SERVERS"] in advertised
    init = SERVICES["kafka-init"]
    assert init["command"][:2] == ["devstack", "topics"]
    assert init["command"][init["command"].index("--bootstrap-servers") + 1] in advertised
    assert init["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert SERVICES["kafka"]["image"].startswith("apache/kafka:")
    assert "controller" in kafka_env["KAFKA_PROCESS_ROLES"]  # KRaft
    assert kafka_env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"


def test_mongodb_uri_names_the_replica_set_the_mongo_service_initiates() -> None:
    mongo = SERVICES["mongo"]
    assert mongo["image"].startswith("mongo:")
    repl_set = mongo["command"][mongo["command"].index("--replSet") + 1]
    health = " ".join(mongo["healthcheck"]["test"])
    assert f"_id: '{repl_set}'" in health and "rs.initiate" in health
    for name in DEFAULT_HTTP_PORTS:
        uri = urlsplit(SERVICES[name]["environment"]["MONGODB_URI"])
        assert uri.hostname == "mongo" and (uri.port or 27017) == 27017
        assert parse_qs(uri.query)["replicaSet"] == [repl_set]


def test_smtp_points_at_mailpit() -> None:
    mailpit_ports = {int(p.split(":")[1]) for p in SERVICES["mailpit"]["ports"]}
    for name in DEFAULT_HTTP_PORTS:
        env = SERVICES[name]["environment"]
        assert env["SMTP_HOST"] == "mailpit"
        assert int(env["SMTP_PORT"]) in mailpit_ports


def test_traces_flow_from_services_through_the_collector_to_jaeger() -> None:
    collector_cfg = yaml.safe_load((ROOT / "deploy/otel/collector.yaml").read_text())
    http_receiver = collector_cfg["receivers"]["otlp"]["protocols"]["http"]["endpoint"]
    _, receiver_port = _host_port(http_receiver)
    for name in DEFAULT_HTTP_PORTS:
        env = SERVICES[name]["environment"]
        endpoint = urlsplit(env["OTEL_EXPORTER_OTLP_ENDPOINT"])
        assert (endpoint.hostname, endpoint.port) == ("otel-collector", receiver_port)
        assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
    exporter = collector_cfg["exporters"]["otlp/jaeger"]["endpoint"]
    assert _host_port(exporter)[0] in SERVICES
    assert "otlp/jaeger" in collector_cfg["service"]["pipelines"]["traces"]["exporters"]
    mount = SERVICES["otel-collector"]["volumes"][0].split(":")
    assert (ROOT / mount[0]).resolve() == (ROOT / "deploy/otel/collector.yaml").resolve()


def test_dockerfile_installs_the_locked_runtime_and_the_code() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install --require-hashes -r requirements.lock" in dockerfile
    for folder in ("shared", "services", "devstack"):
        assert re.search(rf"^COPY {folder} ", dockerfile, re.M), folder
    # The GPL test database never ships in the image.
    assert "secantusdb" not in (ROOT / "requirements.lock").read_text()


@pytest.mark.parametrize("service", [s for s in DEFAULT_HTTP_PORTS if len(workloads(s)) > 1])
def test_a_service_of_several_workloads_runs_each_with_its_settings_the_others_unpublished_and_lighter(service: str) -> None:
    main, *others = workloads(service)
    for name, settings in workloads(service).items():
        env = SERVICES[name]["environment"]
        assert SERVICES[name]["command"] == [f"services.{service}"]
        assert {k: env[k] for k in settings} == settings
        # The same configuration as the service's own, but for what makes the workload.
        assert {k: v for k, v in env.items() if k not in settings} == {k: v for k, v in SERVICES[main]["environment"].items() if k not in settings}
    for name in others:
        assert "ports" not in SERVICES[name] and SERVICES[name]["cpu_shares"] < SERVICES[main].get("cpu_shares", 1024)
