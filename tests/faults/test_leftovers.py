"""A fault run's leftovers (tests/faults/leftovers.py): a RabbitMQ node whose checkout is gone
is found by its process and stopped; only the servers a run started are stopped after it.

The node here is a stand-in: ``sleep`` under the name ``beam.smp``, with the environment
infra/extra_rabbit.sh gives a node, so no broker is started for it."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid

from tests.faults import leftovers
from tests.helpers import wait_until


def start_stand_in(tmp_path, checkout, name):
    """A process that looks like node ``name`` started from ``checkout``."""
    beam = tmp_path / "bin" / "beam.smp"
    beam.parent.mkdir(exist_ok=True)
    shutil.copy(shutil.which("sleep"), beam)
    mnesia = checkout / ".run" / "rabbit" / name / "mnesia"
    mnesia.mkdir(parents=True)
    env = {
        **os.environ,
        "RABBITMQ_NODENAME": f"{name}@localhost",
        "RABBITMQ_MNESIA_BASE": str(mnesia),
    }
    return subprocess.Popen([str(beam), "600"], cwd=checkout, env=env)


def test_a_node_whose_checkout_is_gone_is_stopped_and_one_whose_checkout_stands_is_not(
    tmp_path,
):
    name = f"leftover-{uuid.uuid4().hex[:8]}"
    checkout = tmp_path / "old-checkout"
    node = start_stand_in(tmp_path, checkout, name)
    try:
        # eventlet's green Popen (once a test monkey-patched) may return before the exec
        found = wait_until(
            lambda: leftovers.node_processes().get(f"{name}@localhost"),
            timeout=10,
            what="the stand-in node's process",
        )
        assert found.pid == node.pid and not found.orphaned
        assert leftovers.replace_orphans([name]) == []
        assert node.poll() is None  # its checkout is there: left running

        shutil.rmtree(checkout)
        assert leftovers.node_processes()[f"{name}@localhost"].orphaned
        assert leftovers.replace_orphans(["not-this-one", name]) == [f"{name}@localhost"]
        assert node.wait(timeout=10) is not None
        assert f"{name}@localhost" not in leftovers.node_processes()
    finally:
        node.kill()
        node.wait()


def test_a_run_stops_only_the_servers_that_were_not_running_before_it():
    nodes = [("cluster1", 5701), ("cluster2", 5702), ("cluster3", 5703)]
    before = {"cluster1", "postgres:faults_cluster"}
    commands = leftovers.stop_commands(nodes, "faults_cluster", 5443, before)
    assert commands == [
        ["bash", "infra/extra_rabbit.sh", "stop", "cluster2", "5702"],
        ["bash", "infra/extra_rabbit.sh", "stop", "cluster3", "5703"],
    ]
    none_before = leftovers.stop_commands(nodes[:1], "faults", 5442, set())
    assert none_before[-1] == ["bash", "infra/extra_postgres.sh", "stop", "faults", "5442"]
