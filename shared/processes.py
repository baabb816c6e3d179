"""Whether a process still runs: for files named after the process that wrote them
(scratch databases, Prometheus targets) that a process killed with -9 leaves behind."""

from __future__ import annotations

import os


def alive(pid: int) -> bool:
    """The process ``pid`` exists (one of another user's counts: it cannot be signalled)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
