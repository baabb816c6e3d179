"""infra/monitoring/ as Prometheus reads it: the alert rules and their unit tests, the
demo's Prometheus config, and the dashboard's and rules' metrics being ones the services
expose. promtool comes with Debian's prometheus package (make test installs it)."""

from __future__ import annotations

import json
import re
import subprocess

import yaml
from prometheus_client import REGISTRY

import shared.runtime.metrics  # noqa: F401 (registers the library's metrics)
from shared.config import REPO_ROOT

MONITORING = REPO_ROOT / "infra" / "monitoring"
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def promtool(*arguments: str) -> str:
    done = subprocess.run(
        ["promtool", *arguments], cwd=MONITORING, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def exposed() -> set[str]:
    """Every series name the services' processes may expose."""
    return {
        family.name + suffix
        for family in REGISTRY.collect()
        if family.name.startswith("library_")
        for suffix in SUFFIXES.get(family.type, ("",))
    }


def names_in(expression: str) -> set[str]:
    return set(re.findall(r"\blibrary_[a-z_]+\b", expression))


def test_the_alert_rules_are_valid_and_pass_their_unit_tests():
    assert "SUCCESS: 4 rules found" in promtool("check", "rules", "alerts.yml")
    assert "SUCCESS" in promtool("test", "rules", "alerts_test.yml")


def test_the_demos_prometheus_config_is_valid_and_scrapes_the_services_targets(tmp_path):
    script = MONITORING / "prometheus.sh"
    done = subprocess.run(
        ["bash", str(script), "config", str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    config = tmp_path / "prometheus.yml"
    assert "SUCCESS" in promtool("check", "config", str(config))
    job = yaml.safe_load(config.read_text())["scrape_configs"][0]
    assert job["job_name"] == "library" and job["honor_labels"] is True
    assert job["file_sd_configs"][0]["files"] == [
        str(REPO_ROOT / ".run" / "metrics-targets" / "*.json")
    ]


def test_the_rules_and_the_dashboard_ask_only_for_metrics_the_services_expose():
    rules = yaml.safe_load((MONITORING / "alerts.yml").read_text())
    asked = {name for rule in rules["groups"][0]["rules"] for name in names_in(rule["expr"])}
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            asked |= names_in(target["expr"])
    assert asked and asked <= exposed(), asked - exposed()
