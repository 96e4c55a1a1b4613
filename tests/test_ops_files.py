"""The operator's files in ops/: Prometheus's configuration and alert rules, checked and
unit-tested by promtool, and the Grafana dashboard with its provisioning.

promtool comes with Debian's `prometheus` package, which `.ci/run` installs where it is
missing: without it these tests fail rather than skip, so CI never passes unchecked rules.
"""

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.test_metrics import API_METRICS, REQUEST_METRICS, SDK_METRICS, WORKER_METRICS

ROOT = Path(__file__).resolve().parent.parent
PROMETHEUS = ROOT / "ops" / "prometheus"
GRAFANA = ROOT / "ops" / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "journeys.json"
# Prometheus's own series for each scrape target.
SCRAPE_METRICS = ("up",)
EXPORTED = {*WORKER_METRICS, *API_METRICS, *SDK_METRICS, *REQUEST_METRICS, *SCRAPE_METRICS}
METRIC_NAME = re.compile(r"\b(?:journeys|temporal)_[a-z0-9_]+\b|\bup\b(?=\{)")
# Grafana's own variables in a query, as Prometheus would see them once Grafana fills them in.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}


def promtool(*args: str, cwd: Path = PROMETHEUS) -> subprocess.CompletedProcess[str]:
    path = shutil.which("promtool")
    assert path, (
        "promtool is missing: install Debian's prometheus package "
        "(`apt-get install prometheus`; .ci/run does so in CI)"
    )
    return subprocess.run(
        [path, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def _rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def _dashboard() -> dict[str, Any]:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return dashboard


def _panel_queries() -> list[tuple[str, str]]:
    return [
        (panel["title"], target["expr"])
        for panel in _dashboard()["panels"]
        for target in panel.get("targets", [])
    ]


def test_the_alert_rules_are_valid() -> None:
    done = promtool("check", "rules", "alerts.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(_rules())} rules found" in done.stdout


def test_the_prometheus_configuration_is_valid_and_loads_the_rules() -> None:
    done = promtool("check", "config", "prometheus.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    assert config["rule_files"] == ["alerts.yml"]


def test_the_alert_rules_pass_their_unit_tests() -> None:
    done = promtool("test", "rules", "alerts.test.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_a_broken_rule_fails_the_check(tmp_path: Path) -> None:
    """promtool as these tests run it does refuse what is wrong."""
    broken = tmp_path / "broken.yml"
    broken.write_text("groups:\n  - name: x\n    rules:\n      - alert: X\n        expr: rate(\n")
    assert promtool("check", "rules", str(broken)).returncode != 0


def test_every_alert_is_seen_firing_in_the_unit_tests() -> None:
    tests = yaml.safe_load((PROMETHEUS / "alerts.test.yml").read_text())["tests"]
    fired = {
        case["alertname"]
        for test in tests
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    quiet = {
        case["alertname"]
        for test in tests
        for case in test.get("alert_rule_test", [])
        if not case.get("exp_alerts")
    }
    alerts = {rule["alert"] for rule in _rules()}
    assert alerts == fired, "each alert fires in a test"
    assert alerts == quiet, "and stays quiet in one"


def test_every_alert_says_what_to_do_and_how_bad_it_is() -> None:
    for rule in _rules():
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]


def test_the_rules_and_the_dashboard_read_only_metrics_the_endpoints_export() -> None:
    """tests/test_metrics.py finds each of EXPORTED on the worker's or the API's endpoint."""
    queries = [rule["expr"] for rule in _rules()] + [expr for _, expr in _panel_queries()]
    used = {name for query in queries for name in METRIC_NAME.findall(query)}
    assert used - EXPORTED == set()
    assert {"journeys_overdue_longest_seconds", "journeys_incidents_open_oldest_seconds"} <= used
    assert "temporal_workflow_task_schedule_to_start_latency_bucket" in used
    assert "temporal_worker_task_slots_available" in used


def test_every_dashboard_query_is_valid_promql(tmp_path: Path) -> None:
    """Each panel's query, as Grafana sends it, checked by promtool as a recording rule."""
    rules = []
    for n, (_, expr) in enumerate(_panel_queries()):
        for variable, value in GRAFANA_VARIABLES.items():
            expr = expr.replace(variable, value)
        rules.append({"record": f"dashboard:panel_{n}", "expr": expr})
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    done = promtool("check", "rules", str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(rules) >= 20


def test_the_dashboard_is_laid_out_and_reads_the_provisioned_datasource() -> None:
    dashboard = _dashboard()
    assert dashboard["uid"] == "patient-journeys"
    datasources = yaml.safe_load(
        (GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )["datasources"]
    [prometheus] = datasources
    assert prometheus["type"] == "prometheus"
    assert prometheus["url"] == "http://prometheus:9090"
    panels = dashboard["panels"]
    assert len({panel["id"] for panel in panels}) == len(panels)
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps another panel"
                cells.add((x, y))
        if panel["type"] == "row":
            continue
        assert panel["description"], panel["title"]
        assert panel["datasource"]["uid"] == prometheus["uid"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == prometheus["uid"], panel["title"]
    titles = {panel["title"] for panel in panels}
    assert {"Overdue journeys", "Open incidents by kind", "Steps by answer"} <= titles


def test_the_dashboard_provider_reads_where_compose_mounts_the_dashboards() -> None:
    provider = yaml.safe_load(
        (GRAFANA / "provisioning" / "dashboards" / "journeys.yml").read_text()
    )["providers"][0]
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    mounts = dict(volume.split(":")[:2] for volume in compose["services"]["grafana"]["volumes"])
    assert mounts["./ops/grafana/dashboards"] == provider["options"]["path"]
    assert mounts["./ops/grafana/provisioning"] == "/etc/grafana/provisioning"
