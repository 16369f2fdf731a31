import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Everything under tests/integration runs against the real stack.
    for item in items:
        if "/tests/integration/" in str(item.path):
            item.add_marker(pytest.mark.integration)


_FIGURES = pytest.StashKey[list[str]]()


@pytest.fixture
def figures(request: pytest.FixtureRequest):
    """Lines a test reports (counts, timings): printed after the run's summary, even when output
    is captured, so that a CI log carries them."""
    lines = request.config.stash.setdefault(_FIGURES, [])

    def report(line: str) -> None:
        print(line)
        lines.append(line)

    return report


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if lines := config.stash.get(_FIGURES, []):
        terminalreporter.section("figures reported by the tests")
        for line in lines:
            terminalreporter.write_line(line)
