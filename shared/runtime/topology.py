"""Declare the RabbitMQ topology before any service starts: ``python -m shared.runtime.topology``.

Every service's events exchange, the dead-letter exchange, each ``@subscribe``
queue (read from the service classes themselves, so the subscriptions are
written down once). Declaring queues up front means events published before a
consumer's first start are kept for it. Each service declares its own RPC
request queue when it starts (until then a call is refused as "not running");
an existing one is converted here (below). Idempotent.

The queues are quorum queues on a cluster and classic ones on a single broker
(``shared.messaging.quorum_queues.quorum_wanted``). A broker set up before has
queues of the same names of the other type: each is converted, messages and
all (``shared.messaging.quorum_queues``), unless a service instance from before still
consumes it; that queue is reported and left as it is until the instances are
stopped and this runs again (or the services start: they convert it too).
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable

import amqp.exceptions
from kombu import Connection

from shared.config import CALLERS, SERVICES, amqp_uri, load_config
from shared.messaging.names import (
    DEAD_LETTER_EXCHANGE,
    declare_campus_routing,
    declare_events_exchange,
    declare_subscriber,
    rpc_queue,
)
from shared.messaging.quorum_queues import CannotConvert, declare, quorum_wanted


def service_class(service: str) -> type:
    """The nameko service class in ``services/<service>/service.py``."""
    module = importlib.import_module(f"services.{service}.service")
    for _, candidate in inspect.getmembers(module, inspect.isclass):
        if getattr(candidate, "name", None) == service and candidate.__module__ == module.__name__:
            return candidate
    raise LookupError(f"no nameko service named {service!r} in {module.__name__}")


def subscriptions(service: str) -> list[str]:
    """The sources ``service`` follows through ``@subscribe`` entrypoints."""
    from shared.messaging.subscriber import EventSubscriber

    sources: list[str] = []
    for _, method in inspect.getmembers(service_class(service), inspect.isfunction):
        for entrypoint in getattr(method, "nameko_entrypoints", ()):
            if isinstance(entrypoint, EventSubscriber):
                sources.extend(entrypoint.sources)
    return sources


def service_projections(service: str) -> list:
    """Every projection ``service`` keeps: fed by ``@subscribe`` and kept inline."""
    from shared.runtime.dependencies import EventStoreProvider, Projections

    found: list = []
    for _, attribute in inspect.getmembers(service_class(service)):
        if isinstance(attribute, Projections):
            found.extend(attribute.projections)
        elif isinstance(attribute, EventStoreProvider):
            found.extend(attribute.inline)
    return found


def subscribed_types(service: str, source: str) -> frozenset[str] | None:
    """The types of ``source``'s events ``service``'s queue is bound to: those its fed
    projections read when each names them (``types_read``), else None (every event)."""
    from shared.eventsourcing.projection import fed_by, types_read

    members = (attribute for _, attribute in inspect.getmembers(service_class(service)))
    return types_read(fed_by(members), source)


def inline_projections(service: str) -> list:
    """The projections ``service`` keeps inline: written by its own commands' transactions."""
    from shared.runtime.dependencies import EventStoreProvider

    found: list = []
    for _, attribute in inspect.getmembers(service_class(service)):
        if isinstance(attribute, EventStoreProvider):
            found.extend(attribute.inline)
    return found


def exists(connection: Connection, queue: str) -> bool:
    channel = connection.channel()
    try:
        channel.queue_declare(queue, passive=True)
        return True
    except amqp.exceptions.NotFound:
        return False
    finally:
        try:
            channel.close()
        except Exception:  # closed by the broker with the 404
            pass


def declare_all(uri: str, in_use: list[str] | None = None) -> dict[str, list[str]]:
    """Declare everything; return each service's subscribed sources.

    A queue of the other type still consumed by instances from before (or that this
    user may not convert) cannot be converted now: its reason is appended to ``in_use``
    when given, raised otherwise.
    """
    quorum = quorum_wanted(uri)
    declared: dict[str, list[str]] = {}

    def attempt(declaration: Callable[[], object]) -> None:
        try:
            declaration()
        except CannotConvert as error:
            if in_use is None:
                raise
            in_use.append(str(error))

    with Connection(uri, connect_timeout=10) as connection:
        DEAD_LETTER_EXCHANGE(connection.default_channel).declare()
        for service in SERVICES:
            declare_events_exchange(connection, service)
        declare_campus_routing(connection, list(SERVICES))
        # The gateway and the SIP2 server own no events but answer their health RPC on
        # a queue of their own: one of the other type is converted here too, as only
        # the administrator may.
        for answering in (*SERVICES, *CALLERS):
            requests = rpc_queue(answering, quorum=quorum)
            if exists(connection, requests.name):
                attempt(lambda requests=requests: declare(connection, requests))
        for service in SERVICES:
            declared[service] = subscriptions(service)
            for source in declared[service]:
                attempt(
                    lambda service=service, source=source: declare_subscriber(
                        connection, service, source, subscribed_types(service, source)
                    )
                )
    return declared


def main() -> int:
    in_use: list[str] = []
    declared = declare_all(amqp_uri(load_config()), in_use)
    for service, sources in declared.items():
        follows = ", ".join(sources) or "nothing"
        print(f"[topology] {service}.events declared; {service} follows {follows}")
    for reason in in_use:
        print(f"[topology] WARNING: {reason}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
