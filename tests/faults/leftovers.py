"""What a fault run leaves behind: the servers it started, and nodes orphaned by a checkout
that is gone.

The fault tests start their RabbitMQ nodes (infra/extra_rabbit.sh; the cluster's three
through infra/rabbit_cluster.sh, about 150 MB each) and PostgreSQL clusters
(infra/extra_postgres.sh) when they are not running. ``stop_commands`` says how to
stop those this run started; when the run is done with them ``stop`` runs those
commands (tests/faults/conftest.py, still holding the servers' lock, so that no other
run is using them), and what ran before the run is left alone
(``FAULTS_KEEP_SERVERS=1`` keeps everything running, to save the next run's start).

A node is known by its ``beam.smp`` process's environment (``RABBITMQ_NODENAME``, set
by infra/extra_rabbit.sh), and its files live in the checkout that started it
(``RABBITMQ_MNESIA_BASE`` = ``<checkout>/.run/rabbit/<name>/mnesia``). When that
checkout is removed the node still answers under its name, so the start script
would take it for its own and the run would fail on it: ``replace_orphans`` stops
such a node first, and the script starts a fresh one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from logging import getLogger
from pathlib import Path

from shared.config import REPO_ROOT

_log = getLogger(__name__)

PROC = Path("/proc")
BEAM = "beam.smp"
STOP_TIMEOUT = 30.0
KEEP_ENV = "FAULTS_KEEP_SERVERS"


@dataclass(frozen=True)
class NodeProcess:
    """A running RabbitMQ node's Erlang VM, as its environment describes it."""

    pid: int
    node: str  # e.g. faults@localhost
    mnesia_base: Path | None
    cwd: str  # the kernel's answer; "<path> (deleted)" once the directory is gone

    @property
    def orphaned(self) -> bool:
        """Whether the checkout that started it is gone (its files, or its working directory)."""
        files_gone = self.mnesia_base is not None and not self.mnesia_base.exists()
        return files_gone or self.cwd.endswith(" (deleted)")


def node_processes(proc: Path = PROC) -> dict[str, NodeProcess]:
    """Every RabbitMQ node running on this machine that this user may inspect, by node name."""
    found: dict[str, NodeProcess] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != BEAM:
                continue
            environ = dict(
                item.split("=", 1)
                for item in (entry / "environ").read_text(errors="replace").split("\0")
                if "=" in item
            )
            cwd = os.readlink(entry / "cwd")
        except OSError:  # gone meanwhile, or another user's
            continue
        node = environ.get("RABBITMQ_NODENAME")
        if node:
            base = environ.get("RABBITMQ_MNESIA_BASE")
            found[node] = NodeProcess(int(entry.name), node, Path(base) if base else None, cwd)
    return found


def replace_orphans(names: Iterable[str], proc: Path = PROC) -> list[str]:
    """Stop each of the nodes ``names`` (``faults``, ``cluster1``...) that runs from a
    checkout that is gone; the nodes stopped."""
    running = node_processes(proc)
    stopped = []
    for name in names:
        process = running.get(f"{name}@localhost")
        if process is not None and process.orphaned:
            _log.warning(
                "%s runs from %s, which is gone (its checkout was removed): stopping it",
                process.node,
                process.mnesia_base or process.cwd,
            )
            stop_process(process.pid)
            stopped.append(process.node)
    return stopped


def stop_process(pid: int, timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM (a node shuts down cleanly on it), then SIGKILL if it is still there."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not _alive(pid):
                return
            time.sleep(0.1)  # another session's process: no event to wait on


def _alive(pid: int) -> bool:
    try:
        state = (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")  # a zombie has exited; its parent reaps it


def running_pg_clusters() -> set[str]:
    """The PostgreSQL clusters (Debian's) online now, by name."""
    result = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True)
    online = set()
    for line in result.stdout.splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[3] == "online":
            online.add(fields[1])
    return online


def running_before(node_names: Iterable[str], pg_cluster: str) -> set[str]:
    """Which of these nodes and the PostgreSQL cluster run now (orphans replaced first)."""
    names = list(node_names)
    replace_orphans(names)
    nodes = node_processes()
    running = {name for name in names if f"{name}@localhost" in nodes}
    if pg_cluster in running_pg_clusters():
        running.add(f"postgres:{pg_cluster}")
    return running


def stop_commands(
    nodes: Iterable[tuple[str, int]], pg_cluster: str, pg_port: int, before: set[str]
) -> list[list[str]]:
    """How to stop each server that was not running ``before`` this start."""
    commands = [
        ["bash", "infra/extra_rabbit.sh", "stop", name, str(port)]
        for name, port in nodes
        if name not in before
    ]
    if f"postgres:{pg_cluster}" not in before:
        commands.append(["bash", "infra/extra_postgres.sh", "stop", pg_cluster, str(pg_port)])
    return commands


def stop(commands: list[list[str]]) -> None:
    """Run the stop commands side by side, unless ``FAULTS_KEEP_SERVERS=1``. A stop that
    fails is logged: the run's result stands."""
    if os.environ.get(KEEP_ENV) == "1":
        return
    stops = [
        subprocess.Popen(
            command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for command in commands
    ]
    for process in stops:
        output, _ = process.communicate()
        if process.returncode != 0:
            _log.warning("%s failed: %s", " ".join(process.args), output.strip())
