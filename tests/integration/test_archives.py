"""Archives over real RabbitMQ and PostgreSQL: a librarian's term, seen in the books of record."""

from datetime import date, timedelta

import pytest
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ClusterRpcProxy

from services.archives.projections import FOLLOWED
from services.archives.service import ArchivesService
from services.catalog.service import CatalogService
from services.circulation.service import CirculationService
from shared.events.envelope import Envelope
from shared.eventsourcing.rebuild import rebuild
from tests.factories import book_added
from tests.helpers import wait_until

TITLE = {k: v for k, v in book_added().items() if k != "barcode"}
DAY = date(2026, 10, 12)


@pytest.fixture
def library(runner_factory, config):
    runner_factory(config, CatalogService, CirculationService, ArchivesService).start()
    with ClusterRpcProxy(config, timeout=30) as cluster:
        yield cluster


def settled(library):
    """True once every archives projection has caught up with every source."""
    lags = library.archives.projection_lag()
    expected = {(p.name, s) for p in FOLLOWED for s in p.sources if s in ("catalog", "circulation")}
    seen = {(row["projection"], row["source"]) for row in lags if row["lag"] == 0}
    return expected <= seen


def a_term_of_work(library):
    """Acquisitions, damage and repair, weeding, a transfer, loans, a loss: one busy term."""
    catalog, circulation = library.catalog, library.circulation
    novels = catalog.add_copies({**TITLE, "copies": 3})["barcodes"]
    manuals = catalog.add_copies(
        {
            **TITLE,
            "isbn": "978-0-306-40615-7",
            "title": "Python 编程",
            "author": "Guido",
            "classification": "TP312",
            "campus": "south",
            "price": "88.00",
            "copies": 2,
        }
    )["barcodes"]
    gift = catalog.add_copies({**TITLE, "acquisition": "donation", "price": "10.00"})["barcodes"]
    catalog.mark_damaged({"barcode": novels[0], "note": "torn spine"})
    catalog.repair({"barcode": novels[0], "note": "rebound"})
    catalog.weed({"barcode": gift[0], "reason": "outdated"})
    catalog.transfer({"barcode": novels[2], "to_campus": "south", "shelf": "S-I-01"})
    wait_until(lambda: _known(circulation, novels[1]) and _known(circulation, manuals[1]))

    teacher = circulation.issue_card({"name": "王老师", "kind": "teacher", "campus": "north"})
    student = circulation.issue_card(
        {"name": "李雷", "kind": "student", "class": "G7-3", "campus": "south"}
    )
    staff_loan = circulation.lend(
        {
            "barcode": novels[1],
            "patron_id": teacher["patron_id"],
            "campus": "north",
            "on": DAY.isoformat(),
        }
    )
    lost = circulation.lend(
        {
            "barcode": manuals[0],
            "patron_id": student["patron_id"],
            "campus": "south",
            "on": DAY.isoformat(),
        }
    )
    # Reserved while a copy is on the shelf: that copy is put aside for the teacher.
    circulation.reserve(
        {"patron_id": teacher["patron_id"], "isbn": "978-0-306-40615-7", "campus": "south"}
    )
    circulation.declare_lost({"loan_id": lost["loan_id"]})
    wait_until(lambda: catalog.get_copy(manuals[0])["status"] == "weeded", what="lost -> weeded")
    circulation.return_copy(
        {"barcode": novels[1], "campus": "north", "on": (DAY + timedelta(days=3)).isoformat()}
    )
    return {"novels": novels, "manuals": manuals, "gift": gift, "staff_loan": staff_loan}


def _known(circulation, barcode):
    try:
        return circulation.copy_availability(barcode)
    except RemoteError:
        return None


def test_the_books_of_record_follow_a_term_of_work(library):
    work = a_term_of_work(library)
    wait_until(lambda: settled(library), what="archives to catch up")
    archives = library.archives

    general = {row["campus"]: row for row in archives.general_ledger()}
    assert general["north"]["held"] == 2 and general["north"]["held_value"] == "119.40"
    assert general["north"]["added"] == 4 and general["north"]["weeded"] == 1
    assert general["north"]["transferred_out"] == 1
    assert general["south"]["held"] == 2 and general["south"]["transferred_in"] == 1
    assert general["south"]["lost"] == 1 and general["south"]["weeded_value"] == "88.00"
    assert general["all"]["held"] == 4 and general["all"]["on_loan"] == 0

    by_class = {row["class_letter"]: row for row in archives.classification_ledger()}
    assert by_class["I"]["held"] == 3 and by_class["T"]["held"] == 1
    north_only = {r["class_letter"]: r for r in archives.classification_ledger({"campus": "north"})}
    assert north_only["I"]["held"] == 2 and "T" not in north_only

    writeoffs = archives.writeoff_ledger()
    assert sorted(row[5] for row in writeoffs["rows"]) == ["lost", "outdated"]
    assert writeoffs["by_reason"]["lost"] == {"copies": 1, "value": "88.00"}

    staff = archives.register({"name": "staff_loans"})
    assert [(r[2], r[3], r[8]) for r in staff["rows"]] == [
        ("王老师", work["novels"][1], "returned")
    ]
    purchases = archives.register({"name": "purchases"})
    assert sorted((r[2], r[5]) for r in purchases["rows"]) == [("Python 编程", 2), ("红楼梦", 3)]
    repairs = archives.register({"name": "repairs"})
    assert [(r[1], r[4], r[7]) for r in repairs["rows"]] == [
        (work["novels"][0], "torn spine", "rebound")
    ]
    reservations = archives.register({"name": "teacher_reservations"})
    assert [(r[2], r[5]) for r in reservations["rows"]] == [("王老师", "open")]
    # The files (CSV, XLSX) are the gateway's, paging through these tables.
    assert archives.register({"name": "purchases", "limit": 1})["total"] == 2


def caught_up_with_catalog(library):
    """True once the copy ledger and the registers have applied every catalog event."""
    lags = {(r["projection"], r["source"]): r["lag"] for r in library.archives.projection_lag()}
    return all(lags.get((name, "catalog")) == 0 for name in ("copy_ledger", "catalog_registers"))


def test_a_repair_stays_registered_at_the_campus_where_it_was_done(library):
    catalog = library.catalog
    [copy] = catalog.add_copies({**TITLE, "campus": "north", "copies": 1})["barcodes"]
    catalog.mark_damaged({"barcode": copy, "note": "torn spine"})
    catalog.repair({"barcode": copy, "note": "rebound at north"})
    catalog.transfer({"barcode": copy, "to_campus": "south", "shelf": "S-I-01"})
    catalog.mark_damaged({"barcode": copy, "note": "water damage"})
    catalog.repair({"barcode": copy, "note": "dried at south"})
    wait_until(lambda: caught_up_with_catalog(library), what="archives to follow the catalog")
    archives = library.archives
    held = {row["campus"]: row["held"] for row in archives.general_ledger()}
    assert (held["north"], held["south"]) == (0, 1)  # the copy is south's now

    def repairs(**where):
        table = archives.register({"name": "repairs", **where})
        return sorted((r[3], r[1], r[4], r[7]) for r in table["rows"])

    assert repairs() == [
        ("north", copy, "torn spine", "rebound at north"),
        ("south", copy, "water damage", "dried at south"),
    ]
    assert repairs(campus="north") == [("north", copy, "torn spine", "rebound at north")]
    assert repairs(campus="south") == [("south", copy, "water damage", "dried at south")]


def test_registers_refuse_unknown_names_and_bad_periods(library):
    with pytest.raises(RemoteError) as unknown:
        library.archives.register({"name": "secret"})
    assert unknown.value.exc_type == "BadRequest" and "name" in unknown.value.value
    with pytest.raises(RemoteError) as backwards:
        library.archives.general_ledger({"since": "2026-12-01", "until": "2026-11-01"})
    assert "since" in backwards.value.value


def test_the_replay_feed_and_the_timeline(library):
    a_term_of_work(library)
    wait_until(lambda: settled(library), what="archives to catch up")
    archives = library.archives
    catalog_events = archives.events("catalog", 0, 1000)
    assert [e["position"] for e in catalog_events] == list(range(1, len(catalog_events) + 1))
    assert catalog_events == library.catalog.events_since(0, 1000)

    everything, after = [], {}
    while page := archives.timeline({**after, "limit": 7}):
        everything += page
        last = page[-1]
        after = {
            "after_recorded_at": last["recorded_at"],
            "after_source": last["source"],
            "after_position": last["position"],
        }
    keys = [(e["recorded_at"], e["source"], e["position"]) for e in everything]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert {e["source"] for e in everything} >= {"catalog", "circulation"}


def test_closing_a_term_freezes_its_report_once(library):
    a_term_of_work(library)
    wait_until(lambda: settled(library), what="archives to catch up")
    archives = library.archives
    report = archives.close_term({"term": "2026-autumn", "on": "2027-01-23"})
    assert report["loans"] == {"total": 2, "by_kind": {"student": 1, "teacher": 1}}
    assert report["most_read_titles"][0]["loans"] == 1
    assert report["most_active_classes"] == [
        {"class_name": "G7-3", "loans": 1, "readers": 1, "students": 1}
    ]
    assert report["loans_per_student"] == "1.00"
    assert archives.term_report({"term": "2026-autumn"})["closed"] is True

    with pytest.raises(RemoteError) as again:
        archives.close_term({"term": "2026-autumn"})
    assert again.value.exc_type == "Refused" and "already closed on 2027-01-23" in again.value.value
    with pytest.raises(RemoteError) as early:
        archives.close_term({"term": "2027-spring", "on": "2027-01-01"})
    assert "cannot be closed before it has begun" in early.value.value
    with pytest.raises(RemoteError) as unknown:
        archives.close_term({"term": "1999-autumn"})
    assert unknown.value.exc_type == "NotFound"

    def archived_closings():  # the archive takes the archives' own events like any other's
        found = [e for e in archives.events("archives", 0, 10) if e["type"] == "TermClosed"]
        return found or None

    closed = wait_until(archived_closings, what="TermClosed in the archive")
    assert len(closed) == 1 and closed[0]["data"]["report"] == report


def snapshot(pool, tables):
    with pool.transaction() as cursor:
        result = {}
        for table in tables:
            cursor.execute(f"SELECT * FROM {table} ORDER BY 1, 2, 3")
            result[table] = cursor.fetchall()
        return result


def test_every_archives_projection_rebuilds_to_what_was_built_live(library, pool_for):
    a_term_of_work(library)
    wait_until(lambda: settled(library), what="archives to catch up")
    pool = pool_for("archives")

    def read_feed(source, after, limit):
        raw = getattr(library, source).events_since(after, limit)
        return [Envelope.from_dict(item) for item in raw]

    for projection in FOLLOWED:
        if projection.name == "event_archive":
            continue  # it also archives the archives' own feed, covered below
        live = snapshot(pool, projection.tables)
        report = rebuild(pool, projection, read_feed, batch=3)
        assert report.events > 0
        assert snapshot(pool, projection.tables) == live, projection.name
    lags = {(r["projection"], r["source"]): r["lag"] for r in library.archives.projection_lag()}
    assert lags[("copy_ledger", "catalog")] == 0 and lags[("loan_records", "circulation")] == 0
