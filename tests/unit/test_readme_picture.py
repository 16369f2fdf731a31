"""The picture of the system at the top of the README cannot drift from the code: every topic
of the catalog, every service and every collection a service owns is on it."""

import importlib
import re
from pathlib import Path

import pytest

from services import DEFAULT_HTTP_PORTS
from shared.topics import CATALOG

README = Path(__file__).resolve().parents[2] / "README.md"


def picture() -> str:
    [block] = re.findall(r"```mermaid\n(.*?)```", README.read_text(), flags=re.S)
    return block


def subgraph(block: str, service: str) -> str:
    match = re.search(rf"subgraph {service}\[.*?\n(.*?)\n\s*end\n", block, flags=re.S)
    assert match, f"no subgraph for the {service} service"
    return match.group(1)


@pytest.mark.parametrize("topic", [t.name for t in CATALOG])
def test_every_topic_of_the_catalog_is_drawn(topic: str) -> None:
    assert topic in picture()


@pytest.mark.parametrize("service", sorted(DEFAULT_HTTP_PORTS))
def test_every_service_is_drawn_with_its_port_and_its_collections(service: str) -> None:
    box = subgraph(picture(), service)
    assert f":{DEFAULT_HTTP_PORTS[service]}" in picture().split(f"subgraph {service}[", 1)[1].split("\n", 1)[0]
    repository = importlib.import_module(f"services.{service}.repository")
    for collection in repository.COLLECTIONS:
        assert collection in box, f"{service} owns {collection}, which the picture does not show"


def test_every_service_package_is_in_the_port_table() -> None:
    packages = {p.name for p in (README.parent / "services").iterdir() if (p / "app.py").exists()}
    assert packages == set(DEFAULT_HTTP_PORTS)
