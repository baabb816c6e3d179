"""The fault tests' own servers: started by the infra scripts, restarted at will.

One RabbitMQ node (``faults@localhost``) and one PostgreSQL cluster (``15/faults``)
that nobody else uses, so the scenarios may stop them. A lock file keeps two
fault runs on one machine from restarting each other's servers.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import time
from contextlib import ExitStack, contextmanager
from logging import getLogger
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from shared.config import REPO_ROOT, SERVICES
from shared.migrate import migrate
from shared.scratch import empty_database

_log = getLogger(__name__)

RABBIT_NODE = os.environ.get("FAULTS_RABBIT_NODE", "faults")
RABBIT_PORT = int(os.environ.get("FAULTS_RABBIT_PORT", "5682"))
PG_CLUSTER = os.environ.get("FAULTS_PG_CLUSTER", "faults")
PG_PORT = int(os.environ.get("FAULTS_PG_PORT", "5442"))
USER = os.environ.get("LIBRARY_AMQP_USER", "library")
PASSWORD = os.environ.get("LIBRARY_AMQP_PASSWORD", "library")
DB_PASSWORD = os.environ.get("LIBRARY_DB_PASSWORD", "library")
RUN_DIR = REPO_ROOT / ".run" / "faults"
LOCK_DIR = Path("/tmp")  # machine-wide, as the servers are
LOCK_TIMEOUT = float(os.environ.get("FAULTS_LOCK_TIMEOUT", "600"))
HTTP_TIMEOUT = 5


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
def exclusive_run(timeout: float = LOCK_TIMEOUT) -> Any:
    """Hold the machine-wide locks of both servers (another run on them waits, then fails)."""
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    with ExitStack() as held:
        for name in (f"rabbit-{RABBIT_NODE}", f"postgres-{PG_CLUSTER}"):
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


class Servers:
    """Addresses and control of the fault tests' RabbitMQ node and PostgreSQL cluster."""

    node = f"{RABBIT_NODE}@localhost"
    management = f"http://127.0.0.1:{RABBIT_PORT + 10000}"

    def start(self) -> None:
        """Start both (the scripts are idempotent: a running server costs a second)."""
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

    # ------------------------------------------------------------ addresses

    def amqp_uri(self, vhost: str) -> str:
        return f"amqp://{USER}:{PASSWORD}@127.0.0.1:{RABBIT_PORT}/{quote(vhost, safe='')}"

    def management_uri(self) -> str:
        return f"http://{USER}:{PASSWORD}@127.0.0.1:{RABBIT_PORT + 10000}/"

    def dsn(self, service: str, application_name: str | None = None) -> str:
        dsn = f"postgresql://library:{DB_PASSWORD}@127.0.0.1:{PG_PORT}/library_{service}"
        return f"{dsn}?application_name={application_name}" if application_name else dsn

    # ------------------------------------------------------------ fresh state

    def fresh_vhost(self, vhost: str) -> None:
        """Delete ``vhost`` with everything in it and create it again, ours to use."""
        api, auth, name = self.management, (USER, PASSWORD), quote(vhost, safe="")
        requests.delete(f"{api}/api/vhosts/{name}", auth=auth, timeout=HTTP_TIMEOUT)
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
            f"{self.management}/api/queues/{quote(vhost, safe='')}",
            params={
                "columns": "name,messages,messages_unacknowledged,consumers,message_stats,arguments"
            },
            auth=(USER, PASSWORD),
            timeout=HTTP_TIMEOUT,
        )
        response.raise_for_status()
        return response.json()

    def consumers(self, vhost: str) -> dict[str, int]:
        """How many consumers each queue of ``vhost`` has."""
        return {queue["name"]: queue.get("consumers", 0) for queue in self.queues(vhost)}

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


def log_dir() -> Path:
    path = RUN_DIR / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path
