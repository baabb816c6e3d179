"""One fault run per pytest session: the servers, the system, the figures at the end.

The cluster's run (``cluster_run``) has servers of its own, so both can be in one session.
Each stops the servers it started, and only those, when done with them, still holding
their lock (``tests.faults.leftovers``; ``FAULTS_KEEP_SERVERS=1`` keeps them running).
"""

import os

import pytest

from tests.faults.scenarios import CLUSTER_COLUMNS, SIZES, Run, table
from tests.faults.servers import ClusterServers, Servers, exclusive_run
from tests.faults.system import System

FIGURES: list = []
CLUSTER_FIGURES: list = []


@pytest.fixture(scope="session")
def fault_run():
    """The fault servers (started if needed, stopped at the end if this run started them)
    and the system on them."""
    size = SIZES[os.environ.get("FAULTS_SIZE", "small")]
    with exclusive_run():
        servers = Servers()
        system = System(servers)
        try:
            servers.start()
            system.start(size.copies, size.patrons)
            run = Run(system, size, figures=FIGURES)
            yield run
        finally:
            system.stop()
            servers.stop_started()


@pytest.fixture(scope="module")
def cluster_run():
    """A three-node RabbitMQ cluster and a PostgreSQL cluster (started if needed, stopped
    at the end if this run started them) and the system on them, for one module: its
    processes are gone before the next module's start."""
    size = SIZES[os.environ.get("FAULTS_SIZE", "small")]
    servers = ClusterServers()
    with exclusive_run(names=servers.locks):
        system = System(servers)
        try:
            servers.start()
            system.start(size.copies, size.patrons)
            yield Run(system, size, figures=CLUSTER_FIGURES)
        finally:
            system.stop()
            servers.stop_started()


def pytest_terminal_summary(terminalreporter):
    if FIGURES:
        terminalreporter.section("fault scenarios")
        terminalreporter.write_line(table(FIGURES))
    if CLUSTER_FIGURES:
        terminalreporter.section("fault scenarios on a RabbitMQ cluster")
        terminalreporter.write_line(table(CLUSTER_FIGURES, CLUSTER_COLUMNS))
