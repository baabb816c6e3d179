"""Quorum queues on a cluster, classic ones on a single broker, and a broker from before:
its queues of the other type are converted with every message kept, unless an instance
from before still consumes them. (The test broker is a single node: LIBRARY_QUEUE_TYPE
asks for quorum queues where a test needs them, as for a cluster.)"""

import threading
from urllib.parse import quote

import amqp
import pytest
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
from shared.messaging.quorum_queues import QUEUE_TYPE_ENV, convert
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


@pytest.fixture
def cluster_like(monkeypatch):
    """Quorum queues wanted, as on a cluster."""
    monkeypatch.setenv(QUEUE_TYPE_ENV, "quorum")


def test_the_services_queues_are_classic_on_one_broker_and_quorum_on_a_cluster(config, monkeypatch):
    monkeypatch.delenv(QUEUE_TYPE_ENV, raising=False)
    declare_all(config["AMQP_URI"])
    with Connection(config["AMQP_URI"]) as connection:
        rpc_queue("circulation", quorum=False)(connection.default_channel).declare()
    types = queue_types(config)
    for name in ("circulation.from.catalog", "circulation.from.catalog.dlq", "rpc-circulation"):
        assert types[name][0] == "classic"
    monkeypatch.setenv(QUEUE_TYPE_ENV, "quorum")
    declare_all(config["AMQP_URI"])
    types = queue_types(config)
    assert types["circulation.from.catalog"][0] == "quorum"
    assert types["circulation.from.catalog.dlq"][0] == "quorum"
    assert types["archives.from.circulation"][0] == "quorum"
    assert types["rpc-circulation"][0] == "quorum"


def test_quorum_queues_from_before_become_classic_on_one_broker_with_every_message_kept(
    config, monkeypatch
):
    uri = config["AMQP_URI"]
    monkeypatch.delenv(QUEUE_TYPE_ENV, raising=False)
    old = subscriber_queue("circulation", "catalog", quorum=True)
    with Connection(uri) as connection:
        channel = connection.default_channel
        DEAD_LETTER_EXCHANGE(channel).declare()
        old(channel).declare()
        dead_letter_queue(old.name, quorum=True)(channel).declare()
        rpc_queue("catalog", quorum=True)(channel).declare()
        publish(connection, events_exchange("catalog").name, "BookAdded", 25)
        publish(connection, DEAD_LETTER_EXCHANGE.name, old.name, 3, prefix="dead")
        publish(connection, "nameko-rpc", "catalog.health", 2, prefix="call")
    assert queue_types(config)[old.name] == ("quorum", 25)

    in_use: list[str] = []
    declare_all(uri, in_use)

    assert in_use == []
    types = queue_types(config)
    assert types[old.name] == ("classic", 25)
    assert types[f"{old.name}.dlq"] == ("classic", 3)
    assert types["rpc-catalog"] == ("classic", 2)
    assert not [name for name in types if "migrat" in name]
    with Connection(uri) as connection:
        assert sorted(bodies(connection, old.name)) == sorted(f"m{n}" for n in range(25))
        # bound again: what catalog publishes now arrives, once
        publish(connection, events_exchange("catalog").name, "Weeded", 1, prefix="after")
        assert bodies(connection, old.name) == ["after0"]


def test_a_broker_from_before_gets_quorum_queues_with_every_message_kept(config, cluster_like):
    uri = config["AMQP_URI"]
    old = subscriber_queue("circulation", "catalog", quorum=True)
    with Connection(uri) as connection:
        channel = connection.default_channel
        DEAD_LETTER_EXCHANGE(channel).declare()
        classic(old)(channel).declare()
        classic(dead_letter_queue(old.name, quorum=True))(channel).declare()
        classic(rpc_queue("catalog", quorum=True))(channel).declare()
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


def test_a_classic_queue_still_consumed_is_reported_and_left_alone(config, cluster_like):
    uri = config["AMQP_URI"]
    old = subscriber_queue("archives", "catalog", quorum=True)
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


def test_two_converters_at_once_keep_each_message_exactly_once(config, cluster_like):
    uri = config["AMQP_URI"]
    old = subscriber_queue("activities", "circulation", quorum=True)
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
