"""Broker nodes lost while desks lend and return, on a three-node RabbitMQ cluster.

Every client has all three addresses and fails over; the queues that matter are
quorum queues. A node is stopped (``rabbitmqctl stop_app``), then another is
killed (kill -9), each while the desks go on; afterwards every invariant of
checks.py holds: no command that got a success reply is lost (its event is in the
store and the archive exactly once), no event is lost, the consumers carried on
and the cluster is whole again. Small size here (``make test``); full size:
``python -m tests.faults.run --cluster --size full``.
"""

from tests.faults.scenarios import CLUSTER_SCENARIOS, DOWN_FOR, run_scenario

BY_NAME = {scenario.name: scenario for scenario in CLUSTER_SCENARIOS}


def run(cluster_run, name):
    figures = run_scenario(cluster_run, BY_NAME[name], seed=100 + list(BY_NAME).index(name))
    assert figures.violations == []
    assert figures.unanswered == 0
    assert figures.succeeded and figures.stored == figures.archived == figures.succeeded
    # the stream went on while the node was down: answers came through the other nodes
    assert figures.answered_during >= DOWN_FOR * cluster_run.size.commands
    return figures


def test_a_stopped_node_loses_no_command_and_no_event_and_the_desks_go_on(cluster_run):
    run(cluster_run, "RabbitMQ node stopped")


def test_a_killed_node_loses_no_command_and_no_event_and_the_desks_go_on(cluster_run):
    run(cluster_run, "RabbitMQ node killed")
