"""The service layer without the broker: nameko's ``worker_factory`` over the test PostgreSQL.

Each service class is instantiated as a worker with real dependencies in place of
nameko's (its event store and unit of work on the test database, the rules from
the config), and its entrypoints are called as methods. What the broker would
carry between services (catalog's events to circulation's copy model) is handed
over by the test, so a command's whole handling is seen in milliseconds.
"""

from __future__ import annotations

import uuid

import pytest
from nameko.testing.services import worker_factory

from services.catalog.projections import CopyIndex
from services.catalog.service import CatalogService
from services.circulation.policies import rules_from_config
from services.circulation.projections import INLINE, CopyAvailability
from services.circulation.service import CirculationService
from shared.config import load_config
from shared.errors import NotFound
from shared.eventsourcing.decider import Refused
from shared.eventsourcing.pipeline import CommandReused
from shared.eventsourcing.store import EventStore
from shared.runtime.dependencies import StoreAccess
from tests.factories import book_added

TITLE = {k: v for k, v in book_added().items() if k not in ("barcode",)}
DESK = {"campus": "north", "on": "2026-10-12"}


class WorkerContext:
    """What ``StoreAccess`` reads of nameko's worker context: ids for the envelope."""

    context_data: dict = {}
    call_id = "test.service_layer.1"


@pytest.fixture
def school(pool_for):
    settings = load_config()
    for projection in INLINE:
        projection.configure(settings)

    def store(service, inline):
        return StoreAccess(pool_for(service), EventStore(service), WorkerContext(), inline, {})

    catalog = worker_factory(CatalogService, store=store("catalog", (CopyIndex(),)))
    circulation = worker_factory(
        CirculationService,
        store=store("circulation", INLINE),
        rules=rules_from_config(settings),
        campus=None,
    )

    def deliver_catalog_news():
        """What circulation's subscriber would do: catalog's events into its copy model."""
        with pool_for("catalog").transaction() as cursor:
            events = EventStore("catalog").read(cursor, 0, 10_000)
        with pool_for("circulation").transaction() as cursor:
            cursor.execute("DELETE FROM copy_availability")
            CopyAvailability().apply_many(cursor, events)

    return catalog, circulation, deliver_catalog_news


def test_a_lend_is_decided_recorded_and_answered_without_a_broker(school):
    catalog, circulation, deliver = school
    [barcode] = catalog.add_copies({**TITLE, "copies": 1})["barcodes"]
    deliver()
    patron = circulation.issue_card({"name": "李雷", "kind": "teacher", "campus": "north"})
    patron = patron["patron_id"]
    loan = circulation.lend({"barcode": barcode, "patron_id": patron, **DESK})
    assert loan["barcode"] == barcode and loan["due_on"] == "2026-11-11"  # a teacher: 30 days
    availability = circulation.copy_availability(barcode)
    assert (availability["status"], availability["available"]) == ("on_loan", False)
    assert availability["loan_id"] == loan["loan_id"]
    with pytest.raises(Refused) as again:
        circulation.lend({"barcode": barcode, "patron_id": patron, **DESK})
    assert again.value.code == "copy_on_loan"


def test_a_command_id_answers_its_receipt_again_and_refuses_other_parameters(school):
    catalog, circulation, deliver = school
    first, second = catalog.add_copies({**TITLE, "copies": 2})["barcodes"]
    deliver()
    patron = circulation.issue_card({"name": "韩梅梅", "kind": "teacher", "campus": "north"})
    key = str(uuid.uuid4())
    lend = {"barcode": first, "patron_id": patron["patron_id"], **DESK, "command_id": key}
    loan = circulation.lend(lend)
    assert circulation.lend(lend) == loan
    with pytest.raises(CommandReused) as reused:
        circulation.lend({**lend, "barcode": second})
    assert reused.value.code == "command_id_reused"
    with pytest.raises(CommandReused):
        circulation.renew({"loan_id": loan["loan_id"], "command_id": key})
    assert circulation.copy_availability(second)["available"] is True


def test_a_reference_book_is_not_available_and_is_never_lent(school):
    catalog, circulation, deliver = school
    [barcode] = catalog.add_copies({**TITLE, "copies": 1, "reference_only": True})["barcodes"]
    deliver()
    availability = circulation.copy_availability(barcode)
    assert (availability["status"], availability["available"]) == ("on_shelf", False)
    patron = circulation.issue_card({"name": "王芳", "kind": "teacher", "campus": "north"})
    with pytest.raises(Refused) as refused:
        circulation.lend({"barcode": barcode, "patron_id": patron["patron_id"], **DESK})
    assert refused.value.code == "reference_only"


def test_a_copy_on_no_loan_is_refused_at_return_and_an_unknown_one_is_not_found(school):
    catalog, circulation, deliver = school
    [barcode] = catalog.add_copies({**TITLE, "copies": 1})["barcodes"]
    deliver()
    with pytest.raises(Refused) as refused:
        circulation.return_copy({"barcode": barcode, **DESK})
    assert refused.value.code == "not_on_loan"
    with pytest.raises(NotFound):
        circulation.return_copy({"barcode": "C99999999", **DESK})
