"""The launcher explains what is wrong and what to do, instead of printing a stack trace."""

import shutil
from pathlib import Path

import pytest

from devstack import kafka
from devstack.config import StackConfig
from devstack.errors import StackError
from devstack.kafka import KafkaNode


@pytest.fixture
def node(tmp_path: Path) -> KafkaNode:
    return KafkaNode(StackConfig.from_env({"ALUMNI_STACK_HOME": str(tmp_path / "home"), "ALUMNI_CACHE": str(tmp_path / "cache")}))


def test_no_jdk_says_which_java_to_install(node: KafkaNode, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(StackError, match="no JDK found: Kafka needs Java 17"):
        node.start()


def test_no_maven_says_how_to_install_it(node: KafkaNode, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(StackError, match=r"Maven \(mvn\) is not installed"):
        node.ensure_jars()


def test_a_failed_download_shows_maven_s_own_words(node: KafkaNode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    failing_mvn = tmp_path / "mvn"
    failing_mvn.write_text("#!/bin/sh\necho 'Could not transfer artifact org.apache.kafka:kafka_2.13'\nexit 1\n")
    failing_mvn.chmod(0o755)
    monkeypatch.setattr(shutil, "which", lambda name: str(failing_mvn))
    with pytest.raises(StackError, match="(?s)Maven could not fetch the Kafka jars.*Could not transfer artifact"):
        node.ensure_jars()
    assert not node.libs.exists()  # nothing half-downloaded is taken for a cache


def test_an_old_java_is_refused(node: KafkaNode, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/java")
    monkeypatch.setattr(kafka, "_java_major", lambda java: 11)
    with pytest.raises(StackError, match="Kafka needs Java 17 or newer; `java` here is Java 11"):
        node.start()
