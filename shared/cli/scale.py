"""``library scale circulation N``: run N instances of a service on this machine.

Instances are the supervisord programs ``infra/services.sh`` runs: ``circulation``,
``circulation@2``, ``circulation@3``... (``shared.cli.supervision`` reads their
states). Scaling up adds the missing programs (the script waits until they
answer); scaling down stops and removes the highest-numbered first. Instances
share the service's RPC queue, so RabbitMQ spreads the desks' commands over
them; correctness comes from the event store's optimistic concurrency, not from
running one.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from shared.cli import supervision
from shared.cli.errors import CommandFailed, UsageError
from shared.config import REPO_ROOT, SERVICES

SERVICES_SCRIPT = REPO_ROOT / "infra" / "services.sh"
MAX_INSTANCES = 16
CONSUMERS_TIMEOUT = 15.0  # RabbitMQ's statistics are refreshed every 5 s


def instance_specs(service: str, count: int) -> list[str]:
    """The specs of ``count`` instances: ``service``, ``service@2`` ... ``service@count``."""
    return [service] + [f"{service}@{number}" for number in range(2, count + 1)]


def instance_number(spec: str) -> int:
    _, _, suffix = spec.partition("@")
    return int(suffix) if suffix.isdigit() else (1 if not suffix else 10_000)


def running(service: str, directory: Path | None = None) -> list[str]:
    """Instances of ``service`` that supervisord runs (or is starting) now, lowest first."""
    return alive_instances(service, supervision.states(directory))


def configured(service: str, directory: Path | None = None) -> list[str]:
    """Instances of ``service`` that supervisord has a program for, whatever its state
    (a ``FATAL`` or stopped one too), lowest first."""
    return instances(service, supervision.states(directory))


def instances(service: str, states: dict[str, str]) -> list[str]:
    """The specs of ``service`` among supervisord's programs, lowest first."""
    mine = [spec for spec in states if spec.split("@", 1)[0] == service]
    return sorted(mine, key=instance_number)


def alive_instances(service: str, states: dict[str, str]) -> list[str]:
    """The specs of ``service`` among supervisord's programs that are up or coming up."""
    return [spec for spec in instances(service, states) if states[spec] in supervision.ALIVE]


def plan(
    service: str, count: int, now: list[str], programs: list[str] | None = None
) -> tuple[list[str], list[str]]:
    """(instances to start, instances to stop) to go from ``now`` (running) to ``count``
    instances; a program beyond ``count`` that is not running (``programs``: ``FATAL``,
    stopped) is stopped and removed too, so that it is not left behind."""
    if service not in SERVICES:
        raise UsageError(f"unknown service {service!r} (one of: {', '.join(SERVICES)})")
    if not 0 <= count <= MAX_INSTANCES:
        raise UsageError(f"the number of instances is from 0 to {MAX_INSTANCES}, not {count}")
    wanted = instance_specs(service, count) if count else []
    start = [spec for spec in wanted if spec not in now]
    every = dict.fromkeys([*now, *(programs or [])])
    stop = sorted((spec for spec in every if spec not in wanted), key=instance_number, reverse=True)
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
