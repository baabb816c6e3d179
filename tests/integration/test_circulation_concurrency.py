"""The enrollment rush: several circulation instances, many desks, one truth.

Three real ``nameko run`` processes compete for circulation's RPC queue; desks
fire at the same moment. Correctness comes from the copy row lock and the card
stream's optimistic concurrency, not from running one instance.
"""

import eventlet
import pytest
from eventlet.event import Event
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ServiceRpcProxy

from services.catalog.service import CatalogService
from tests.factories import book_added
from tests.helpers import wait_until

INSTANCES = 3
DESKS = 8
ROUNDS = 4
TITLE = {k: v for k, v in book_added().items() if k != "barcode"}


@pytest.fixture
def rush(config, runner_factory, nameko_processes):
    runner_factory(config, CatalogService).start()
    nameko_processes("circulation", INSTANCES)
    return config


def at_once(config, calls):
    """Run each call from its own desk (own RPC connection), all released together."""
    start, outcomes, ready = Event(), [None] * len(calls), []

    def desk(index, call):
        with ServiceRpcProxy("circulation", config, timeout=30) as circulation:
            ready.append(index)
            start.wait()
            try:
                outcomes[index] = ("ok", call(circulation))
            except RemoteError as error:
                outcomes[index] = (error.exc_type, error.value)

    threads = [eventlet.spawn(desk, index, call) for index, call in enumerate(calls)]
    wait_until(lambda: len(ready) == len(calls), what="every desk to connect")
    start.send()
    for thread in threads:
        thread.wait()
    return outcomes


def setup_copies(config, count, **title):
    with ServiceRpcProxy("catalog", config, timeout=20) as catalog:
        barcodes = catalog.add_copies({**TITLE, **title, "copies": count})["barcodes"]
    with ServiceRpcProxy("circulation", config, timeout=20) as circulation:
        wait_until(lambda: _known(circulation, barcodes[-1]), what="copies in circulation")
        return barcodes, circulation


def _known(circulation, barcode):
    try:
        return circulation.copy_availability(barcode)
    except RemoteError:
        return None


def lent_events(pool, barcode):
    with pool.transaction() as cursor:
        cursor.execute(
            "SELECT count(*) FROM events WHERE type = 'Lent' AND data->>'barcode' = %s", (barcode,)
        )
        return cursor.fetchone()[0]


def test_eight_desks_lending_the_same_copy_at_once_lend_it_exactly_once(rush, pool_for):
    barcodes, _ = setup_copies(rush, ROUNDS)
    with ServiceRpcProxy("circulation", rush, timeout=20) as circulation:
        patrons = [
            circulation.issue_card(
                {"name": f"学生{n}", "kind": "student", "class": "G7-1", "campus": "north"}
            )["patron_id"]
            for n in range(DESKS)
        ]
    for barcode in barcodes:
        outcomes = at_once(
            rush,
            [
                lambda c, p=patron, b=barcode: c.lend(
                    {"barcode": b, "patron_id": p, "campus": "north"}
                )
                for patron in patrons
            ],
        )
        winners = [o for o in outcomes if o[0] == "ok"]
        assert len(winners) == 1, outcomes
        losers = [o for o in outcomes if o[0] != "ok"]
        assert all(kind == "Refused" and "already on loan" in text for kind, text in losers)
        assert lent_events(pool_for("circulation"), barcode) == 1


def test_a_student_at_the_limit_borrowing_at_two_desks_at_once_never_exceeds_it(rush):
    barcodes, _ = setup_copies(rush, ROUNDS * 4)
    with ServiceRpcProxy("circulation", rush, timeout=20) as circulation:
        for round_number in range(ROUNDS):
            books = barcodes[round_number * 4 : round_number * 4 + 4]
            patron = circulation.issue_card(
                {
                    "name": f"学生{round_number}",
                    "kind": "student",
                    "class": "G7-2",
                    "campus": "north",
                }
            )["patron_id"]
            for barcode in books[:2]:
                circulation.lend({"barcode": barcode, "patron_id": patron, "campus": "north"})
            outcomes = at_once(
                rush,
                [
                    lambda c, b=barcode, p=patron: c.lend(
                        {"barcode": b, "patron_id": p, "campus": "north"}
                    )
                    for barcode in books[2:]
                ],
            )
            assert sorted(kind for kind, _ in outcomes) == ["Refused", "ok"], outcomes
            refused = next(text for kind, text in outcomes if kind == "Refused")
            assert "the limit for a student card is 3" in refused
            assert len(circulation.patron_loans(patron)["loans"]) == 3
