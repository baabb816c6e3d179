"""Names and declarations of the RabbitMQ topology, written once.

Each service publishes to the durable topic exchange ``<service>.events`` with the
event type as routing key (nameko's convention). A consuming service reads each
source through its own durable queue ``<service>.from.<source>``; messages it
cannot process go to ``<queue>.dlq`` through the ``library.dlx`` exchange.
"""

from __future__ import annotations

from kombu import Connection, Exchange, Queue

EVENTS_EXCHANGE_TEMPLATE = "{}.events"
SUBSCRIBER_QUEUE_TEMPLATE = "{}.from.{}"
DEAD_LETTER_QUEUE_TEMPLATE = "{}.dlq"
DEAD_LETTER_EXCHANGE = Exchange("library.dlx", type="direct", durable=True)
# Every service's events again, routed by message headers: a subscriber binds
# with {"x-match": "all", "campus": "north"} (or "source", "type") and receives
# only those, without parsing a single body.
BY_CAMPUS_EXCHANGE = Exchange("library.events.by_campus", type="headers", durable=True)
PERSISTENT = 2


def events_exchange(source: str) -> Exchange:
    """The exchange ``source`` publishes its events to."""
    return Exchange(EVENTS_EXCHANGE_TEMPLATE.format(source), type="topic", durable=True)


def dead_letter_queue(queue_name: str) -> Queue:
    name = DEAD_LETTER_QUEUE_TEMPLATE.format(queue_name)
    return Queue(name, exchange=DEAD_LETTER_EXCHANGE, routing_key=queue_name, durable=True)


def subscriber_queue(service: str, source: str) -> Queue:
    """The queue through which ``service`` follows every event of ``source``.

    It is bound with ``#``: positions are per source, so a consumer must see every
    event of a source (skipping types it ignores) to tell a gap from a filter.
    Messages rejected by the broker itself are dead-lettered too.
    """
    name = SUBSCRIBER_QUEUE_TEMPLATE.format(service, source)
    return Queue(
        name,
        exchange=events_exchange(source),
        routing_key="#",
        durable=True,
        queue_arguments={
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE.name,
            "x-dead-letter-routing-key": name,
        },
    )


def declare_subscriber(connection: Connection, service: str, source: str) -> Queue:
    """Declare the source's exchange, the subscriber queue and its dead-letter queue."""
    channel = connection.default_channel
    queue = subscriber_queue(service, source)
    events_exchange(source)(channel).declare()
    DEAD_LETTER_EXCHANGE(channel).declare()
    dead_letter_queue(queue.name)(channel).declare()
    queue(channel).declare()
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
