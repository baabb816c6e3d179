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
