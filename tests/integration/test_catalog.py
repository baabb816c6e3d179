"""The catalog service on real RabbitMQ and PostgreSQL: commands, search, circulation's news.

Circulation's side is played by its event store and its relay only: events are
appended to the circulation test database and the relay publishes them to
``circulation.events``, exactly as the real circulation service would.
"""

import dataclasses
import threading
import uuid

import eventlet
import pytest
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import entrypoint_waiter
from nameko.testing.utils import get_container

from services.catalog import domain
from services.catalog.projections import CopiesOnLoan, CopyIndex
from services.catalog.reactions import ReturnsAndLosses
from services.catalog.service import CatalogService
from shared.events.envelope import NewEvent
from shared.eventsourcing.projection import ProjectionRunner
from shared.eventsourcing.rebuild import rebuild
from shared.eventsourcing.store import ANY_VERSION, EventStore
from shared.eventsourcing.unit_of_work import UnitOfWork
from shared.messaging.relay import Relay
from tests.factories import book_added
from tests.helpers import wait_until

TITLE = {k: v for k, v in book_added().items() if k != "barcode"}
THREE_BODY = {
    **TITLE,
    "isbn": "978-7-5366-9293-0",
    "title": "三体",
    "author": "刘慈欣",
    "classification": "I247.55",
    "price": "23.00",
}
FLUENT_PYTHON = {
    **TITLE,
    "isbn": "9781491946008",
    "title": "Fluent Python",
    "author": "Luciano Ramalho",
    "classification": "TP312",
    "campus": "south",
    "shelf": "S-TP-01",
    "price": "139.00",
}


@pytest.fixture
def catalog(runner_factory, config):
    runner = runner_factory(config, CatalogService)
    runner.start()
    return runner


def rpc(config):
    return ServiceRpcProxy("catalog", config, timeout=15)


def refused(call, *args):
    """The error a command was answered with, as the caller sees it."""
    with pytest.raises(RemoteError) as caught:
        call(*args)
    return caught.value.exc_type, caught.value.value


def catalog_events(pool_for, barcode):
    with pool_for("catalog").transaction() as cursor:
        return EventStore("catalog").load(cursor, domain.stream_id(barcode))


def add(config, details=TITLE, copies=1):
    with rpc(config) as catalog:
        return catalog.add_copies({**details, "copies": copies})["barcodes"]


# Commands


def test_adding_200_copies_is_one_command_and_each_copy_is_searchable_at_once(catalog, config):
    command = {**THREE_BODY, "copies": 200, "command_id": str(uuid.uuid4())}
    with rpc(config) as service:
        barcodes = service.add_copies(command)["barcodes"]
        assert len(set(barcodes)) == 200
        found = service.search({"isbn": "9787536692930", "limit": 500})
        assert found["total"] == 200
        assert sorted(item["barcode"] for item in found["items"]) == sorted(barcodes)
        assert service.get_copy(barcodes[-1])["status"] == "on_shelf"

        assert service.add_copies(command) == {"barcodes": barcodes}  # a retry
        assert len(service.events_since(0, 1000)) == 200
        assert service.search({"isbn": "9787536692930"})["total"] == 200


def test_a_whole_delivery_of_titles_is_one_command(catalog, config):
    titles = [
        {**TITLE, "copies": 3},
        {**THREE_BODY, "copies": 2},
        {**TITLE, "isbn": "978-0-306-40615-7", "title": "Reference", "reference_only": True},
    ]
    command = {"titles": titles, "command_id": str(uuid.uuid4())}
    with rpc(config) as service:
        answer = service.add_titles(command)
        assert [len(t["barcodes"]) for t in answer["titles"]] == [3, 2, 1]
        assert service.add_titles(command) == answer  # a retry records nothing new
        assert len(service.events_since(0, 100)) == 6
        reference = answer["titles"][2]["barcodes"][0]
        assert service.get_copy(reference)["reference_only"] is True
        assert service.search({"isbn": "9787536692930"})["total"] == 2
        kind, message = refused(service.add_titles, {"titles": [{**TITLE, "copies": 0}]})
        assert kind == "BadRequest" and "titles" in message


def test_a_copy_is_answered_in_full_after_each_change(catalog, config, pool_for):
    (barcode,) = add(config)
    with rpc(config) as service:
        copy = service.get_copy(barcode)
        assert copy == {
            "barcode": barcode,
            **TITLE,
            "status": "on_shelf",
            "weed_reason": None,
            "due_on": None,
            "transit": None,
        }
        damaged = service.mark_damaged({"barcode": barcode, "note": "coffee on pages 40-60"})
        assert damaged == {**copy, "status": "damaged"}
        assert service.repair({"barcode": barcode})["status"] == "on_shelf"
        moved = service.transfer({"barcode": barcode, "to_campus": "south", "shelf": "S-I-02"})
        assert (moved["campus"], moved["shelf"], moved["status"]) == (
            "south",
            "S-I-02",
            "in_transit",
        )
        assert moved["transit"]["from_campus"] == "north"
        arrived = service.receive({"barcode": barcode, "campus": "south"})
        assert (arrived["status"], arrived["transit"]) == ("on_shelf", None)
        assert service.set_reference_only({"barcode": barcode, "reference_only": True})[
            "reference_only"
        ]
        weeded = service.weed({"barcode": barcode, "reason": "outdated", "note": "2019 edition"})
        assert (weeded["status"], weeded["weed_reason"]) == ("weeded", "outdated")
        assert service.get_copy(barcode) == weeded

    events = catalog_events(pool_for, barcode)
    assert [event.type for event in events] == [
        "BookAdded",
        "CopyDamaged",
        "Repaired",
        "Transferred",
        "TransitStarted",
        "ArrivedHome",
        "ReferenceStatusChanged",
        "Weeded",
    ]
    assert events[1].data == {"barcode": barcode, "note": "coffee on pages 40-60"}
    assert events[3].data == {
        "barcode": barcode,
        "from_campus": "north",
        "to_campus": "south",
        "shelf": "S-I-02",
    }
    assert events[4].data == {"barcode": barcode, "from_campus": "north", "to_campus": "south"}
    assert events[7].data == {
        "barcode": barcode,
        "reason": "outdated",
        "value": "59.70",
        "classification": "I242.4",
        "note": "2019 edition",
    }
    # Each event is published under the campus where the copy was when it happened (a
    # transfer's two events under the campus it leaves).
    assert [event.campus for event in events] == ["north"] * 5 + ["south"] * 3


def test_illegal_changes_are_refused_with_the_reason(catalog, config):
    (barcode,) = add(config)
    with rpc(config) as service:
        assert refused(service.repair, {"barcode": barcode}) == (
            "Refused",
            f"Copy {barcode} is not marked damaged, so there is nothing to repair.",
        )
        assert refused(
            service.transfer, {"barcode": barcode, "to_campus": "north", "shelf": "N-1"}
        ) == ("Refused", f"Copy {barcode} is already at the north campus.")
        assert refused(service.set_reference_only, {"barcode": barcode, "reference_only": False})[
            1
        ] == (f"Copy {barcode} is already lendable (not reference-only).")
        service.weed({"barcode": barcode, "reason": "duplicate"})
        assert refused(service.weed, {"barcode": barcode, "reason": "lost"}) == (
            "Refused",
            f"Copy {barcode} was weeded (duplicate) already; it cannot be weeded twice.",
        )
        assert refused(service.mark_damaged, {"barcode": barcode}) == (
            "Refused",
            f"Copy {barcode} was weeded (duplicate); a weeded copy cannot be marked damaged.",
        )
        assert len(service.events_since(0, 100)) == 2


def test_unknown_copies_are_not_found(catalog, config):
    with rpc(config) as service:
        assert refused(service.get_copy, "C99999999") == (
            "NotFound",
            "No copy has barcode C99999999.",
        )
        assert refused(service.mark_damaged, {"barcode": "C99999999"}) == (
            "NotFound",
            "No copy has barcode C99999999.",
        )


def test_bad_requests_name_every_bad_field(catalog, config):
    with rpc(config) as service:
        kind, message = refused(
            service.transfer, {"barcode": "not a barcode", "to_campus": "east", "extra": 1}
        )
        assert kind == "BadRequest"
        assert all(name in message for name in ("barcode", "to_campus", "shelf", "extra"))
        kind, message = refused(service.search, {"limit": 501, "status": "lent"})
        assert kind == "BadRequest" and "limit" in message and "status" in message
        assert refused(service.weed, {"barcode": "C00000001", "reason": "boring"})[0] == (
            "BadRequest"
        )


def test_a_retried_command_records_nothing_new_and_answers_the_copy(catalog, config, pool_for):
    (barcode,) = add(config)
    command = {"barcode": barcode, "note": "torn", "command_id": str(uuid.uuid4())}
    with rpc(config) as service:
        first = service.mark_damaged(command)
        again = service.mark_damaged(command)
        assert again == first and first["status"] == "damaged"
        # A different command is decided, and refused, as usual.
        assert refused(service.mark_damaged, {**command, "command_id": str(uuid.uuid4())})[0] == (
            "Refused"
        )
    assert [event.type for event in catalog_events(pool_for, barcode)] == [
        "BookAdded",
        "CopyDamaged",
    ]


def test_a_change_that_lost_a_race_is_decided_again_on_the_new_state(
    catalog, config, pool_for, monkeypatch
):
    (barcode,) = add(config)
    real_decide = domain.decide
    decided = []

    def decide_while_another_librarian_moves_the_copy(state, command):
        if isinstance(command, domain.MarkDamaged):
            decided.append(state.campus)
            if len(decided) == 1:
                with rpc(config) as other_librarian:
                    other_librarian.transfer(
                        {"barcode": barcode, "to_campus": "south", "shelf": "S-I-01"}
                    )
        return real_decide(state, command)

    racing = dataclasses.replace(domain.COPY, decide=decide_while_another_librarian_moves_the_copy)
    monkeypatch.setattr(domain, "COPY", racing)
    with rpc(config) as service:
        copy = service.mark_damaged({"barcode": barcode})
    assert decided == ["north", "south"]  # decided on the stale copy, then on the moved one
    assert (copy["status"], copy["campus"]) == ("damaged", "south")
    assert [event.type for event in catalog_events(pool_for, barcode)] == [
        "BookAdded",
        "Transferred",
        "TransitStarted",
        "CopyDamaged",
    ]


def test_librarians_marking_one_copy_damaged_at_once_record_it_once(catalog, config, pool_for):
    (barcode,) = add(config)

    def mark():
        with rpc(config) as service:
            try:
                return service.mark_damaged({"barcode": barcode})["status"]
            except RemoteError as error:
                return error.exc_type

    answers = list(eventlet.GreenPool(5).imap(lambda _: mark(), range(5)))
    assert sorted(answers) == ["Refused"] * 4 + ["damaged"]
    assert [event.type for event in catalog_events(pool_for, barcode)] == [
        "BookAdded",
        "CopyDamaged",
    ]


# Search


@pytest.fixture
def shelves(catalog, config):
    """Three titles on two campuses; one copy damaged, one weeded."""
    red = add(config, TITLE, copies=2)
    three_body = add(config, THREE_BODY, copies=3)
    (fluent,) = add(config, FLUENT_PYTHON)
    with rpc(config) as service:
        service.mark_damaged({"barcode": three_body[0]})
        service.weed({"barcode": red[1], "reason": "damaged_beyond_repair"})
    return {"red": red, "three_body": three_body, "fluent": fluent}


def found(config, **query):
    with rpc(config) as service:
        result = service.search(query)
    assert result["total"] >= len(result["items"])
    return sorted(item["barcode"] for item in result["items"])


def test_search_by_title_or_author_ignores_case_and_matches_part_of_a_word(shelves, config):
    assert found(config, q="fluent") == [shelves["fluent"]]
    assert found(config, q="RAMAL") == [shelves["fluent"]]
    assert found(config, q="慈欣") == sorted(shelves["three_body"])
    assert found(config, q="  红楼  ") == sorted(shelves["red"])
    assert found(config, q="100%") == []  # LIKE's wildcards are matched literally


def test_search_text_that_is_an_isbn_finds_the_title_with_or_without_hyphens(shelves, config):
    assert found(config, q="9787536692930") == sorted(shelves["three_body"])
    assert found(config, q="978-1-4919-4600-8") == [shelves["fluent"]]
    assert found(config, isbn="978-7-02-000220-7") == sorted(shelves["red"])


def test_search_by_classification_is_by_prefix(shelves, config):
    literature = sorted(shelves["red"] + shelves["three_body"])
    assert found(config, classification="I2") == literature
    assert found(config, classification="i247") == sorted(shelves["three_body"])
    assert found(config, classification="T") == [shelves["fluent"]]
    assert found(config, classification="I3") == []


def test_search_by_campus_and_status_combines_filters(shelves, config):
    assert found(config, campus="south") == [shelves["fluent"]]
    assert found(config, status="damaged") == [shelves["three_body"][0]]
    assert found(config, status="weeded") == [shelves["red"][1]]
    assert found(config, campus="north", status="on_shelf") == sorted(
        [shelves["red"][0], *shelves["three_body"][1:]]
    )
    assert found(config, q="三体", status="on_shelf", classification="I247") == sorted(
        shelves["three_body"][1:]
    )


def test_search_pages_in_shelf_order_and_counts_every_match(shelves, config):
    with rpc(config) as service:
        everything = service.search()
        first = service.search({"limit": 4})
        rest = service.search({"limit": 4, "offset": 4})
    assert everything["total"] == first["total"] == rest["total"] == 6
    in_order = [item["barcode"] for item in everything["items"]]
    assert [item["barcode"] for item in first["items"] + rest["items"]] == in_order
    assert [item["classification"] for item in everything["items"]] == sorted(
        item["classification"] for item in everything["items"]
    )


# Circulation's news


@pytest.fixture
def circulation(config, pool_for):
    """Circulation as the catalog sees it: its event store, published by its relay."""
    relay = Relay(
        "circulation", config["DATABASES"]["circulation"], config["AMQP_URI"], poll_interval=0.2
    )
    stop = threading.Event()
    thread = eventlet.spawn(relay.run, stop.is_set)
    yield CirculationLog(pool_for("circulation"))
    stop.set()
    thread.wait()


class CirculationLog:
    """Records circulation's events as the circulation service would."""

    def __init__(self, pool):
        self.pool = pool
        self.store = EventStore("circulation")

    def record(self, type_, stream, **data):
        event = NewEvent(
            type_, stream, data, campus=data.get("campus"), correlation_id=str(uuid.uuid4())
        )
        with self.pool.transaction() as cursor:
            return self.store.append(cursor, stream, ANY_VERSION, [event])[0]

    def lend(self, barcode, loan_id):
        return self.record(
            "Lent",
            f"loan-{loan_id}",
            loan_id=loan_id,
            barcode=barcode,
            patron_id="P-2026-0042",
            patron_kind="student",
            class_name="G7-3",
            campus="north",
            lent_on="2026-09-07",
            due_on="2026-09-21",
        )

    def give_back(self, barcode, loan_id, condition):
        return self.record(
            "Returned",
            f"loan-{loan_id}",
            loan_id=loan_id,
            barcode=barcode,
            patron_id="P-2026-0042",
            campus="north",
            returned_on="2026-09-20",
            overdue_days=0,
            condition=condition,
        )

    def declare_lost(self, barcode, loan_id):
        return self.record(
            "DeclaredLost",
            f"loan-{loan_id}",
            loan_id=loan_id,
            barcode=barcode,
            patron_id="P-2026-0042",
            replacement_cost="59.70",
        )

    def republish_everything(self):
        """What a relay that crashed before recording its progress does on restart."""
        with self.pool.transaction() as cursor:
            cursor.execute("UPDATE relay_progress SET position = 0")


def status_of(config, barcode, wanted):
    with rpc(config) as service:
        copy = service.get_copy(barcode)
    return copy if copy["status"] == wanted else None


def test_a_copy_on_loan_shows_as_on_loan_and_cannot_be_moved_or_weeded(
    catalog, config, circulation
):
    (barcode,) = add(config)
    circulation.lend(barcode, "L-1")
    copy = wait_until(lambda: status_of(config, barcode, "on_loan"), what="the loan")
    assert copy["due_on"] == "2026-09-21"
    with rpc(config) as service:
        assert found(config, status="on_loan") == [barcode]
        assert refused(
            service.transfer, {"barcode": barcode, "to_campus": "south", "shelf": "S-1"}
        ) == ("Refused", f"Copy {barcode} is out on loan; transfer it once it has been returned.")
        assert refused(service.weed, {"barcode": barcode, "reason": "outdated"}) == (
            "Refused",
            f"Copy {barcode} is out on loan; weed it once it has been returned, "
            "or when it is declared lost.",
        )

    circulation.give_back(barcode, "L-1", "ok")
    wait_until(lambda: status_of(config, barcode, "on_shelf"), what="the return")
    with rpc(config) as service:
        moved = service.transfer({"barcode": barcode, "to_campus": "south", "shelf": "S-1"})
    assert moved["campus"] == "south"


def test_a_copy_returned_damaged_or_lost_is_recorded_once_even_when_redelivered(
    catalog, config, circulation, pool_for
):
    torn, lost = add(config, copies=2)
    circulation.lend(torn, "L-1")
    circulation.lend(lost, "L-2")
    circulation.give_back(torn, "L-1", "damaged")
    last = circulation.declare_lost(lost, "L-2")

    wait_until(lambda: status_of(config, torn, "damaged"), what="the damaged return")
    weeded = wait_until(lambda: status_of(config, lost, "weeded"), what="the lost copy")
    assert weeded["weed_reason"] == "lost" and weeded["due_on"] is None
    damage = catalog_events(pool_for, torn)[-1]
    assert damage.type == "CopyDamaged"
    assert damage.data == {
        "barcode": torn,
        "loan_id": "L-1",
        "note": "Returned damaged at the north desk on 2026-09-20 (loan L-1).",
    }
    write_off = catalog_events(pool_for, lost)[-1]
    assert (write_off.type, write_off.data["reason"], write_off.data["value"]) == (
        "Weeded",
        "lost",
        "59.70",
    )
    assert write_off.data["note"] == "Declared lost on loan L-2."

    redelivered = set()

    def every_event_seen_again(worker_ctx, result, exc_info):
        if exc_info is None and result.duplicates and not result.applied:
            redelivered.update(event.position for event in worker_ctx.args[0])
        return len(redelivered) == last.position

    container = get_container(catalog, CatalogService)
    with entrypoint_waiter(container, "on_circulation_events", callback=every_event_seen_again):
        circulation.republish_everything()

    assert [event.type for event in catalog_events(pool_for, torn)] == ["BookAdded", "CopyDamaged"]
    assert [event.type for event in catalog_events(pool_for, lost)] == ["BookAdded", "Weeded"]
    with rpc(config) as service:
        assert len(service.events_since(0, 100)) == 4


def test_news_that_changes_nothing_is_taken_in_without_a_dead_letter(
    catalog, config, circulation, pool_for
):
    (barcode,) = add(config)
    circulation.lend(barcode, "L-3")
    wait_until(lambda: status_of(config, barcode, "on_loan"), what="the loan")
    with rpc(config) as service:
        service.mark_damaged({"barcode": barcode, "note": "reported torn by the class teacher"})
    returned = circulation.give_back(barcode, "L-3", "damaged")

    wait_until(lambda: reacted_to(pool_for, returned), what="the reaction to the return")
    assert status_of(config, barcode, "damaged")
    assert [event.type for event in catalog_events(pool_for, barcode)] == [
        "BookAdded",
        "CopyDamaged",
    ]
    with pool_for("catalog").transaction() as cursor:
        cursor.execute("SELECT count(*) FROM parked_events")
        assert cursor.fetchone()[0] == 0


def reacted_to(pool_for, event):
    """True once the catalog's reaction to circulation has passed ``event``."""
    with pool_for("catalog").transaction() as cursor:
        cursor.execute(
            "SELECT position FROM projection_checkpoints WHERE projection = %s AND source = %s",
            (ReturnsAndLosses.name, "circulation"),
        )
        row = cursor.fetchone()
    return row is not None and row[0] >= event.position


def test_the_read_models_rebuilt_from_events_alone_equal_the_live_ones(
    shelves, config, circulation, pool_for
):
    borrowed, read_and_back = shelves["three_body"][1], shelves["three_body"][2]
    circulation.lend(read_and_back, "L-8")
    circulation.lend(borrowed, "L-9")
    circulation.give_back(read_and_back, "L-8", "ok")
    wait_until(lambda: status_of(config, borrowed, "on_loan"), what="the loan")
    wait_until(lambda: status_of(config, read_and_back, "on_shelf"), what="the return")
    with rpc(config) as service:
        service.transfer({"barcode": shelves["fluent"], "to_campus": "north", "shelf": "N-TP"})
        service.set_reference_only({"barcode": shelves["red"][0], "reference_only": True})

    def read_feed(source, after, limit):
        with pool_for(source).transaction() as cursor:
            return EventStore(source).read(cursor, after, limit)

    for projection, table in ((CopyIndex(), "copies"), (CopiesOnLoan(), "copies_on_loan")):
        with pool_for("catalog").transaction() as cursor:
            live = rows(cursor, table)
        report = rebuild(pool_for("catalog"), projection, read_feed, batch=2)
        assert report.events > 2  # replayed in more than one batch
        with pool_for("catalog").transaction() as cursor:
            assert rows(cursor, table) == live
        assert live


def rows(cursor, table):
    cursor.execute(f"SELECT * FROM {table} ORDER BY barcode")
    return cursor.fetchall()


def test_the_copies_a_batch_of_returns_calls_on_are_read_in_one_query(catalog, config, pool_for):
    """``ReturnsAndLosses.streams``: a batch's copies are read ahead together, and what
    the reaction records on one (a damaged return) is read anew, not from before."""
    torn, kept, other = add(config, copies=3)
    log = CirculationLog(pool_for("circulation"))
    for number, barcode in enumerate((torn, kept, other)):
        log.lend(barcode, f"L-{number}")
    ends = [
        log.give_back(torn, "L-0", "damaged"),
        log.give_back(kept, "L-1", "ok"),
        log.give_back(other, "L-2", "ok"),
    ]
    store, read_one_by_one = EventStore("catalog"), []
    load = store.load
    store.load = lambda cursor, stream, **after: (
        read_one_by_one.append(stream) or load(cursor, stream, **after)
    )

    def unit_of_work(cursor, cause, read_ahead=None):
        return UnitOfWork(
            store, cursor, None, cause.event_id, cause.event_id, read_ahead=read_ahead
        )

    runner = ProjectionRunner(
        pool_for("catalog"), [ReturnsAndLosses()], None, unit_of_work=unit_of_work
    )
    with pool_for("catalog").transaction() as cursor:  # as if the loans had been taken in
        cursor.execute(
            "INSERT INTO projection_checkpoints (projection, source, position) VALUES (%s, %s, %s)",
            (ReturnsAndLosses.name, "circulation", ends[0].position - 1),
        )

    outcome = runner.handle_many(ends)

    assert (outcome.applied, outcome.parked) == (3, [])
    # All three read ahead in one query; only the torn copy again, as its damage is
    # recorded (and then read anew, as it is after that).
    assert set(read_one_by_one) == {domain.stream_id(torn)}
    assert [event.type for event in catalog_events(pool_for, torn)][-1] == "CopyDamaged"
    assert [event.type for event in catalog_events(pool_for, kept)] == ["BookAdded"]
