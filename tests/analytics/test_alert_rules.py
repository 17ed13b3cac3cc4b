"""The alert rules and the Grafana dashboard (analytics/monitoring/): promtool accepts and
unit-tests them, every metric they read exists, and every alert has its runbook."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

MONITORING = Path(__file__).resolve().parents[2] / "analytics" / "monitoring"
RULES = MONITORING / "prometheus" / "rules.yml"
RULES_TEST = MONITORING / "prometheus" / "rules_test.yml"
DASHBOARD = MONITORING / "grafana" / "lead-engine.json"
OPERATIONS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
# Series Prometheus itself writes, not scraped from the app.
PROMETHEUS_SERIES = {"ALERTS", "ALERTS_FOR_STATE"}


def _promtool(*args: str) -> subprocess.CompletedProcess:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: `make test` installs it (Debian package prometheus)"
    return subprocess.run([promtool, *args], capture_output=True, text=True, timeout=120, check=False)


def _rules() -> list[dict]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def _alerts() -> list[dict]:
    return [rule for rule in _rules() if "alert" in rule]


def _recorded() -> set[str]:
    return {rule["record"] for rule in _rules() if "record" in rule}


def _dashboard_exprs() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    return exprs + [a["expr"] for a in dashboard["annotations"]["list"] if a.get("expr")]


def _grafana_to_promql(expr: str) -> str:
    return expr.replace("$__rate_interval", "5m").replace("$__interval", "1m")


_LABEL_LISTS = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (not functions, labels or keywords)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings (label values, quantile args)
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # ranges
    expr = _LABEL_LISTS.sub("", expr)
    names = set()
    for match in re.finditer(r"(?<![\w.:$])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?", expr):
        name, call = match.groups()
        if not call and name not in _KEYWORDS and not re.fullmatch(r"\d\w*", name):
            names.add(name)
    return names


def test_metric_names_are_found_in_expressions():
    expr = (
        'histogram_quantile(0.95, sum by (queue, le) (rate(a_bucket{status=~"5.."}[5m]) '
        "* on (task) group_left (queue) max by (task, queue) (b_info))) > 5 and c:rec offset 5m"
    )
    assert metric_names(expr) == {"a_bucket", "b_info", "c:rec"}


def test_promtool_accepts_the_rules():
    result = _promtool("check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_unit_tests_of_the_rules_pass():
    result = _promtool("test", "rules", str(RULES_TEST))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_firing_and_a_quiet_unit_test():
    cases = [
        case for test in yaml.safe_load(RULES_TEST.read_text())["tests"] for case in test.get("alert_rule_test", [])
    ]
    for alert in _alerts():
        own = [case for case in cases if case["alertname"] == alert["alert"]]
        assert any(case["exp_alerts"] for case in own), f"{alert['alert']}: no case where it fires"
        assert any(not case["exp_alerts"] for case in own), f"{alert['alert']}: no case where it stays quiet"


def test_the_dashboard_queries_are_valid_promql(tmp_path):
    """promtool parses every panel's query (as a recording rule: it has no query linter of its own)."""
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:q{i}", "expr": _grafana_to_promql(e)}
                    for i, e in enumerate(_dashboard_exprs())
                ],
            }
        ]
    }
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump(rules))
    result = _promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_severity_summary_description_and_a_runbook_section():
    anchors = {_github_anchor(m) for m in re.findall(r"^#{1,6}\s+(.+?)\s*$", OPERATIONS.read_text(), re.M)}
    assert "alerts" in anchors
    alerts = _alerts()
    assert len(alerts) >= 7
    for alert in alerts:
        name = alert["alert"]
        assert alert["labels"]["severity"] in {"critical", "warning"}, name
        annotations = alert["annotations"]
        assert annotations["summary"] and annotations["description"], name
        path, _, anchor = annotations["runbook_url"].partition("#")
        assert path == "docs/operations.md", name
        assert anchor == name.lower() and anchor in anchors, f"{name}: no section #{anchor} in {path}"


def _github_anchor(heading: str) -> str:
    """The anchor GitHub (and most Markdown renderers) give a heading."""
    text = re.sub(r"[`*_]", "", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


@pytest.mark.django_db(databases=["default", "replica"])
def test_every_metric_the_rules_and_dashboard_read_is_served_or_recorded(client, settings, scrape_sources):
    """A renamed metric would leave an alert silent for good: every name the rules and the
    dashboard read is a recording rule or appears on a real /metrics scrape of the app."""
    settings.DATABASE_READ_REPLICAS = ["replica"]
    client.get("/healthz")
    client.get("/no-such-page/")
    served = _served_names(client.get("/metrics").content.decode())

    recorded = _recorded()
    wanted = {name for rule in _rules() for name in metric_names(rule["expr"])}
    wanted |= {name for e in _dashboard_exprs() for name in metric_names(_grafana_to_promql(e))}
    missing = sorted(wanted - recorded - served - PROMETHEUS_SERIES)
    assert not missing, f"read by the rules or the dashboard but neither recorded nor served: {missing}"
    # The names the alerts rely on are really there, not only declared.
    for name in ("leadengine_queue_depth", "leadengine_dead_letters_waiting", "leadengine_replica_lag_seconds"):
        assert name in served


def _served_names(text: str) -> set[str]:
    """Every series name the exposition declares (by its type's suffixes) or carries."""
    suffixes = {
        "counter": ("_total", "_created"),
        "histogram": ("_bucket", "_sum", "_count", "_created"),
        "summary": ("", "_sum", "_count", "_created"),
        "info": ("_info",),
    }
    names = set()
    for family in text_string_to_metric_families(text):
        names.update(family.name + suffix for suffix in suffixes.get(family.type, ("",)))
        names.update(sample.name for sample in family.samples)
    return names
