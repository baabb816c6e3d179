"""Declare the RabbitMQ topology before any service starts: ``python -m shared.topology``.

Every service's events exchange, the dead-letter exchange, and each
``@subscribe`` queue (read from the service classes themselves, so the
subscriptions are written down once). Declaring queues up front means events
published before a consumer's first start are kept for it. Idempotent.
"""

from __future__ import annotations

import importlib
import inspect
import sys

from kombu import Connection

from shared.config import SERVICES, amqp_uri, load_config
from shared.messaging import (
    DEAD_LETTER_EXCHANGE,
    declare_campus_routing,
    declare_events_exchange,
    declare_subscriber,
)


def service_class(service: str) -> type:
    """The nameko service class in ``services/<service>/service.py``."""
    module = importlib.import_module(f"services.{service}.service")
    for _, candidate in inspect.getmembers(module, inspect.isclass):
        if getattr(candidate, "name", None) == service and candidate.__module__ == module.__name__:
            return candidate
    raise LookupError(f"no nameko service named {service!r} in {module.__name__}")


def subscriptions(service: str) -> list[str]:
    """The sources ``service`` follows through ``@subscribe`` entrypoints."""
    from shared.subscriber import EventSubscriber

    sources: list[str] = []
    for _, method in inspect.getmembers(service_class(service), inspect.isfunction):
        for entrypoint in getattr(method, "nameko_entrypoints", ()):
            if isinstance(entrypoint, EventSubscriber):
                sources.extend(entrypoint.sources)
    return sources


def service_projections(service: str) -> list:
    """Every projection ``service`` keeps: fed by ``@subscribe`` and kept inline."""
    from shared.dependencies import EventStoreProvider, Projections

    found: list = []
    for _, attribute in inspect.getmembers(service_class(service)):
        if isinstance(attribute, Projections):
            found.extend(attribute.projections)
        elif isinstance(attribute, EventStoreProvider):
            found.extend(attribute.inline)
    return found


def declare_all(uri: str) -> dict[str, list[str]]:
    """Declare everything; return each service's subscribed sources."""
    declared: dict[str, list[str]] = {}
    with Connection(uri, connect_timeout=10) as connection:
        DEAD_LETTER_EXCHANGE(connection.default_channel).declare()
        for service in SERVICES:
            declare_events_exchange(connection, service)
        declare_campus_routing(connection, list(SERVICES))
        for service in SERVICES:
            declared[service] = subscriptions(service)
            for source in declared[service]:
                declare_subscriber(connection, service, source)
    return declared


def main() -> int:
    declared = declare_all(amqp_uri(load_config()))
    for service, sources in declared.items():
        follows = ", ".join(sources) or "nothing"
        print(f"[topology] {service}.events declared; {service} follows {follows}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
