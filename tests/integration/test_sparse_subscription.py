"""A service whose projections read a few types of a source only is bound to those types,
on the real RabbitMQ: the accounts service receives the cards issued and retired and the
year's turn, not every loan and return (issue 18, a faster desk)."""

from urllib.parse import quote

import amqp
import pytest
import requests
from kombu import Connection
from nameko.standalone.rpc import ServiceRpcProxy

from shared.messaging.names import declare_subscriber, subscriber_queue
from shared.runtime.topology import subscribed_types
from tests.helpers import wait_until
from tests.integration.test_gateway import ALL_SERVICES, start_gateway

pytestmark = pytest.mark.integration

SERVICE = "sparse_probe"  # a queue of its own: sparse_probe.from.circulation


def publish(connection, routing_keys):
    channel = connection.channel()
    channel.confirm_select()
    for key in routing_keys:
        channel.basic_publish_confirm(
            amqp.Message(b"{}", delivery_mode=2), exchange="circulation.events", routing_key=key
        )
    channel.close()


def waiting(connection, name):
    return connection.channel().queue_declare(name, passive=True).message_count


def test_the_accounts_projections_read_the_card_events_and_the_years_turn_only():
    assert subscribed_types("accounts", "circulation") == {
        "CardIssued",
        "CardRetired",
        "SchoolYearTurned",
    }
    assert subscribed_types("archives", "circulation") is None  # every event
    assert subscribed_types("catalog", "circulation") is None


def test_a_queue_bound_to_every_event_before_is_bound_to_its_types_only(config):
    name = subscriber_queue(SERVICE, "circulation", quorum=False).name
    with Connection(config["AMQP_URI"]) as connection:
        try:
            declare_subscriber(connection, SERVICE, "circulation")  # as before: every event
            publish(connection, ["Lent", "CardIssued"])
            assert waiting(connection, name) == 2

            types = frozenset({"CardIssued", "CardRetired"})
            declare_subscriber(connection, SERVICE, "circulation", types)
            declare_subscriber(connection, SERVICE, "circulation", types)  # twice: the same
            publish(connection, ["Lent", "Returned", "CardIssued", "CardRetired", "Renewed"])
            assert waiting(connection, name) == 2 + 2  # what was there, and the two cards

            declare_subscriber(connection, SERVICE, "circulation")  # every event again
            publish(connection, ["Lent"])
            assert waiting(connection, name) == 5
        finally:
            channel = connection.channel()
            channel.queue_delete(name)
            channel.queue_delete(f"{name}.dlq")


def test_the_accounts_service_makes_accounts_of_cards_and_moves_past_the_loans(
    runner_factory, config
):
    """A card makes its account through the queue of card events; the loans after it
    never reach the accounts service, whose checkpoint still moves past them, so its lag
    and its ``caught_up`` answer stay true."""
    api = start_gateway(runner_factory, config, *ALL_SERVICES)
    [first, second] = api.add_books(copies=2)
    reader = api.card(name="韩梅梅")
    wait_until(
        lambda: api.get(f"/api/accounts/{reader}").status_code == 200,
        timeout=20,
        what="the account of the card",
    )
    for barcode in (first, second):
        assert api.lend(barcode, reader).status_code == 201
    with ServiceRpcProxy("circulation", config) as circulation:
        head = circulation.health()["head"]
    with ServiceRpcProxy("accounts", config) as accounts:
        assert accounts.caught_up({"circulation": head}, 5)["caught_up"]
        rows = [r for r in accounts.projection_lag() if r["source"] == "circulation"]
    assert {r["projection"] for r in rows} == {"card_holders", "class_teachers"}
    assert {(r["checkpoint"], r["lag"]) for r in rows} == {(head, 0)}
    assert bound_keys(config, "accounts.from.circulation") == {
        "CardIssued",
        "CardRetired",
        "SchoolYearTurned",
    }
    assert "#" in bound_keys(config, "archives.from.circulation")


def bound_keys(config, queue: str) -> set[str]:
    """The routing keys ``queue`` is bound with to its source's exchange (management API)."""
    api = config["RABBIT_MANAGEMENT_URI"].rstrip("/")
    vhost = quote(config["AMQP_URI"].rsplit("/", 1)[1], safe="")
    answer = requests.get(f"{api}/api/queues/{vhost}/{quote(queue, safe='')}/bindings", timeout=5)
    answer.raise_for_status()
    return {b["routing_key"] for b in answer.json() if b["source"] == "circulation.events"}
