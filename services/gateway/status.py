"""The status page: each service's ``health()`` and ``projection_lag()``, asked all at once.

Every request goes out before any answer is awaited, and all share one short
deadline, so a service that is down costs the page one timeout, not one per
call, and the others are still reported.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.gateway.calls import PendingCall, ServiceClient
from services.gateway.problems import Problem, RemoteFailure

QUESTIONS = ("health", "projection_lag")


def collect(clients: Mapping[str, ServiceClient]) -> dict[str, Any]:
    """``{status: ok|degraded, services: [{service, up, health, projection_lag, error}]}``."""
    pending: dict[str, dict[str, PendingCall | Exception]] = {}
    for name, client in clients.items():
        pending[name] = {}
        for question in QUESTIONS:
            try:
                pending[name][question] = client.send(question, timeout=client.status_timeout)
            except Problem as problem:
                pending[name][question] = problem
    services = [_report(name, calls) for name, calls in pending.items()]
    return {
        "status": "ok" if all(service["up"] for service in services) else "degraded",
        "services": services,
    }


def _report(name: str, calls: Mapping[str, PendingCall | Exception]) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    errors = []
    for question, call in calls.items():
        try:
            if isinstance(call, Exception):
                raise call
            answers[question] = call.result()
        except Problem as problem:
            errors.append(problem.detail)
        except RemoteFailure as failure:
            errors.append(f"{question} failed: {failure.exc_type}")
    return {
        "service": name,
        "up": not errors,
        "health": answers.get("health"),
        "projection_lag": answers.get("projection_lag"),
        "error": "; ".join(dict.fromkeys(errors)) or None,
    }
