"""A cluster's nodes in one setting: AMQP_URI (and RABBIT_MANAGEMENT_URI) separated by ';'."""

import logging
from types import SimpleNamespace

from kombu import Connection

from shared.cli import errors
from shared.cli.broker import vhost_of
from shared.config import addresses, connect_retries
from shared.messaging.names import QUORUM, dead_letter_queue, rpc_queue, subscriber_queue
from shared.messaging.quorum_queues import QUEUE_TYPE_ENV, quorum_wanted
from shared.messaging.rpc import TolerantQueueConsumer

CLUSTER = (
    "amqp://library:s3cret@rabbit1:5672/school;"
    "amqp://library:s3cret@rabbit2:5672/school; amqp://library:s3cret@rabbit3:5672/school"
)


def test_a_list_is_split_into_its_addresses_and_one_address_is_a_list_of_one():
    assert addresses(CLUSTER) == [
        "amqp://library:s3cret@rabbit1:5672/school",
        "amqp://library:s3cret@rabbit2:5672/school",
        "amqp://library:s3cret@rabbit3:5672/school",
    ]
    assert addresses("amqp://library:library@127.0.0.1:5672/") == [
        "amqp://library:library@127.0.0.1:5672/"
    ]


def test_kombu_fails_over_through_every_address_in_the_list():
    connection = Connection(CLUSTER)
    assert connection.hostname == "rabbit1"
    assert len(connection.alt) == 3
    # each address tried once per connect; a single broker still gets its second try
    assert connect_retries(CLUSTER) == 2
    assert connect_retries("amqp://library:library@127.0.0.1:5672/") == 1
    connection.maybe_switch_next()
    assert (connection.hostname, connection.virtual_host) == ("rabbit2", "school")


def test_every_password_of_a_list_is_hidden_and_the_vhost_is_the_first_address_s():
    assert errors.redact(CLUSTER) == (
        "amqp://library:***@rabbit1:5672/school;amqp://library:***@rabbit2:5672/school;"
        "amqp://library:***@rabbit3:5672/school"
    )
    assert vhost_of(CLUSTER) == "school"


def test_nameko_s_reconnection_warning_names_every_node_without_its_password(caplog):
    consumer = TolerantQueueConsumer()
    consumer.container = SimpleNamespace(config={"AMQP_URI": CLUSTER})
    with caplog.at_level(logging.WARNING, logger="shared.messaging.rpc"):
        consumer.on_connection_error(ConnectionRefusedError(111, "refused"), 2)
    assert "s3cret" not in caplog.text
    assert "rabbit1" in caplog.text and "rabbit3" in caplog.text


def test_the_queues_that_must_outlive_a_node_are_quorum_queues_with_dead_lettering():
    queue = subscriber_queue("archives", "circulation", quorum=True)
    assert queue.queue_arguments == {
        **QUORUM,
        "x-dead-letter-exchange": "library.dlx",
        "x-dead-letter-routing-key": "archives.from.circulation",
    }
    assert queue.durable and not queue.exclusive and not queue.auto_delete
    assert dead_letter_queue(queue.name, quorum=True).queue_arguments == QUORUM
    request = rpc_queue("circulation", quorum=True)
    assert (request.name, request.routing_key) == ("rpc-circulation", "circulation.*")
    assert request.queue_arguments == QUORUM


def test_on_a_single_broker_they_are_classic_durable_queues(monkeypatch):
    monkeypatch.delenv(QUEUE_TYPE_ENV, raising=False)
    single = "amqp://library:s3cret@rabbit1:5672/school"
    assert quorum_wanted(CLUSTER) and not quorum_wanted(single)
    queue = subscriber_queue("archives", "circulation", quorum=quorum_wanted(single))
    assert queue.durable and "x-queue-type" not in queue.queue_arguments
    assert queue.queue_arguments["x-dead-letter-exchange"] == "library.dlx"
    assert not dead_letter_queue(queue.name, quorum=False).queue_arguments
    assert rpc_queue("circulation", quorum=False).durable
    monkeypatch.setenv(QUEUE_TYPE_ENV, "quorum")  # a cluster behind one address
    assert quorum_wanted(single)
    monkeypatch.setenv(QUEUE_TYPE_ENV, "classic")
    assert not quorum_wanted(CLUSTER)
