"""The Grafana dashboard and the Prometheus alert rules (deploy/observability) name only metrics
that the services export, and cover what an operator watches: lag, handlers, retries, dead
letters, the outbox, deliveries, readiness.

What the services export is read from the code's instrument declarations, named the way
OpenTelemetry's Prometheus exporter names them (dots to underscores, the unit's suffix,
`_total` for counters, `_bucket`/`_sum`/`_count` for histograms); the integration tests scrape
real services for those same names (tests/integration/platform, tests/integration/notifications)."""

import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "observability" / "grafana-dashboard.json"
ALERTS = ROOT / "deploy" / "observability" / "alerts.yaml"
DECLARATION = re.compile(r'create_(counter|histogram|gauge|observable_gauge|up_down_counter)\(\s*"([a-z0-9_.]+)"')
UNIT_SUFFIX = {"s": "_seconds", "By": "_bytes", "ms": "_milliseconds"}
# Made by Prometheus itself for every scrape target, not by a service.
PROMETHEUS_SERIES = {"up"}


def exported() -> set[str]:
    names = set()
    for path in [*ROOT.glob("shared/**/*.py"), *ROOT.glob("services/**/*.py")]:
        text = path.read_text()
        for declared in DECLARATION.finditer(text):
            kind, name = declared.groups()
            arguments = text[declared.end() : declared.end() + 400].split("create_", 1)[0]
            unit = re.search(r'unit="([^"]*)"', arguments)
            base = name.replace(".", "_") + UNIT_SUFFIX.get(unit.group(1) if unit else "", "")
            if kind == "counter":
                names.add(base + "_total")
            elif kind == "histogram":
                names.update({base + "_bucket", base + "_sum", base + "_count"})
            else:
                names.add(base)
    return names


def dashboard_expressions() -> list[str]:
    return [target["expr"] for panel in json.loads(DASHBOARD.read_text())["panels"] for target in panel["targets"]]


def alert_rules() -> list[dict]:
    return [rule for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]]


def metrics_named(expression: str) -> set[str]:
    without_labels = re.sub(r"\{[^}]*\}", "", expression)
    return {m for m in re.findall(r"\b(alumni_[a-z0-9_]+|up)\b", without_labels)}


def test_the_code_declares_the_metrics_the_readme_names() -> None:
    assert {"alumni_consumer_lag", "alumni_dead_letters_total", "alumni_handler_duration_seconds_bucket", "alumni_outbox_pending"} <= exported()


def test_the_dashboard_names_only_exported_metrics_and_covers_each_concern() -> None:
    used = set().union(*map(metrics_named, dashboard_expressions()))
    assert used - exported() == set()
    for concern in (
        "alumni_consumer_lag", "alumni_handler_duration_seconds_bucket", "alumni_handler_duration_seconds_count",
        "alumni_handler_retries_total", "alumni_dead_letters_total", "alumni_outbox_publish_delay_seconds_bucket",
        "alumni_outbox_pending", "alumni_notifications_deliveries_total", "alumni_dependency_up",
    ):
        assert concern in used, f"the dashboard does not show {concern}"


def test_every_alert_names_only_exported_metrics_and_says_what_to_do() -> None:
    rules = alert_rules()
    assert len({r["alert"] for r in rules}) == len(rules)
    for rule in rules:
        assert metrics_named(rule["expr"]), rule["alert"]
        assert metrics_named(rule["expr"]) - exported() - PROMETHEUS_SERIES == set(), rule["alert"]
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
    alerted = set().union(*(metrics_named(r["expr"]) for r in rules))
    for concern in ("alumni_consumer_lag", "alumni_dead_letters_total", "alumni_outbox_oldest_pending_age_seconds", "alumni_dependency_up"):
        assert concern in alerted, f"no alert on {concern}"


def test_a_misspelt_metric_would_be_caught() -> None:
    assert metrics_named('sum(rate(alumni_dead_leters_total{topic="x"}[5m]))') - exported() == {"alumni_dead_leters_total"}
