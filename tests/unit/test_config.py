from pathlib import Path

from devstack.config import StackConfig
from services import DEFAULT_HTTP_PORTS
from services.identity.app import Settings as IdentitySettings


def test_stack_config_reads_ports_and_home_from_the_environment(tmp_path: Path) -> None:
    cfg = StackConfig.from_env({"ALUMNI_STACK_HOME": str(tmp_path), "ALUMNI_KAFKA_PORT": "29092", "ALUMNI_HTTP_PORT_BASE": "9100"})
    assert cfg.home == tmp_path
    assert cfg.bootstrap_servers == "127.0.0.1:29092"
    assert cfg.service_ports() == {name: 9100 + i for i, name in enumerate(DEFAULT_HTTP_PORTS)}


def test_the_test_stack_never_shares_ports_or_data_with_the_run_stack(tmp_path: Path) -> None:
    run = StackConfig.from_env({"ALUMNI_STACK_HOME": str(tmp_path)})
    test = run.for_tests()
    assert test.home != run.home and test.cache == run.cache
    run_ports = {run.kafka_port, run.kafka_controller_port, run.mongo_port, run.smtp_port, run.sink_http_port, *run.service_ports().values()}
    test_ports = {test.kafka_port, test.kafka_controller_port, test.mongo_port, test.smtp_port, test.sink_http_port, *test.service_ports().values()}
    assert not run_ports & test_ports


def test_service_settings_come_from_the_shared_variable_names(monkeypatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka:19092")
    monkeypatch.setenv("MONGODB_URI", "mongodb://mongo:27017/?replicaSet=rs0")
    monkeypatch.setenv("HTTP_PORT", "9001")
    settings = IdentitySettings()
    assert settings.kafka_bootstrap_servers == "kafka:19092"
    assert settings.http_port == 9001
    assert settings.database_name("identity") == "alumni_identity"
    monkeypatch.delenv("HTTP_PORT")
    assert IdentitySettings().http_port == DEFAULT_HTTP_PORTS["identity"]


def test_a_test_port_offset_moves_every_port_of_the_test_stack(tmp_path: Path) -> None:
    plain = StackConfig.from_env({"ALUMNI_STACK_HOME": str(tmp_path)}).for_tests()
    shifted = StackConfig.from_env({"ALUMNI_STACK_HOME": str(tmp_path), "ALUMNI_TEST_PORT_OFFSET": "300"}).for_tests()
    for name in ("kafka_port", "kafka_controller_port", "mongo_port", "smtp_port", "sink_http_port"):
        assert getattr(shifted, name) == getattr(plain, name) + 300
    assert list(shifted.service_ports().values()) == [p + 300 for p in plain.service_ports().values()]
