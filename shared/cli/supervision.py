"""What supervisord runs on this host: each program's state, asked over its unix socket.

``infra/services.sh`` starts one supervisord per run directory (``.run``, or
``LIBRARY_RUN_DIR``) with one program per service instance, named by its spec
(``circulation``, ``circulation@2``). The console reads the states through
supervisord's own XML-RPC client rather than parsing ``supervisorctl``'s table.
"""

from __future__ import annotations

import os
import xmlrpc.client
from pathlib import Path
from typing import Any

from supervisor.xmlrpc import SupervisorTransport

from shared.config import REPO_ROOT

SOCKET_NAME = Path("supervisor") / "supervisor.sock"
ALIVE = ("STARTING", "RUNNING")
"""States of an instance that is up or coming up (not BACKOFF, FATAL, STOPPED, EXITED)."""


def run_dir() -> Path:
    """The run directory ``infra/services.sh`` uses (relative paths from the checkout)."""
    return REPO_ROOT / os.environ.get("LIBRARY_RUN_DIR", ".run")


def states(directory: Path | None = None) -> dict[str, str]:
    """Program name -> supervisord's state name; empty when no supervisord runs there."""
    return {name: process["statename"] for name, process in processes(directory).items()}


def processes(directory: Path | None = None) -> dict[str, dict[str, Any]]:
    """Program name -> supervisord's process info (``statename``, ``pid``, ``start``...)."""
    socket = (directory or run_dir()) / SOCKET_NAME
    if not socket.is_socket():
        return {}
    transport = SupervisorTransport(None, None, f"unix://{socket}")
    proxy = xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)
    try:
        found = proxy.supervisor.getAllProcessInfo()
    except (OSError, xmlrpc.client.Error):
        return {}  # a socket left by a supervisord that is gone
    return {process["name"]: process for process in found}
