"""The scenarios: one fault each, injected while the desks lend and return.

A scenario runs the desks, waits until a share of the commands is answered,
injects its fault (and heals it, as a supervisor or an operator would), lets the
desks finish, waits for the system to settle and checks every invariant of
``tests.faults.checks``. It returns its figures; the violations are in them.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from logging import getLogger

import eventlet
from eventlet.greenthread import GreenThread

from tests.faults import checks
from tests.faults.desks import Command, Desks
from tests.faults.system import VHOST, System
from tests.helpers import wait_until

_log = getLogger(__name__)

FAULT_AT = 0.3
"""The share of a scenario's commands answered before its fault is injected."""
DOWN_FOR = 0.4
"""The share of a scenario's commands answered while a cluster node is down."""


@dataclass(frozen=True)
class Size:
    name: str
    desks: int
    commands: int  # per scenario
    copies: int
    patrons: int
    outage: float  # seconds a stopped server stays down
    rpc_timeout: float
    settle_timeout: float


SIZES = {
    "small": Size("small", desks=4, commands=100, copies=40, patrons=12, outage=1.0,
                  rpc_timeout=10, settle_timeout=120),
    "full": Size("full", desks=16, commands=2000, copies=400, patrons=120, outage=15.0,
                 rpc_timeout=20, settle_timeout=600),
}  # fmt: skip


@dataclass
class Run:
    """What lasts from one scenario to the next: the system and everything it was told."""

    system: System
    size: Size
    commands: list[Command] = field(default_factory=list)
    expected: checks.Expected = field(default_factory=checks.Expected)
    seen: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    figures: list[Figures] = field(default_factory=list)


@dataclass
class Figures:
    scenario: str
    sent: int = 0
    succeeded: int = 0
    refused: int = 0
    retried: int = 0  # commands that needed more than one attempt
    unanswered: int = 0
    stored: int = 0  # events the successes recorded
    archived: int = 0  # of those, in the archive
    republished: int = 0  # relay publications of a position already published
    redelivered: int = 0  # broker redeliveries to the consumers' queues
    fault: float = 0.0  # seconds the injection took (kill and restart, stop, outage and start)
    recovery: float | None = None  # seconds from the fault until desks and archive flow again
    silence: float = 0.0  # longest stretch without any answer at any desk
    settle: float = 0.0  # seconds from the last answer until everything caught up
    answered_during: int = 0  # commands answered while the fault lasted (a node down)
    took: float = 0.0  # the whole scenario, seconds
    violations: list[str] = field(default_factory=list)


# ------------------------------------------------------------------ the faults


def kill_circulation_instance(run: Run, desks: Desks) -> GreenThread:
    """kill -9 a circulation instance that is not the relay's leader; a supervisor restarts it."""
    holder = run.system.relay_holder("circulation")
    victim = next(i for i in run.system.of("circulation") if i is not holder)
    run.system.kill(victim)
    return eventlet.spawn(run.system.restart, victim)


def kill_relay_holder(run: Run, desks: Desks) -> GreenThread:
    """kill -9 the circulation instance holding the relay lock; the other must take over."""
    holder = wait_until(
        lambda: run.system.relay_holder("circulation"),
        timeout=30,
        what="a circulation instance to hold the relay lock",
    )
    run.system.kill(holder)
    wait_until(
        lambda: run.system.relay_holder("circulation") not in (None, holder),
        timeout=30,
        what="the other circulation instance to take the relay over",
    )
    return eventlet.spawn(run.system.restart, holder)


def kill_archives(run: Run, desks: Desks) -> GreenThread:
    """kill -9 the archives (the consumer of every source) with messages in flight."""
    (archives,) = run.system.of("archives")
    run.system.kill(archives)
    return eventlet.spawn(run.system.restart, archives)


def restart_rabbitmq(run: Run, desks: Desks) -> None:
    """Stop the broker, leave it down for the outage, start it; every service must reconnect."""
    run.system.servers.stop_rabbit()
    eventlet.sleep(run.size.outage)  # the outage itself: nothing to wait for
    run.system.servers.start_rabbit()
    for service in ("catalog", "circulation", "activities", "archives"):
        run.system.wait_ready(service, timeout=120)


def restart_postgres(run: Run, desks: Desks) -> None:
    """Stop PostgreSQL (fast: every session ended), leave it down for the outage, start it."""
    run.system.servers.stop_postgres()
    eventlet.sleep(run.size.outage)  # the outage itself: nothing to wait for
    run.system.servers.start_postgres()


def poison(run: Run, desks: Desks) -> None:
    """Lend the copy the archives' ``indigestible`` projection cannot digest, once."""
    system = run.system
    command = desks.send(
        Command("lend", system.poison, system.copies[system.poison], system.poison_reader)
    )
    assert command.outcome == "ok", command.answer
    (position,) = system.rows(
        "circulation", "SELECT position FROM events WHERE causation_id = %s", (command.command_id,)
    )[0]
    run.expected.parked.add(("archives", "indigestible", "circulation", position))
    run.expected.dead_letters["archives.from.circulation.dlq"] += 1


def _answered_without(run: Run, desks: Desks, node: str) -> None:
    """Until the desks got another ``DOWN_FOR`` of their commands answered through the
    other nodes, and the archive holds what they recorded: the stream and the consumers
    go on without ``node``."""
    system = run.system
    target = min(run.size.commands, desks.answered + max(1, int(run.size.commands * DOWN_FOR)))
    wait_until(
        lambda: desks.answered >= target,
        timeout=run.size.settle_timeout,
        what=f"the desks to be answered without {node}",
    )
    head = system.head("circulation")
    wait_until(
        lambda: (system.archive_position("circulation") or 0) >= head,
        timeout=run.size.settle_timeout,
        what=f"the archive to follow circulation to #{head} without {node}",
    )


def _cluster_whole(run: Run) -> None:
    """Every node back in the cluster, every quorum queue with all its members, every
    service consuming again."""
    problems: list[str] = []

    def whole() -> bool:
        nonlocal problems
        problems = run.system.servers.whole(VHOST)
        return not problems

    try:
        wait_until(whole, timeout=120, what="the cluster to be whole again")
    except AssertionError as error:
        raise AssertionError(f"{error}: {problems}") from None
    for service in ("catalog", "circulation", "activities", "archives"):
        run.system.wait_ready(service, timeout=120)


def stop_broker_node(run: Run, desks: Desks) -> None:
    """``rabbitmqctl stop_app`` on the first node of everyone's address list: every client
    was connected to it and it leads the quorum queues declared through it. The desks go on
    through the other two; then it starts again and catches up."""
    servers = run.system.servers
    node = servers.nodes[0]
    servers.stop_node(node)
    _answered_without(run, desks, node.node)
    servers.start_node(node)
    _cluster_whole(run)


def kill_broker_node(run: Run, desks: Desks) -> None:
    """kill -9 the node leading circulation's RPC queue (the clients moved to it after the
    previous scenario): its peers and clients learn of it only from the dropped
    connections. The desks go on; then the node starts again and rejoins."""
    servers = run.system.servers
    leader = {q["name"]: q.get("leader") for q in servers.queues(VHOST)}.get("rpc-circulation")
    node = next((n for n in servers.nodes if n.node == leader), servers.nodes[1])
    servers.kill_node(node)
    _answered_without(run, desks, node.node)
    servers.revive_node(node)
    _cluster_whole(run)


@dataclass(frozen=True)
class Scenario:
    name: str
    inject: Callable[[Run, Desks], GreenThread | None]  # returns what heals in the background


SCENARIOS = (
    Scenario("circulation instance killed", kill_circulation_instance),
    Scenario("relay holder killed", kill_relay_holder),
    Scenario("archives killed", kill_archives),
    Scenario("RabbitMQ restarted", restart_rabbitmq),
    Scenario("PostgreSQL restarted", restart_postgres),
    Scenario("poison event", poison),
)

CLUSTER_SCENARIOS = (
    Scenario("RabbitMQ node stopped", stop_broker_node),
    Scenario("RabbitMQ node killed", kill_broker_node),
)
"""On a three-node cluster (``tests.faults.servers.ClusterServers``)."""


# ------------------------------------------------------------------ running one


def run_scenario(run: Run, scenario: Scenario, seed: int) -> Figures:
    system, size = run.system, run.size
    started = time.monotonic()
    system.ensure_running()
    _, out = checks.fold_collection(system)
    desks = Desks(
        system.config,
        {b: c for b, c in system.copies.items() if b != system.poison},
        system.patrons,
        out,
        count=size.desks,
        rpc_timeout=size.rpc_timeout,
        give_up_after=size.settle_timeout,
        seed=seed,
    )
    redelivered_before = checks.redeliveries(system)
    stream = eventlet.spawn(desks.run, size.commands)
    wait_until(
        lambda: desks.answered >= size.commands * FAULT_AT or stream.dead,
        timeout=size.settle_timeout,
        what="the desks to get going",
    )
    head = system.head("circulation")
    fault = time.monotonic()
    archived = eventlet.spawn(_archived_up_to, system, head, size.settle_timeout)
    healing = scenario.inject(run, desks)
    if healing is not None:  # a supervisor restarting a killed process while the desks go on
        healing.wait()
    healed = time.monotonic()
    stream.wait()
    caught_up = archived.wait()
    last_answer = max(c.answered_at or 0 for c in desks.commands)
    silence, answered_again = desks.longest_silence(fault, last_answer)
    settled = _settle(run)
    run.commands.extend(desks.commands)

    figures = Figures(scenario.name)
    for command in desks.commands:
        figures.sent += 1
        figures.succeeded += command.outcome == "ok"
        figures.refused += command.outcome == "refused"
        figures.unanswered += command.outcome == "unanswered"
        figures.retried += command.attempts > 1
    figures.republished = checks.drain_audit(system, run.seen)
    after = checks.redeliveries(system)
    figures.redelivered = after - redelivered_before if after >= redelivered_before else after
    figures.fault = healed - fault
    if caught_up is not None:
        figures.recovery = max(answered_again, caught_up) - fault
    figures.silence = silence
    figures.answered_during = sum(
        1 for c in desks.commands if c.answered_at is not None and fault <= c.answered_at <= healed
    )
    figures.settle = settled - last_answer
    figures.violations, _ = checks.everything(system, run.commands, run.expected, run.seen)
    figures.violations += [
        f"{i.name} died (see its log)"
        for i in system.instances.values()
        if i.wanted and not i.alive
    ]
    _, counts = checks.answered_commands(system, desks.commands)
    figures.stored, figures.archived = counts["stored"], counts["archived"]
    figures.took = time.monotonic() - started
    if caught_up is None:
        figures.violations.append(f"the archive never caught up with circulation's #{head}")
    run.figures.append(figures)
    return figures


def _archived_up_to(system: System, position: int, timeout: float) -> float | None:
    """When the archive first held circulation's events up to ``position`` (None: never)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        archived = system.archive_position("circulation")
        if archived is not None and archived >= position:
            return time.monotonic()
        eventlet.sleep(0.05)
    return None


def _settle(run: Run) -> float:
    """Wait until nothing moves any more: relays, checkpoints, archive and queues caught up."""
    problems: list[str] = []

    def settled() -> bool:
        nonlocal problems
        try:
            problems = checks.progress(run.system, run.expected)
        except Exception as error:  # a server still coming back
            problems = [f"{type(error).__name__}: {error}"]
        return not problems

    try:
        wait_until(settled, timeout=run.size.settle_timeout, what="the system to settle")
    except AssertionError:
        _log.warning("not settled: %s", problems)
    return time.monotonic()


# ------------------------------------------------------------------ reporting

COLUMNS = (
    ("scenario", "scenario", "<28"),
    ("sent", "sent", ">6"),
    ("succeeded", "ok", ">6"),
    ("refused", "refused", ">7"),
    ("retried", "retried", ">7"),
    ("unanswered", "lost", ">4"),
    ("stored", "stored", ">6"),
    ("archived", "archived", ">8"),
    ("republished", "republ.", ">7"),
    ("redelivered", "redeliv.", ">8"),
    ("fault", "fault s", ">7"),
    ("recovery", "recover s", ">9"),
    ("silence", "silence s", ">9"),
    ("settle", "settle s", ">8"),
    ("took", "took s", ">6"),
)


CLUSTER_COLUMNS = COLUMNS[:11] + (("answered_during", "during", ">6"),) + COLUMNS[11:]
"""The cluster's table also says how many commands were answered while the node was down."""


def table(figures: list[Figures], columns: tuple = COLUMNS) -> str:
    """The figures as a Markdown table (docs/faults.md takes it as it is)."""

    def cell(value: object, spec: str) -> str:
        if isinstance(value, float):
            value = f"{value:.1f}"
        return format("-" if value is None else str(value), spec)

    head = "| " + " | ".join(format(title, spec) for _, title, spec in columns) + " |"
    rule = "|" + "|".join("-" * (len(format("", spec)) + 2) for _, _, spec in columns) + "|"
    rows = [
        "| " + " | ".join(cell(getattr(f, key), spec) for key, _, spec in columns) + " |"
        for f in figures
    ]
    return "\n".join([head, rule, *rows])
