"""The skeleton end to end: real nameko services over real RabbitMQ and PostgreSQL."""

import json

import amqp.channel
import pytest
from nameko.standalone.rpc import ServiceRpcProxy

from services.activities.service import ActivitiesService
from services.archives.service import ArchivesService
from services.catalog.service import CatalogService
from services.circulation.projections import CopyAvailability
from services.circulation.service import CirculationService
from shared.cli import broker
from shared.events.envelope import Envelope
from shared.eventsourcing.projection import Projection
from shared.messaging.dead_letters import list_dead_letters
from shared.messaging.names import events_exchange
from shared.messaging.publisher import ConfirmingPublisher, OutgoingMessage
from shared.runtime.dependencies import Projections
from tests.factories import book_added
from tests.helpers import wait_until

TITLE = {k: v for k, v in book_added().items() if k not in ("barcode",)}


@pytest.fixture
def system(runner_factory, config):
    runner = runner_factory(
        config, CatalogService, CirculationService, ActivitiesService, ArchivesService
    )
    runner.start()
    return config


def rpc(config, service):
    return ServiceRpcProxy(service, config, timeout=15)


def archived(config, source):
    with rpc(config, "archives") as archives:
        return archives.events(source, 0, 1000)


def test_catalog_events_reach_circulation_and_the_archive(system):
    with rpc(system, "catalog") as catalog:
        barcodes = catalog.add_copies({**TITLE, "copies": 3})["barcodes"]
        assert catalog.get_copy(barcodes[0])["status"] == "on_shelf"

    events = wait_until(
        lambda: len(archived(system, "catalog")) == 3 and archived(system, "catalog")
    )
    assert [e["data"]["barcode"] for e in events] == barcodes
    assert [e["position"] for e in events] == [1, 2, 3]
    with rpc(system, "circulation") as circulation:
        copy = wait_until(lambda: _availability(circulation, barcodes[2]))
    assert copy["status"] == "on_shelf" and copy["campus"] == "north"


def _availability(circulation, barcode):
    try:
        return circulation.copy_availability(barcode)
    except Exception:
        return None


def test_bad_commands_are_refused_naming_the_fields(system):
    with rpc(system, "catalog") as catalog:
        with pytest.raises(Exception) as caught:
            catalog.add_copies({**TITLE, "isbn": "978-7-02-000220-8", "copies": 0})
    assert "BadRequest" in str(type(caught.value).__name__) + str(caught.value)
    assert "isbn" in str(caught.value) and "copies" in str(caught.value)
    assert archived(system, "catalog") == []


def test_the_feed_rpc_pages_through_a_service_log(system):
    with rpc(system, "catalog") as catalog:
        catalog.add_copies({**TITLE, "copies": 5})
        page = catalog.events_since(2, 2)
        assert [event["position"] for event in page] == [3, 4]
        with pytest.raises(Exception, match="limit"):
            catalog.events_since(0, 0)


def envelope_of_book():
    return {
        "event_id": "6f1c1f9e-8d53-4a38-9b4c-1c0f3d1d2a10",
        "type": "BookAdded",
        "schema_version": 1,
        "source": "catalog",
        "position": 99,
        "stream_id": "copy-C1",
        "stream_version": 1,
        "occurred_at": "2026-09-01T08:00:00+00:00",
        "recorded_at": "2026-09-01T08:00:00+00:00",
        "campus": "north",
        "correlation_id": None,
        "causation_id": None,
        "data": book_added("C00000099"),
    }


def test_malformed_messages_are_dead_lettered_and_consumption_goes_on(system):
    uri = system["AMQP_URI"]
    publisher = ConfirmingPublisher(uri)
    valid_later = {**TITLE}
    valid = json.loads(Envelope.from_dict(envelope_of_book()).to_json())
    poison = [
        b"this is not json",
        json.dumps({"type": "BookAdded"}).encode(),
        json.dumps({"hello": "world"}).encode(),
        json.dumps({**valid, "type": "BookBurned"}).encode(),
        json.dumps({**valid, "data": {**valid["data"], "price": "<script>"}}).encode(),
        b'{"padding": "' + b"x" * 2_000_000 + b'"}',
    ]
    try:
        publisher.publish_batch(
            events_exchange("catalog").name,
            [
                OutgoingMessage("BookAdded", body, message_id=f"poison-{number}")
                for number, body in enumerate(poison)
            ],
        )
    finally:
        publisher.close()

    letters = wait_until(
        lambda: (
            len(found := list_dead_letters(uri, "circulation.from.catalog")) == len(poison)
            and found
        ),
        what="every malformed message in the dead-letter queue",
    )
    assert sorted(letter.body for letter in letters) == sorted(poison)
    assert all("InvalidEnvelope" in letter.error for letter in letters)
    assert any("not JSON" in letter.error for letter in letters)
    assert all(letter.headers["x-queue"] == "circulation.from.catalog" for letter in letters)

    with rpc(system, "catalog") as catalog:
        barcode = catalog.add_copies({**valid_later, "copies": 1})["barcodes"][0]
    with rpc(system, "circulation") as circulation:
        wait_until(lambda: _availability(circulation, barcode), what="the valid event to apply")
    # The archives' own queue got the same garbage and dead-lettered it too.
    assert len(list_dead_letters(uri, "archives.from.catalog")) == len(poison)
    reasons = " ".join(letter.error for letter in letters)
    assert "unknown event type" in reasons and "larger than" in reasons and "price" in reasons


def test_a_retried_command_with_the_same_id_appends_nothing_new(system):
    command = {**TITLE, "copies": 2, "command_id": "9b2b8a61-4f0e-4d7e-9f55-0b1c8c1d2e3f"}
    with rpc(system, "catalog") as catalog:
        first = catalog.add_copies(command)
        again = catalog.add_copies(command)
        assert again == first
        assert len(catalog.events_since(0, 100)) == 2


class Indigestible(Projection):
    """A projection with a bug that only one title triggers."""

    name = "indigestible"
    sources = ("catalog",)

    def apply(self, cursor, event):
        if event.data.get("title") == "POISON":
            raise RuntimeError("this projection cannot digest POISON")


class PoisonedCirculation(CirculationService):
    projections = Projections(CopyAvailability(), Indigestible())


def test_an_event_a_projection_keeps_failing_on_is_dead_lettered_and_the_rest_go_on(
    runner_factory, config
):
    runner_factory(config, CatalogService, PoisonedCirculation).start()
    with rpc(config, "catalog") as catalog:
        poison = catalog.add_copies({**TITLE, "title": "POISON"})["barcodes"][0]
        healthy = catalog.add_copies({**TITLE, "copies": 1})["barcodes"][0]
    with rpc(config, "circulation") as circulation:
        wait_until(lambda: _availability(circulation, healthy), what="the healthy copy")
        assert _availability(circulation, poison)["status"] == "on_shelf"  # other projection
    letters = wait_until(lambda: list_dead_letters(config["AMQP_URI"], "circulation.from.catalog"))
    assert [letter.headers["x-projection"] for letter in letters] == ["indigestible"]
    assert "cannot digest POISON" in letters[0].error
    assert json.loads(letters[0].body)["data"]["barcode"] == poison


def test_a_batch_is_acked_with_one_frame_and_the_next_is_taken(system, monkeypatch):
    """A follower's batch is every message its channel holds unacked, so one
    ``basic.ack`` (``multiple``) settles it; the channel goes on to the next batch."""
    acks = []
    basic_ack = amqp.channel.Channel.basic_ack

    def spied(channel, delivery_tag, multiple=False, **kwargs):
        acks.append((delivery_tag, multiple))
        return basic_ack(channel, delivery_tag, multiple, **kwargs)

    monkeypatch.setattr(amqp.channel.Channel, "basic_ack", spied)
    with rpc(system, "catalog") as catalog:
        catalog.add_copies({**TITLE, "copies": 40})
    wait_until(lambda: len(archived(system, "catalog")) == 40, what="40 copies archived")
    assert any(multiple for _, multiple in acks), acks

    with rpc(system, "catalog") as catalog:  # settled, nothing left held: the next is taken
        [barcode] = catalog.add_copies({**TITLE, "copies": 1})["barcodes"]
    with rpc(system, "circulation") as circulation:
        wait_until(lambda: _availability(circulation, barcode), what="the next copy")
    wait_until(lambda: len(archived(system, "catalog")) == 41, what="the next copy archived")
    wait_until(
        lambda: all(
            (queue.ready, queue.unacked) == (0, 0)
            for queue in broker.queues(system)
            if queue.name.endswith(".from.catalog")
        ),
        what="no catalog event left in a follower's queue",
    )
