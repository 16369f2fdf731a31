"""Every service has the one shape the README describes ("Writing a service"), so that whoever
knows one knows all; these checks keep it from drifting."""

import ast
import importlib
import inspect
from pathlib import Path

import pytest
from fastapi import APIRouter

from services import DEFAULT_HTTP_PORTS
from shared.messaging.failures import PermanentError, TransientError
from shared.messaging.router import EventRouter

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted(DEFAULT_HTTP_PORTS)
MODULES = ("domain", "repository", "dependencies", "handlers", "api", "app", "__main__")
# What the rules must not reach for: I/O, the web, the messaging runtime.
NOT_IN_DOMAIN = ("shared.messaging", "shared.service", "shared.web", "fastapi", "pymongo", "aiokafka", "faststream", "httpx", "aiosmtplib")
MAX_LINES = 250


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_has_the_modules_of_the_shape(service: str) -> None:
    missing = [m for m in MODULES if not (ROOT / "services" / service / f"{m}.py").exists()]
    assert not missing, f"services/{service} lacks {missing}"


@pytest.mark.parametrize("service", SERVICES)
def test_handlers_and_api_are_factories_of_the_dependencies(service: str) -> None:
    deps_type = importlib.import_module(f"services.{service}.dependencies").Dependencies
    for module, factory, returns in (("handlers", "event_handlers", EventRouter), ("api", "http_router", APIRouter)):
        function = getattr(importlib.import_module(f"services.{service}.{module}"), factory)
        parameters = list(inspect.signature(function).parameters.values())
        assert [p.name for p in parameters] == ["deps"], f"{service}.{module}.{factory} takes (deps)"
        assert parameters[0].annotation in (deps_type, "Dependencies")
        assert inspect.signature(function).return_annotation in (returns, returns.__name__)


@pytest.mark.parametrize("service", SERVICES)
def test_the_rules_do_no_io_and_their_errors_are_their_own(service: str) -> None:
    path = ROOT / "services" / service / "domain.py"
    reached = {name for name in imported_modules(path) if name.startswith(NOT_IN_DOMAIN)}
    assert not reached, f"services/{service}/domain.py imports {reached}"
    domain = importlib.import_module(f"services.{service}.domain")
    for name, value in vars(domain).items():
        if inspect.isclass(value) and issubclass(value, Exception) and value.__module__ == domain.__name__:
            assert not issubclass(value, PermanentError | TransientError), f"{name} is a retry class, not a domain error"
            assert not any(hasattr(value, attr) for attr in ("status", "status_code")), f"{name} carries an HTTP status"


@pytest.mark.parametrize("service", SERVICES)
def test_only_app_builds_the_service(service: str) -> None:
    for module in MODULES:
        if module in ("app", "__main__"):
            continue
        imported = imported_modules(ROOT / "services" / service / f"{module}.py")
        assert f"services.{service}.app" not in imported and "shared.service" not in imported, f"{service}/{module}.py wires"


def test_no_module_outside_the_tests_is_over_the_size_bound() -> None:
    long = {
        str(path.relative_to(ROOT)): n
        for folder in ("services", "shared", "devstack", "bench")
        for path in (ROOT / folder).rglob("*.py")
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines: {long}"
