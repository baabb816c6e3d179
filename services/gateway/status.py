"""The status page: what ``library status`` shows, asked all at once.

Each service's ``health()`` and ``projection_lag()`` (the SIP2 server's health only):
every request goes out before any answer is awaited, and all share one short deadline,
so a service that is down costs the page one timeout, not one per call, and the others
are still reported.
While they are on their way, RabbitMQ's management API is asked for the queues,
each service's instances (consumers of its RPC queue) and the dead letters, as the
console reads them (``shared.runtime.status_report``), logged in as the gateway's
own broker user (tagged ``management`` by ``shared.runtime.permissions``). When that
API does not answer, ``queues``, ``dead_letters`` and each ``instances`` are null
and ``problems`` says why; the rest of the page is still given.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.gateway.calls import PendingCall, ServiceClient
from services.gateway.problems import Problem, RemoteFailure
from shared.config import SERVICES
from shared.runtime.status_report import BrokerView, look_at_broker

QUESTIONS = ("health", "projection_lag")
# A service owning no data (the SIP2 server) has no projections to lag: its health only.
HEALTH_ONLY = ("health",)
DEFAULT_TIMEOUT = 2.0


def collect(clients: Mapping[str, ServiceClient], config: Mapping[str, Any]) -> dict[str, Any]:
    """``{status: ok|degraded, services: [{service, up, instances, health, projection_lag,
    error}], queues, dead_letters, problems}``; ``status`` is about the services."""
    pending: dict[str, dict[str, PendingCall | Exception]] = {}
    for name, client in clients.items():
        pending[name] = {}
        for question in QUESTIONS if name in SERVICES else HEALTH_ONLY:
            try:
                pending[name][question] = client.send(question, timeout=client.status_timeout)
            except Problem as problem:
                pending[name][question] = problem
    timeout = max((client.status_timeout for client in clients.values()), default=DEFAULT_TIMEOUT)
    broker = look_at_broker(config, as_amqp_user=True, timeout=timeout)
    services = [_report(name, calls, broker) for name, calls in pending.items()]
    return {
        "status": "ok" if all(service["up"] for service in services) else "degraded",
        "services": services,
        "queues": broker.queue_rows(),
        "dead_letters": broker.dead_letter_rows(),
        "problems": broker.problems,
    }


def _report(
    name: str, calls: Mapping[str, PendingCall | Exception], broker: BrokerView
) -> dict[str, Any]:
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
        "instances": broker.instances(name),
        "health": answers.get("health"),
        "projection_lag": answers.get("projection_lag"),
        "error": "; ".join(dict.fromkeys(errors)) or None,
    }
