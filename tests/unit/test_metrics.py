"""Where a process serves /metrics, its Prometheus target, and a command's outcome label."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from shared.errors import BadRequest
from shared.eventsourcing.decider import Refused
from shared.runtime.metrics import (
    metrics_port,
    observe_command,
    outcome_of,
    running_targets,
    sweep_targets,
    target_file,
    write_target,
)

CONFIG = {"METRICS": {"ports": {"circulation": 9420, "gateway": 9460}}}


def test_an_instance_serves_on_its_services_base_port_plus_its_number_less_one():
    assert metrics_port(CONFIG, "circulation", {}) == 9420
    assert metrics_port(CONFIG, "circulation", {"LIBRARY_INSTANCE": "1"}) == 9420
    assert metrics_port(CONFIG, "circulation", {"LIBRARY_INSTANCE": "3"}) == 9422


def test_metrics_port_in_the_environment_wins_and_no_port_is_an_ephemeral_one():
    assert metrics_port(CONFIG, "circulation", {"METRICS_PORT": "9999"}) == 9999
    assert metrics_port(CONFIG, "circulation", {"METRICS_PORT": "0"}) == 0
    assert metrics_port(CONFIG, "archives", {"LIBRARY_INSTANCE": "2"}) == 0
    assert metrics_port({}, "gateway", {}) == 0


def test_outcomes_are_ok_refused_invalid_or_error():
    assert outcome_of(None) == "ok"
    assert outcome_of(Refused("no")) == "refused"
    assert outcome_of(BadRequest("bad", {"x": ["bad"]})) == "invalid"
    assert outcome_of(RuntimeError("boom")) == "error"


def test_a_refused_command_is_counted_as_refused_and_still_raises():
    from shared.runtime.metrics import COMMANDS

    counted = COMMANDS.labels("unit", "lend", "refused")
    before = counted._value.get()
    with pytest.raises(Refused), observe_command("unit", "lend"):
        raise Refused("on loan")
    assert counted._value.get() == before + 1


def test_a_target_names_its_service_and_instance_and_a_dead_processs_is_swept(tmp_path):
    path = write_target(tmp_path, "circulation", 2, "http://127.0.0.1:9421/metrics")
    assert path == target_file(tmp_path, "circulation", 2, os.getpid())
    assert json.loads(path.read_text()) == [
        {"targets": ["127.0.0.1:9421"], "labels": {"service": "circulation", "replica": "2"}}
    ]
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    stale = target_file(tmp_path, "catalog", 1, int(gone.stdout))
    stale.write_text("[]")
    sweep_targets(tmp_path)
    assert not stale.exists() and path.exists()


def test_the_demo_names_each_running_process_by_its_spec(tmp_path):
    config = {"METRICS": {"targets": str(tmp_path)}}
    write_target(tmp_path, "circulation", 1, "http://127.0.0.1:9420/metrics")
    write_target(tmp_path, "circulation", 2, "http://127.0.0.1:9421/metrics")
    assert running_targets(config) == {
        "circulation": "http://127.0.0.1:9420/metrics",
        "circulation@2": "http://127.0.0.1:9421/metrics",
    }
    assert running_targets({"METRICS": {"targets": ""}}) == {}
