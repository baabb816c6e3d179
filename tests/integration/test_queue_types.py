"""Quorum queues, and a broker from before them: its classic queues become quorum queues
with every message kept, unless an instance from before still consumes them."""

import threading
from urllib.parse import quote

import amqp
import requests
from kombu import Connection, Queue

from shared.messaging.names import (
    DEAD_LETTER_EXCHANGE,
    QUORUM,
    dead_letter_queue,
    events_exchange,
    rpc_queue,
    subscriber_queue,
)
from shared.messaging.quorum_queues import convert
from shared.runtime.topology import declare_all


def queue_types(config):
    """Each queue of the test's vhost: (type, messages), read from the management API."""
    api = config["RABBIT_MANAGEMENT_URI"].rstrip("/")
    vhost = quote(config["AMQP_URI"].rsplit("/", 1)[1], safe="")
    # the management API's statistics lag; the message counts come from the broker itself
    listed = requests.get(f"{api}/api/queues/{vhost}", params={"columns": "name,type"}, timeout=5)
    listed.raise_for_status()
    with Connection(config["AMQP_URI"]) as connection:
        channel = connection.channel()
        return {
            queue["name"]: (
                queue["type"],
                channel.queue_declare(queue["name"], passive=True).message_count,
            )
            for queue in listed.json()
        }


def classic(queue: Queue) -> Queue:
    """``queue`` as it was declared before: the same, without ``x-queue-type``."""
    arguments = {k: v for k, v in (queue.queue_arguments or {}).items() if k not in QUORUM}
    return Queue(
        queue.name,
        exchange=queue.exchange,
        routing_key=queue.routing_key,
        durable=True,
        queue_arguments=arguments or None,
    )


def publish(connection, exchange, routing_key, count, prefix="m"):
    channel = connection.channel()
    channel.confirm_select()
    for n in range(count):
        channel.basic_publish_confirm(
            amqp.Message(f"{prefix}{n}".encode(), delivery_mode=2),
            exchange=exchange,
            routing_key=routing_key,
        )
    channel.close()


def bodies(connection, queue):
    channel = connection.channel()
    found = []
    while (message := channel.basic_get(queue, no_ack=True)) is not None:
        found.append(message.body.decode() if isinstance(message.body, bytes) else message.body)
    channel.close()
    return found


def test_the_services_queues_are_quorum_queues(config):
    declare_all(config["AMQP_URI"])
    with Connection(config["AMQP_URI"]) as connection:
        rpc_queue("circulation")(connection.default_channel).declare()
    types = queue_types(config)
    assert types["circulation.from.catalog"][0] == "quorum"
    assert types["circulation.from.catalog.dlq"][0] == "quorum"
    assert types["archives.from.circulation"][0] == "quorum"
    assert types["rpc-circulation"][0] == "quorum"


def test_a_broker_from_before_gets_quorum_queues_with_every_message_kept(config):
    uri = config["AMQP_URI"]
    old = subscriber_queue("circulation", "catalog")
    with Connection(uri) as connection:
        channel = connection.default_channel
        DEAD_LETTER_EXCHANGE(channel).declare()
        classic(old)(channel).declare()
        classic(dead_letter_queue(old.name))(channel).declare()
        classic(rpc_queue("catalog"))(channel).declare()
        publish(connection, events_exchange("catalog").name, "BookAdded", 25)
        publish(connection, DEAD_LETTER_EXCHANGE.name, old.name, 3, prefix="dead")
        publish(connection, "nameko-rpc", "catalog.health", 2, prefix="call")
    assert queue_types(config)[old.name] == ("classic", 25)

    in_use: list[str] = []
    declare_all(uri, in_use)

    assert in_use == []
    types = queue_types(config)
    assert types[old.name] == ("quorum", 25)
    assert types[f"{old.name}.dlq"] == ("quorum", 3)
    assert types["rpc-catalog"] == ("quorum", 2)
    assert not [name for name in types if "migrat" in name]
    with Connection(uri) as connection:
        assert sorted(bodies(connection, old.name)) == sorted(f"m{n}" for n in range(25))
        # still bound: what catalog publishes now arrives
        publish(connection, events_exchange("catalog").name, "Weeded", 1, prefix="after")
        assert bodies(connection, old.name) == ["after0"]


def test_a_classic_queue_still_consumed_is_reported_and_left_alone(config):
    uri = config["AMQP_URI"]
    old = subscriber_queue("archives", "catalog")
    with Connection(uri) as consumer_connection:
        channel = consumer_connection.channel()
        DEAD_LETTER_EXCHANGE(channel).declare()
        classic(old)(channel).declare()
        channel.basic_consume(old.name, callback=lambda message: None)

        in_use: list[str] = []
        declare_all(uri, in_use)

        assert len(in_use) == 1 and old.name in in_use[0] and "consumer" in in_use[0]
        assert queue_types(config)[old.name][0] == "classic"
    declare_all(uri)  # its instance is gone: now it is converted
    assert queue_types(config)[old.name][0] == "quorum"


def test_two_converters_at_once_keep_each_message_exactly_once(config):
    uri = config["AMQP_URI"]
    old = subscriber_queue("activities", "circulation")
    with Connection(uri) as connection:
        DEAD_LETTER_EXCHANGE(connection.default_channel).declare()
        classic(old)(connection.default_channel).declare()
        publish(connection, events_exchange("circulation").name, "Lent", 200)
    errors = []

    def converter():
        try:
            with Connection(uri) as connection:
                convert(connection, old)
        except Exception as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=converter) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with Connection(uri) as connection:
        assert sorted(bodies(connection, old.name)) == sorted(f"m{n}" for n in range(200))
    assert queue_types(config)[old.name][0] == "quorum"
