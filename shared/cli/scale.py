"""``library scale circulation N``: run N instances of a service on this machine.

Instances are the ones ``infra/services.sh`` runs: ``circulation``,
``circulation@2``, ``circulation@3``... (pid files in ``.run/pids``). Scaling up
starts the missing ones (the script waits until they answer); scaling down
stops the highest-numbered first. Instances share the service's RPC queue, so
RabbitMQ spreads the desks' commands over them; correctness comes from the
event store's optimistic concurrency, not from running one.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from shared.cli.errors import CommandFailed, UsageError
from shared.config import REPO_ROOT, SERVICES

SERVICES_SCRIPT = REPO_ROOT / "infra" / "services.sh"
PID_DIR = REPO_ROOT / ".run" / "pids"
MAX_INSTANCES = 16
CONSUMERS_TIMEOUT = 15.0  # RabbitMQ's statistics are refreshed every 5 s


def instance_specs(service: str, count: int) -> list[str]:
    """The specs of ``count`` instances: ``service``, ``service@2`` ... ``service@count``."""
    return [service] + [f"{service}@{number}" for number in range(2, count + 1)]


def instance_number(spec: str) -> int:
    _, _, suffix = spec.partition("@")
    return int(suffix) if suffix.isdigit() else (1 if not suffix else 10_000)


def _alive(pid_file: Path) -> bool:
    """The pid file names a live nameko process (as infra/services.sh decides it)."""
    try:
        pid = int("".join(ch for ch in pid_file.read_text() if ch.isdigit()))
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return False
    return b"nameko" in cmdline


def running(service: str, pid_dir: Path = PID_DIR) -> list[str]:
    """Instances of ``service`` that are running now, lowest number first."""
    specs = [
        path.stem
        for path in pid_dir.glob("*.pid")
        if path.stem.split("@", 1)[0] == service and _alive(path)
    ]
    return sorted(specs, key=instance_number)


def plan(service: str, count: int, now: list[str]) -> tuple[list[str], list[str]]:
    """(instances to start, instances to stop) to go from ``now`` to ``count`` instances."""
    if service not in SERVICES:
        raise UsageError(f"unknown service {service!r} (one of: {', '.join(SERVICES)})")
    if not 0 <= count <= MAX_INSTANCES:
        raise UsageError(f"the number of instances is from 0 to {MAX_INSTANCES}, not {count}")
    wanted = instance_specs(service, count) if count else []
    start = [spec for spec in wanted if spec not in now]
    stop = sorted((spec for spec in now if spec not in wanted), key=instance_number, reverse=True)
    return start, stop


def services_sh(action: str, specs: list[str]) -> None:
    """Run ``infra/services.sh <action> <specs>``; its own lines go to the terminal."""
    if not specs:
        return
    completed = subprocess.run(["bash", str(SERVICES_SCRIPT), action, *specs], cwd=REPO_ROOT)
    if completed.returncode != 0:
        raise CommandFailed(
            f"infra/services.sh {action} {' '.join(specs)} failed (exit {completed.returncode}); "
            "see .run/logs/"
        )
