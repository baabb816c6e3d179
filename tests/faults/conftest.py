"""One fault run per pytest session: the servers, the system, the figures at the end."""

import os

import pytest

from tests.faults.scenarios import SIZES, Run, table
from tests.faults.servers import Servers, exclusive_run
from tests.faults.system import System

FIGURES: list = []


@pytest.fixture(scope="session")
def fault_run():
    """The fault servers (started if needed, left running) and the system on them."""
    size = SIZES[os.environ.get("FAULTS_SIZE", "small")]
    with exclusive_run():
        servers = Servers()
        servers.start()
        system = System(servers)
        try:
            system.start(size.copies, size.patrons)
            run = Run(system, size, figures=FIGURES)
            yield run
        finally:
            system.stop()


def pytest_terminal_summary(terminalreporter):
    if FIGURES:
        terminalreporter.section("fault scenarios")
        terminalreporter.write_line(table(FIGURES))
