"""Supervision: every service killed with -9 in turn while desks lend and return.

The services run as ``make demo`` runs them: ``infra/services.sh start`` with its
own supervisord (this test's run directory, vhost and databases). Nobody restarts
anything by hand: supervisord sees each death and starts the instance again. Each
one must answer again (its health RPC; the gateway over HTTP too) within
``BACK_WITHIN`` seconds of its kill, and afterwards the fault suite's invariants
hold (tests/faults/checks.py): every answered command stored once, archived
once, every event published and consumed, no copy lent twice at once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import eventlet
import pytest
import requests
from nameko.standalone.rpc import ServiceRpcProxy

from shared.cli import supervision
from shared.config import REPO_ROOT, SERVICES
from shared.runtime.permissions import apply, vhost_of
from shared.runtime.topology import declare_all
from tests.faults import checks
from tests.faults.desks import Desks
from tests.faults.poisoned import Indigestible
from tests.faults.system import System, declare_audit_queues
from tests.helpers import free_port, wait_until

SPECS = ("catalog", "circulation", "activities", "archives", "accounts", "gateway", "sip2")
BACK_WITHIN = 10.0  # seconds from kill -9 to answering again (issue 18)
DESKS = 3
COPIES, PATRONS = 30, 12
PROBE_TIMEOUT = 2.0
SETTLE_TIMEOUT = 30.0


@dataclass
class Supervised:
    """The services under this test's supervisord, and the system view the checks read."""

    env: dict[str, str]
    run_dir: Path
    web_url: str
    system: System

    def services_sh(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["bash", "infra/services.sh", *args],
            cwd=REPO_ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=240,
        )

    def library(self, *args: str) -> tuple[int, str, dict[str, dict[str, Any]]]:
        """The operator console's answer, and supervisord's programs right after it."""
        done = subprocess.run(
            [str(REPO_ROOT / ".venv" / "bin" / "library"), *args],
            cwd=REPO_ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=240,
        )
        return done.returncode, done.stdout + done.stderr, supervision.processes(self.run_dir)

    def pid(self, spec: str) -> int:
        """The pid supervisord runs ``spec`` as (0 while it is not running)."""
        process = supervision.processes(self.run_dir).get(spec, {})
        return process.get("pid", 0) if process.get("statename") in supervision.ALIVE else 0

    def children(self) -> list[str]:
        """The program name of every process started by a supervisord of this run dir."""
        socket = f"SUPERVISOR_SERVER_URL=unix://{self.run_dir.resolve()}/{supervision.SOCKET_NAME}"
        found = []
        for environ in Path("/proc").glob("[0-9]*/environ"):
            try:
                variables = environ.read_bytes().decode(errors="replace").split("\0")
            except OSError:
                continue  # gone meanwhile, or not ours to read
            if socket in variables:
                names = [v for v in variables if v.startswith("SUPERVISOR_PROCESS_NAME=")]
                found.append(names[0].partition("=")[2] if names else "?")
        return found

    def answering(self, spec: str) -> bool:
        """Its health RPC answers (the gateway's HTTP port too)."""
        try:
            with ServiceRpcProxy(spec, self.system.config, timeout=PROBE_TIMEOUT) as proxy:
                proxy.health()
            if spec == "gateway":
                requests.get(f"{self.web_url}/", timeout=PROBE_TIMEOUT)
        except Exception:  # not back yet: no consumer, refused connection, timeout
            return False
        return True


class QueuesOfThisVhost:
    """What tests/faults/checks.py asks of its servers, on this test's vhost."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.api = config["RABBIT_MANAGEMENT_URI"].rstrip("/")
        self.vhost = vhost_of(config["AMQP_URI"])

    def queues(self, _vhost: str) -> list[dict[str, Any]]:
        response = requests.get(f"{self.api}/api/queues/{self.vhost}", timeout=10)
        response.raise_for_status()
        return response.json()


def progress(system: System, expected: checks.Expected) -> list[str]:
    """What still moves (checks.progress), but for the fault suite's poisoned projection:
    these archives are the real ones, without it."""
    return [p for p in checks.progress(system, expected) if f"'s {Indigestible.name} " not in p]


@pytest.fixture
def supervised(config, tmp_path):
    """Every service started by infra/services.sh under its own supervisord; stopped after."""
    apply(config["RABBIT_MANAGEMENT_URI"], vhost_of(config["AMQP_URI"]), config["RABBIT_USERS"])
    declare_all(config["AMQP_URI"])
    declare_audit_queues(config["AMQP_URI"])
    web = f"127.0.0.1:{free_port()}"
    env = {
        **os.environ,
        "AMQP_URI": config["AMQP_URI"],  # the administrator's: each service gets its own user
        "RABBIT_MANAGEMENT_URI": config["RABBIT_MANAGEMENT_URI"],
        **{f"{service.upper()}_DSN": dsn for service, dsn in config["DATABASES"].items()},
        "LIBRARY_RUN_DIR": str(tmp_path),
        "RELAY_POLL_INTERVAL": "0.2",
        "WEB_SERVER_ADDRESS": web,
        "SIP2_PORT": str(free_port()),
        "METRICS_PORT": "0",  # an ephemeral port: never the demo's
        "NOTICES_RELEASE_ON_TIMER": "false",
        "PYTHONWARNINGS": "ignore",
    }
    system = System(servers=QueuesOfThisVhost(config), config=config)
    system.dsns = dict(config["DATABASES"])
    running = Supervised(env, tmp_path, f"http://{web}", system)
    started = running.services_sh("start")
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        system.seed(COPIES, PATRONS)
        yield running
    finally:
        stopped = running.services_sh("stop")
        system.stop()  # its database connections (it started no process itself)
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr


def kill_each_in_turn(supervised: Supervised, desks: Desks) -> dict[str, float]:
    """kill -9 every service once, each after the desks got answers again; seconds from
    each kill until supervisord's new process answers."""
    back: dict[str, float] = {}
    for spec in SPECS:
        before = supervised.pid(spec)
        assert before, f"{spec} is not running under supervisord"
        answered = desks.answered
        os.kill(before, signal.SIGKILL)
        killed = time.monotonic()
        wait_until(
            lambda spec=spec, before=before: (
                supervised.pid(spec) not in (0, before) and supervised.answering(spec)
            ),
            timeout=60,
            what=f"{spec} to be restarted and answer",
        )
        back[spec] = time.monotonic() - killed
        wait_until(lambda answered=answered: desks.answered > answered + DESKS, timeout=60)
    return back


def restart_after_supervisord_killed(supervised: Supervised) -> subprocess.CompletedProcess:
    """Kill supervisord with -9, then ``infra/services.sh start`` again."""
    pid_file = supervised.run_dir / "supervisor" / "supervisord.pid"
    os.kill(int(pid_file.read_text()), signal.SIGKILL)
    wait_until(lambda: supervision.processes(supervised.run_dir) == {}, timeout=10)
    return supervised.services_sh("start")


def environ_of(pid: int | None) -> list[bytes]:
    try:
        return Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return []


def violations(system: System, desks: Desks) -> tuple[list[str], dict[str, int]]:
    """Once settled, the fault suite's invariants (tests/faults/checks.py)."""
    expected = checks.Expected()
    still: list[str] = []

    def settled() -> bool:
        still[:] = progress(system, expected)
        return not still

    try:
        wait_until(settled, timeout=SETTLE_TIMEOUT, what="the system to settle")
    except AssertionError:
        pytest.fail(f"not settled after {SETTLE_TIMEOUT}s: {still}")
    seen: dict[str, Counter] = defaultdict(Counter)
    checks.drain_audit(system, seen)
    problems, counts = checks.answered_commands(system, desks.commands)
    problems += checks.lent_once_at_a_time(system)
    problems += checks.ledgers(system)
    problems += progress(system, expected)
    problems += checks.parked(system, expected)
    problems += checks.relays_lost_nothing(system, seen)
    return problems, counts


def test_each_service_killed_is_restarted_by_supervisord_and_nothing_is_lost(supervised):
    system = supervised.system
    desks = Desks(
        system.config,
        {b: c for b, c in system.copies.items() if b != system.poison},
        system.patrons,
        (),
        count=DESKS,
        rpc_timeout=5,
        give_up_after=60,
        seed=18,
    )
    stream = eventlet.spawn(desks.run, 1_000_000)  # until told to stop
    wait_until(lambda: desks.answered >= 10, timeout=30, what="the desks to get going")
    back = kill_each_in_turn(supervised, desks)
    code, said, programs = supervised.library("scale", "circulation", "2")
    second = programs.get("circulation@2", {})
    environ = environ_of(second.get("pid"))
    code_down, said_down, programs_down = supervised.library("scale", "circulation", "1")
    desks.stop()
    stream.wait()
    before = {spec: supervised.pid(spec) for spec in SPECS}
    restarted = restart_after_supervisord_killed(supervised)

    problems, counts = violations(system, desks)
    outcomes = Counter(command.outcome for command in desks.commands)
    retried = sum(command.attempts > 1 for command in desks.commands)
    print(
        "\nback after kill -9 (s): "
        + ", ".join(f"{spec} {seconds:.1f}" for spec, seconds in back.items())
        + f"; commands: {dict(outcomes)}, {retried} sent again, {counts}"
    )
    assert problems == []
    assert outcomes["unanswered"] == 0 and outcomes["ok"] > 0, outcomes
    assert counts["stored"] == counts["archived"] > 0
    assert {spec: seconds for spec, seconds in back.items() if seconds > BACK_WITHIN} == {}
    assert set(back) == set(SPECS) >= set(SERVICES)

    # `library scale` adds a supervised program, LIBRARY_INSTANCE=2, and removes it again.
    assert code == 0 and "circulation: 2 instance(s) running" in said, said
    assert second.get("statename") in supervision.ALIVE, programs
    assert b"LIBRARY_INSTANCE=2" in environ
    assert code_down == 0 and "circulation: 1 instance(s) running" in said_down, said_down
    assert "circulation@2" not in programs_down and "circulation" in programs_down

    # supervisord itself killed with -9: its services live on, unsupervised; the next
    # start stops them before its own supervisord starts one of each again.
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    assert "left running by a supervisord that is gone" in restarted.stdout, restarted.stdout
    assert not [pid for pid in before.values() if Path(f"/proc/{pid}").exists()], before
    assert sorted(supervised.children()) == sorted(SPECS)  # one of each, all supervised
