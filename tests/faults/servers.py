"""The fault tests' own servers: started by the infra scripts, restarted at will.

One RabbitMQ node (``faults@localhost``) and one PostgreSQL cluster (``15/faults``)
that nobody else uses, so the scenarios may stop them. A lock file keeps two
fault runs on one machine from restarting each other's servers.

``ClusterServers``: the same with a three-node RabbitMQ cluster instead
(``infra/rabbit_cluster.sh``) and a PostgreSQL cluster of its own
(``15/faults_cluster``), for the scenarios that stop and kill broker nodes.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import time
from collections.abc import Iterable
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from logging import getLogger
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from shared.config import REPO_ROOT, SERVICES
from shared.storage.migrate import migrate
from shared.storage.scratch_databases import empty_database
from tests.faults import leftovers

_log = getLogger(__name__)

RABBIT_NODE = os.environ.get("FAULTS_RABBIT_NODE", "faults")
RABBIT_PORT = int(os.environ.get("FAULTS_RABBIT_PORT", "5682"))
PG_CLUSTER = os.environ.get("FAULTS_PG_CLUSTER", "faults")
PG_PORT = int(os.environ.get("FAULTS_PG_PORT", "5442"))
USER = os.environ.get("LIBRARY_AMQP_USER", "library")
PASSWORD = os.environ.get("LIBRARY_AMQP_PASSWORD", "library")
DB_PASSWORD = os.environ.get("LIBRARY_DB_PASSWORD", "library")
RUN_DIR = REPO_ROOT / ".run" / "faults"
CLUSTER_PREFIX = os.environ.get("RABBIT_CLUSTER_NAME", "cluster")
CLUSTER_PORTS = [int(p) for p in os.environ.get("RABBIT_CLUSTER_PORTS", "5701 5702 5703").split()]
CLUSTER_PG_CLUSTER = os.environ.get("FAULTS_CLUSTER_PG_CLUSTER", "faults_cluster")
CLUSTER_PG_PORT = int(os.environ.get("FAULTS_CLUSTER_PG_PORT", "5443"))
CLUSTER_RUN_DIR = REPO_ROOT / ".run" / "faults-cluster"
LOCK_DIR = Path("/tmp")  # machine-wide, as the servers are
LOCK_TIMEOUT = float(os.environ.get("FAULTS_LOCK_TIMEOUT", "600"))
HTTP_TIMEOUT = 5
# Deleting a vhost deletes its queues; a cluster's quorum queues took 15 s once.
VHOST_DELETE_TIMEOUT = 60


class ServerError(RuntimeError):
    """Raised when a server script or control command fails."""


def pg_version() -> str:
    return sorted(os.listdir("/usr/lib/postgresql"), key=lambda v: [int(p) for p in v.split(".")])[
        -1
    ]


def _run(*command: str) -> str:
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        raise ServerError(f"{' '.join(command)} failed ({result.returncode}): {result.stderr}")
    return result.stdout


@contextmanager
def exclusive_run(timeout: float = LOCK_TIMEOUT, names: Iterable[str] | None = None) -> Any:
    """Hold the machine-wide locks of both servers (another run on them waits, then fails).

    ``names``: the locks of other servers (``ClusterServers.locks``); the fault node's
    and cluster's by default.
    """
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    with ExitStack() as held:
        for name in names or (f"rabbit-{RABBIT_NODE}", f"postgres-{PG_CLUSTER}"):
            handle = held.enter_context(open(LOCK_DIR / f"library-faults-{name}.lock", "w"))
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise ServerError(f"another fault run holds {handle.name}") from None
                    time.sleep(1.0)  # another run's servers: nothing to wait on but the lock
        yield


@dataclass(frozen=True)
class Node:
    """One RabbitMQ node on this machine, as infra/extra_rabbit.sh runs it."""

    name: str
    port: int

    @property
    def node(self) -> str:
        return f"{self.name}@localhost"

    @property
    def management(self) -> str:
        return f"http://127.0.0.1:{self.port + 10000}"

    def amqp_uri(self, vhost: str) -> str:
        return f"amqp://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{quote(vhost, safe='')}"


class Servers:
    """Addresses and control of the fault tests' RabbitMQ node and PostgreSQL cluster."""

    node = f"{RABBIT_NODE}@localhost"
    management = f"http://127.0.0.1:{RABBIT_PORT + 10000}"
    nodes = [Node(RABBIT_NODE, RABBIT_PORT)]
    pg_cluster = PG_CLUSTER
    pg_port = PG_PORT
    run_dir = RUN_DIR
    locks = (f"rabbit-{RABBIT_NODE}", f"postgres-{PG_CLUSTER}")
    # How to stop the servers ``start`` started (those already running are not in it).
    started: list[list[str]] = []

    def api(self) -> str:
        """The management API to ask."""
        return self.management

    def start(self) -> None:
        """Start both (the scripts are idempotent: a running server costs a second); a node
        left by a removed checkout is replaced, and how to stop what this start starts is
        noted for ``stop_started`` (``tests.faults.leftovers``)."""
        before = leftovers.running_before([RABBIT_NODE], self.pg_cluster)
        self.started = leftovers.stop_commands(
            [(RABBIT_NODE, RABBIT_PORT)], PG_CLUSTER, PG_PORT, before
        )
        scripts = [
            subprocess.Popen(
                ["bash", "infra/extra_rabbit.sh", "start", RABBIT_NODE, str(RABBIT_PORT)],
                cwd=REPO_ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            ),
            subprocess.Popen(
                ["bash", "infra/extra_postgres.sh", "start", PG_CLUSTER, str(PG_PORT)],
                cwd=REPO_ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            ),
        ]
        for script in scripts:
            output, _ = script.communicate()
            if script.returncode != 0:
                raise ServerError(f"{' '.join(script.args)} failed:\n{output}")

    def stop_started(self) -> None:
        """Stop the servers ``start`` started, leaving those that ran before it."""
        leftovers.stop(self.started)
        self.started = []

    # ------------------------------------------------------------ addresses

    def amqp_uri(self, vhost: str) -> str:
        return f"amqp://{USER}:{PASSWORD}@127.0.0.1:{RABBIT_PORT}/{quote(vhost, safe='')}"

    def management_uri(self) -> str:
        return f"http://{USER}:{PASSWORD}@127.0.0.1:{RABBIT_PORT + 10000}/"

    def dsn(self, service: str, application_name: str | None = None) -> str:
        dsn = f"postgresql://library:{DB_PASSWORD}@127.0.0.1:{self.pg_port}/library_{service}"
        return f"{dsn}?application_name={application_name}" if application_name else dsn

    # ------------------------------------------------------------ fresh state

    def fresh_vhost(self, vhost: str) -> None:
        """Delete ``vhost`` with everything in it and create it again, ours to use."""
        api, auth, name = self.api(), (USER, PASSWORD), quote(vhost, safe="")
        requests.delete(f"{api}/api/vhosts/{name}", auth=auth, timeout=VHOST_DELETE_TIMEOUT)
        requests.put(f"{api}/api/vhosts/{name}", auth=auth, timeout=HTTP_TIMEOUT).raise_for_status()
        requests.put(
            f"{api}/api/permissions/{name}/{quote(USER, safe='')}",
            auth=auth,
            timeout=HTTP_TIMEOUT,
            json={"configure": ".*", "write": ".*", "read": ".*"},
        ).raise_for_status()

    def fresh_databases(self) -> dict[str, str]:
        """Migrate the four databases and empty them; return their DSNs."""
        dsns = {service: self.dsn(service) for service in SERVICES}
        for service, dsn in dsns.items():
            migrate(dsn, service)
            empty_database(dsn)
        return dsns

    # ------------------------------------------------------------ broker state

    def queues(self, vhost: str) -> list[dict[str, Any]]:
        """Every queue of ``vhost`` with its depth, unacked count and consumers."""
        response = requests.get(
            f"{self.api()}/api/queues/{quote(vhost, safe='')}",
            params={
                "columns": "name,type,durable,messages,messages_unacknowledged,consumers,"
                "message_stats,arguments,members,online,leader"
            },
            auth=(USER, PASSWORD),
            timeout=HTTP_TIMEOUT,
        )
        response.raise_for_status()
        return response.json()

    def consumers(self, vhost: str) -> dict[str, int]:
        """How many consumers each queue of ``vhost`` has."""
        return {queue["name"]: queue.get("consumers", 0) for queue in self.queues(vhost)}

    def whole(self, vhost: str) -> list[str]:
        """What keeps the broker from being whole (a cluster's nodes); one node always is."""
        return []

    # ------------------------------------------------------------ faults

    def stop_rabbit(self) -> None:
        """Stop the broker application (the Erlang node stays up, its clients are cut off)."""
        _run("rabbitmqctl", "-q", "-n", self.node, "stop_app")

    def start_rabbit(self) -> None:
        _run("rabbitmqctl", "-q", "-n", self.node, "start_app")  # returns once it runs

    def stop_postgres(self) -> None:
        """A fast shutdown: every session is ended at once, committed data is kept."""
        _run("pg_ctlcluster", pg_version(), PG_CLUSTER, "stop")

    def start_postgres(self) -> None:
        _run("pg_ctlcluster", pg_version(), PG_CLUSTER, "start")

    def log_dir(self) -> Path:
        path = self.run_dir / "logs"
        path.mkdir(parents=True, exist_ok=True)
        return path


class ClusterServers(Servers):
    """A three-node RabbitMQ cluster (infra/rabbit_cluster.sh) and a PostgreSQL cluster.

    Every client gets every node's address (``;``-separated) and fails over; the
    management API is asked through the first node that answers.
    """

    nodes = [Node(f"{CLUSTER_PREFIX}{n + 1}", port) for n, port in enumerate(CLUSTER_PORTS)]
    node = nodes[0].node
    management = nodes[0].management
    pg_cluster = CLUSTER_PG_CLUSTER
    pg_port = CLUSTER_PG_PORT
    run_dir = CLUSTER_RUN_DIR
    locks = (f"rabbit-{CLUSTER_PREFIX}", f"postgres-{CLUSTER_PG_CLUSTER}")

    def __init__(self) -> None:
        self._api = self.nodes[0].management

    def start(self) -> None:
        """Start (and join) the cluster and the PostgreSQL cluster; both scripts are idempotent.
        As ``Servers.start``: orphaned nodes replaced, what it started noted."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        before = leftovers.running_before([node.name for node in self.nodes], self.pg_cluster)
        nodes = [(node.name, node.port) for node in self.nodes]
        self.started = leftovers.stop_commands(nodes, self.pg_cluster, self.pg_port, before)
        env = {
            **os.environ,
            "RABBIT_CLUSTER_NAME": CLUSTER_PREFIX,
            "RABBIT_CLUSTER_PORTS": " ".join(str(node.port) for node in self.nodes),
        }
        commands = [
            ["bash", "infra/rabbit_cluster.sh", "start"],
            ["bash", "infra/extra_postgres.sh", "start", self.pg_cluster, str(self.pg_port)],
        ]
        # Output to files: a node started here must not hold a pipe of ours open.
        running = []
        for index, command in enumerate(commands):
            output = open(self.run_dir / f"start-{index}.log", "w+")
            running.append(
                (
                    subprocess.Popen(
                        command, cwd=REPO_ROOT, stdout=output, stderr=subprocess.STDOUT, env=env
                    ),
                    output,
                )
            )
        for process, output in running:
            process.wait()
            output.seek(0)
            text = output.read()
            output.close()
            if process.returncode != 0:
                raise ServerError(f"{' '.join(process.args)} failed:\n{text}")

    def amqp_uri(self, vhost: str) -> str:
        return ";".join(node.amqp_uri(vhost) for node in self.nodes)

    def management_uri(self) -> str:
        return ";".join(
            f"http://{USER}:{PASSWORD}@127.0.0.1:{node.port + 10000}/" for node in self.nodes
        )

    def api(self) -> str:
        """The management API of the first node that answers (the last one that did, first)."""
        candidates = [self._api] + [n.management for n in self.nodes if n.management != self._api]
        for api in candidates:
            try:
                requests.get(f"{api}/api/overview", auth=(USER, PASSWORD), timeout=HTTP_TIMEOUT)
            except requests.RequestException:
                continue
            self._api = api
            return api
        raise ServerError("no node of the cluster answers on its management API")

    # ------------------------------------------------------------ node faults

    def running_nodes(self) -> list[str]:
        """The nodes the cluster sees running (through a node that answers)."""
        response = requests.get(
            f"{self.api()}/api/nodes",
            params={"columns": "name,running"},
            auth=(USER, PASSWORD),
            timeout=HTTP_TIMEOUT,
        )
        response.raise_for_status()
        return sorted(node["name"] for node in response.json() if node.get("running"))

    def stop_node(self, node: Node) -> None:
        """``rabbitmqctl stop_app``: the broker on that node stops, its clients are cut off."""
        _run("rabbitmqctl", "-q", "-n", node.node, "stop_app")

    def start_node(self, node: Node) -> None:
        _run("rabbitmqctl", "-q", "-n", node.node, "start_app")  # returns once it runs

    def kill_node(self, node: Node) -> None:
        """kill -9 the node's Erlang VM: no goodbye to its clients or its peers."""
        # Asked of the node itself: a node another checkout started has its pid
        # file there, not under this checkout's .run.
        pid = int(_run("rabbitmqctl", "-q", "-n", node.node, "eval", "os:getpid().").strip('"\n '))
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while _alive(pid):
            if time.monotonic() > deadline:
                raise ServerError(f"{node.node} (pid {pid}) survived kill -9")
            time.sleep(0.05)

    def revive_node(self, node: Node) -> None:
        """Start a killed node again; it rejoins the cluster on its own."""
        _run("bash", "infra/extra_rabbit.sh", "start", node.name, str(node.port))

    def whole(self, vhost: str) -> list[str]:
        """What keeps the cluster from being whole: nodes not running, quorum queues
        without every member online. Empty when whole."""
        problems = []
        running = self.running_nodes()
        if len(running) != len(self.nodes):
            problems.append(f"running nodes: {running}")
        for queue in self.queues(vhost):
            if queue.get("type") == "quorum":
                online, members = queue.get("online") or [], queue.get("members") or []
                if len(online) != len(self.nodes) or len(members) != len(self.nodes):
                    problems.append(f"{queue['name']}: members {members}, online {online}")
        return problems


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie, dead but not reaped yet, does not)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
