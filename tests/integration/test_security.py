"""The broker's rights, proven: services publish only to their own exchange; external
systems read their own queues and publish nothing (a forged event is refused)."""

from urllib.parse import quote, urlsplit

import pytest
import requests
from kombu import Connection, Exchange, Queue

from shared.config import SERVICES
from shared.messaging import declare_campus_routing
from shared.permissions import apply
from shared.publisher import ConfirmingPublisher, OutgoingMessage, PublishNotConfirmed
from tests.helpers import body, drain

FORGED = OutgoingMessage("Lent", b'{"type": "Lent", "forged": true}', message_id="forged")


@pytest.fixture
def users(config):
    """Per-test users with the production rights on this test's vhost."""
    vhost = config["AMQP_URI"].rsplit("/", 1)[1]
    with Connection(config["AMQP_URI"]) as connection:
        declare_campus_routing(connection, list(SERVICES))
    roles = {"catalog": "catalog-pw", "external": "external-pw"}
    names = apply(config["RABBIT_MANAGEMENT_URI"], vhost, roles, suffix=f"-{vhost}")
    host = urlsplit(config["AMQP_URI"])
    uris = {
        role: f"amqp://{name}:{roles[role]}@{host.hostname}:{host.port or 5672}/{vhost}"
        for role, name in names.items()
    }
    yield uris
    management = urlsplit(config["RABBIT_MANAGEMENT_URI"])
    for name in names.values():
        requests.delete(
            f"http://{management.hostname}:{management.port}/api/users/{quote(name, safe='')}",
            auth=(management.username, management.password),
            timeout=10,
        )


def publish(uri, exchange, message=FORGED):
    publisher = ConfirmingPublisher(uri, confirm_timeout=5)
    try:
        publisher.publish_batch(exchange, [message])
    finally:
        publisher.close()


def test_an_external_system_cannot_forge_an_event(users):
    for exchange in ("circulation.events", "catalog.events", "library.events.by_campus"):
        with pytest.raises(PublishNotConfirmed, match="(?i)access.refused|403"):
            publish(users["external"], exchange)


def test_an_external_system_reads_its_own_queue_and_nothing_else(users, config):
    with Connection(users["external"]) as connection:
        channel = connection.default_channel
        readable = Exchange("circulation.events", type="topic", passive=True)
        Queue("ext.records", exchange=readable, routing_key="#", durable=True)(channel).declare()
    publish(
        config["AMQP_URI"],
        "circulation.events",
        OutgoingMessage("CardIssued", b'{"real": true}', message_id="real"),
    )
    assert body(drain(users["external"], "ext.records", 1)[0]) == {"real": True}

    with Connection(users["external"]) as connection:  # a service's queue is not for it
        with pytest.raises(Exception, match="(?i)access.refused|403"):
            Queue("circulation.from.catalog", durable=True)(connection.channel()).declare()


def test_a_service_publishes_to_its_own_exchange_only(users):
    publish(
        users["catalog"], "catalog.events", OutgoingMessage("BookAdded", b"{}", message_id="own")
    )
    with pytest.raises(PublishNotConfirmed, match="(?i)access.refused|403"):
        publish(users["catalog"], "circulation.events")
