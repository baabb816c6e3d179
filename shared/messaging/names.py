"""Names and declarations of the RabbitMQ topology, written once.

Each service publishes to the durable topic exchange ``<service>.events`` with the
event type as routing key (nameko's convention). A consuming service reads each
source through its own durable queue ``<service>.from.<source>``; messages it
cannot process go to ``<queue>.dlq`` through the ``library.dlx`` exchange.

The queues that must outlive a broker node are quorum queues on a cluster
(replicated on a majority of its nodes) and classic durable queues on a single
broker (``quorum``: ``shared.messaging.quorum_queues.quorum_wanted`` of the broker's
address): the subscriber queues, their dead-letter queues, each service's RPC
request queue ``rpc-<service>`` and the reply queues of the calls services make.
Everyone declaring one of them must declare it with the same arguments, so they are
written here only. ``shared.messaging.quorum_queues`` converts a broker's queues from
before to the type wanted now.
"""

from __future__ import annotations

from typing import Any

from kombu import Connection, Exchange, Queue, binding

from shared.messaging.quorum_queues import QUORUM as QUORUM  # the fault tests' audit queues
from shared.messaging.quorum_queues import declare, queue_type, quorum_for

EVENTS_EXCHANGE_TEMPLATE = "{}.events"
SUBSCRIBER_QUEUE_TEMPLATE = "{}.from.{}"
DEAD_LETTER_QUEUE_TEMPLATE = "{}.dlq"
DEAD_LETTER_EXCHANGE = Exchange("library.dlx", type="direct", durable=True)
# Every service's events again, routed by message headers: a subscriber binds
# with {"x-match": "all", "campus": "north"} (or "source", "type") and receives
# only those, without parsing a single body.
BY_CAMPUS_EXCHANGE = Exchange("library.events.by_campus", type="headers", durable=True)
PERSISTENT = 2
RPC_QUEUE_TEMPLATE = "rpc-{}"
RPC_EXCHANGE = Exchange("nameko-rpc", type="topic", durable=True)  # nameko's default


def events_exchange(source: str) -> Exchange:
    """The exchange ``source`` publishes its events to."""
    return Exchange(EVENTS_EXCHANGE_TEMPLATE.format(source), type="topic", durable=True)


def dead_letter_queue(queue_name: str, *, quorum: bool) -> Queue:
    name = DEAD_LETTER_QUEUE_TEMPLATE.format(queue_name)
    return Queue(
        name,
        exchange=DEAD_LETTER_EXCHANGE,
        routing_key=queue_name,
        durable=True,
        queue_arguments=queue_type(quorum),
    )


def subscriber_queue(
    service: str, source: str, *, quorum: bool, types: frozenset[str] | None = None
) -> Queue:
    """The queue through which ``service`` follows ``source``'s events.

    It is bound with ``#``, every event: positions are per source, so a consumer sees
    every event of a source to tell a gap from a type it ignores. A service whose
    projections all name the few ``types`` they read (``Projection.types``) is bound to
    those only, and asks the source's feed of those types what lies between
    (``ProjectionRunner.advance``). Messages rejected by the broker itself are
    dead-lettered too.
    """
    name = SUBSCRIBER_QUEUE_TEMPLATE.format(service, source)
    exchange = events_exchange(source)
    routing: dict[str, Any] = {"exchange": exchange, "routing_key": "#"}
    if types is not None:
        routing = {"bindings": [binding(exchange, routing_key=kind) for kind in sorted(types)]}
    return Queue(
        name,
        **routing,
        durable=True,
        queue_arguments={
            **queue_type(quorum),
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE.name,
            "x-dead-letter-routing-key": name,
        },
    )


def rpc_queue(service: str, exchange: Exchange = RPC_EXCHANGE, *, quorum: bool) -> Queue:
    """``service``'s RPC request queue, as nameko's would be, but durable, and a quorum
    queue on a cluster.

    Its instances compete on it; a request a dying instance had taken is
    delivered to another (requests carry a ``command_id``, so a repeat is safe).
    """
    return Queue(
        RPC_QUEUE_TEMPLATE.format(service),
        exchange=exchange,
        routing_key=f"{service}.*",
        durable=True,
        queue_arguments=queue_type(quorum),
    )


def quorum_reply_queue(queue: Queue, *, quorum: bool) -> Queue:
    """nameko's reply queue for the calls a service makes (durable, expiring when its
    instance is gone), as a quorum queue on a cluster: after a node is lost the instance
    consumes it again through another node, and no reply sent meanwhile is lost.

    (Callers outside the services, nameko's standalone proxies, keep nameko's classic
    reply queue: it lives and dies with their one connection.)
    """
    return Queue(
        queue.name,
        exchange=queue.exchange,
        routing_key=queue.routing_key,
        durable=True,
        queue_arguments={**(queue.queue_arguments or {}), **queue_type(quorum)},
    )


def declare_subscriber(
    connection: Connection, service: str, source: str, types: frozenset[str] | None = None
) -> Queue:
    """Declare the source's exchange, the subscriber queue and its dead-letter queue, of
    the type the connection's broker wants (``quorum_for``); bound to ``types`` only
    when given (its ``#`` binding from before removed), else to every event.

    A queue of the same name of the other type, from before, is converted first,
    messages and all (``shared.messaging.quorum_queues``).
    """
    channel = connection.default_channel
    quorum = quorum_for(connection)
    queue = subscriber_queue(service, source, quorum=quorum, types=types)
    exchange = events_exchange(source)
    exchange(channel).declare()
    DEAD_LETTER_EXCHANGE(channel).declare()
    declare(connection, dead_letter_queue(queue.name, quorum=quorum))
    declare(connection, queue)
    if types is not None:  # what it was bound with before: every event
        connection.default_channel.queue_unbind(queue.name, exchange.name, routing_key="#")
    return queue


def declare_events_exchange(connection: Connection, source: str) -> Exchange:
    exchange = events_exchange(source)
    exchange(connection.default_channel).declare()
    return exchange


def declare_campus_routing(connection: Connection, sources: list[str]) -> Exchange:
    """The headers exchange, fed by every source's events exchange (exchange-to-exchange)."""
    channel = connection.default_channel
    exchange = BY_CAMPUS_EXCHANGE(channel)
    exchange.declare()
    for source in sources:
        events_exchange(source)(channel).declare()
        exchange.bind_to(EVENTS_EXCHANGE_TEMPLATE.format(source), routing_key="#")
    return BY_CAMPUS_EXCHANGE


def campus_queue(name: str, campus: str, **arguments: str) -> Queue:
    """A subscriber's durable queue receiving only one campus's events (plus other header
    filters, e.g. ``source="circulation"``)."""
    return Queue(
        name,
        exchange=BY_CAMPUS_EXCHANGE,
        binding_arguments={"x-match": "all", "campus": campus, **arguments},
        durable=True,
    )
