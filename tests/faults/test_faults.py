"""Each fault while desks lend and return; afterwards every invariant of checks.py holds.

Small size here (``make test``); ``python -m tests.faults.run --size full`` for the
full size. The scenarios share one system, in this order, as an operator's bad
day would: a fault leaves nothing behind that the next one could trip on.
"""

from tests.faults.scenarios import SCENARIOS, run_scenario

BY_NAME = {scenario.name: scenario for scenario in SCENARIOS}


def run(fault_run, name):
    figures = run_scenario(fault_run, BY_NAME[name], seed=list(BY_NAME).index(name))
    assert figures.violations == []
    assert figures.unanswered == 0
    assert figures.succeeded and figures.stored == figures.archived == figures.succeeded
    return figures


def test_a_killed_circulation_instance_loses_no_command_and_no_event(fault_run):
    run(fault_run, "circulation instance killed")


def test_a_killed_relay_holder_hands_over_and_every_event_is_published(fault_run):
    run(fault_run, "relay holder killed")


def test_a_killed_archives_archives_every_event_exactly_once_after_restart(fault_run):
    run(fault_run, "archives killed")


def test_after_a_rabbitmq_restart_every_service_reconnects_and_nothing_is_lost(fault_run):
    run(fault_run, "RabbitMQ restarted")


def test_after_a_postgresql_restart_every_service_recovers_and_nothing_is_lost(fault_run):
    run(fault_run, "PostgreSQL restarted")


def test_a_poison_event_is_parked_and_dead_lettered_and_the_rest_go_on(fault_run):
    run(fault_run, "poison event")
    assert fault_run.expected.parked  # the poison scenario parked exactly its own loan
