"""Who did what, over real RabbitMQ and PostgreSQL: the caller the gateway names in
nameko's context data (``context_data["actor"]``, the AMQP header ``nameko.actor``)
is on every event its command records, on what other services record in reaction,
in the archive, in the books of record, in ``audit`` and in ``copy_history``."""

from contextlib import ExitStack
from datetime import timedelta

import pytest
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ClusterRpcProxy

from services.archives import queries
from services.archives.projections import FOLLOWED
from services.archives.service import ArchivesService
from services.catalog.service import CatalogService
from services.circulation.service import CirculationService
from shared.runtime.school_calendar import calendar_from_config
from tests.factories import book_added
from tests.helpers import wait_until

TITLE = {k: v for k, v in book_added().items() if k != "barcode"}
LIBRARIAN = {"id": "acct-7", "username": "wang.li", "role": "librarian"}
ASSISTANT = {"id": "acct-9", "username": "李助理", "role": "assistant"}


@pytest.fixture
def desk(runner_factory, config):
    """``desk(actor)``: a cluster proxy whose calls carry ``actor`` in their context data
    (as the gateway's will); ``desk()`` one that names nobody, as the CLI does."""
    runner_factory(config, CatalogService, CirculationService, ArchivesService).start()
    with ExitStack() as proxies:

        def open_desk(actor=None):
            context = {} if actor is None else {"actor": actor}
            return proxies.enter_context(ClusterRpcProxy(config, context_data=context, timeout=30))

        yield open_desk


def settled(archives):
    """True once every archives projection has caught up with catalog and circulation."""
    expected = {(p.name, s) for p in FOLLOWED for s in p.sources if s in ("catalog", "circulation")}
    seen = {
        (row["projection"], row["source"]) for row in archives.projection_lag() if not row["lag"]
    }
    return expected <= seen


def copies_at_the_desk(library, count=1, **title):
    """``count`` new copies, once circulation knows them (it follows the catalog)."""
    barcodes = library.catalog.add_copies({**TITLE, **title, "copies": count})["barcodes"]

    def known():
        try:
            return all(library.circulation.copy_availability(b) for b in barcodes)
        except RemoteError:
            return False

    wait_until(known, what="circulation to know the new copies")
    return barcodes


def lines(table):
    """A register's rows as dicts by column name."""
    return [dict(zip(table["columns"], row, strict=True)) for row in table["rows"]]


def stored_actors(pool, event_type):
    with pool.transaction() as cursor:
        cursor.execute("SELECT actor FROM events WHERE type = %s ORDER BY position", (event_type,))
        return [actor for (actor,) in cursor.fetchall()]


def test_a_lend_carries_its_actor_from_the_rpc_call_to_the_books_of_record(desk, pool_for):
    librarian, assistant = desk(LIBRARIAN), desk(ASSISTANT)
    [copy] = copies_at_the_desk(librarian)
    teacher = librarian.circulation.issue_card(
        {"name": "王老师", "kind": "teacher", "campus": "north"}
    )
    assistant.circulation.lend(
        {"barcode": copy, "patron_id": teacher["patron_id"], "campus": "north"}
    )

    # The dict put in the context data arrives in the worker intact: stored as it was sent.
    assert stored_actors(pool_for("circulation"), "Lent") == [ASSISTANT]
    assert stored_actors(pool_for("circulation"), "CardIssued") == [LIBRARIAN]
    feed = {e["type"]: e for e in librarian.circulation.events_since(0, 100)}
    assert feed["Lent"]["actor"] == ASSISTANT

    archives = librarian.archives
    wait_until(lambda: settled(archives), what="archives to catch up")
    archived = {e["type"]: e for e in archives.events("circulation", 0, 100)}
    assert archived["Lent"]["actor"] == ASSISTANT and archived == feed

    [loan] = lines(archives.register({"name": "staff_loans"}))
    assert (loan["barcode"], loan["by"], loan["by_role"]) == (copy, "李助理", "assistant")
    assert (loan["returned_by"], loan["returned_by_role"]) == (None, None)
    [purchase] = lines(archives.register({"name": "purchases"}))
    assert (purchase["by"], purchase["by_role"]) == ("wang.li", "librarian")
    columns = archives.register({"name": "staff_loans"})["columns"]
    assert columns[-5:] == ["status", "by", "by_role", "returned_by", "returned_by_role"]

    by_name = archives.audit({"actor": "李助理"})
    assert [(e["source"], e["type"], e["actor"]) for e in by_name["events"]] == [
        ("circulation", "Lent", ASSISTANT)
    ]
    assert by_name["next_after"] is None
    assert archives.audit({"actor": "acct-9"}) == by_name  # by the account's id too

    history = archives.copy_history({"barcode": copy})
    assert history["barcode"] == copy
    assert [(e["source"], e["type"], e["actor"]) for e in history["events"]] == [
        ("catalog", "BookAdded", LIBRARIAN),
        ("circulation", "Lent", ASSISTANT),
    ]
    assert set(history["events"][1]) == {
        "type",
        "source",
        "position",
        "event_id",
        "occurred_at",
        "recorded_at",
        "campus",
        "actor",
        "data",
        "step",
        "on",
        "by",
        "patron",
    }
    assert history["events"][1]["data"]["patron_id"] == teacher["patron_id"]


def test_what_a_service_records_in_reaction_carries_the_actor_of_its_cause(desk, pool_for):
    librarian, assistant, nobody = desk(LIBRARIAN), desk(ASSISTANT), desk()
    torn, lost = copies_at_the_desk(librarian, count=2)
    teacher = librarian.circulation.issue_card(
        {"name": "王老师", "kind": "teacher", "campus": "north"}
    )
    librarian.circulation.lend(
        {"barcode": torn, "patron_id": teacher["patron_id"], "campus": "north"}
    )
    assistant.circulation.return_copy({"barcode": torn, "campus": "north", "condition": "damaged"})
    loan = nobody.circulation.lend(
        {"barcode": lost, "patron_id": teacher["patron_id"], "campus": "north"}
    )
    lent = librarian.circulation.events_since(0, 100)[-1]
    assert (lent["type"], lent["data"]["barcode"], lent["actor"]) == ("Lent", lost, None)
    librarian.circulation.declare_lost({"loan_id": loan["loan_id"]})

    catalog = pool_for("catalog")
    # catalog marks the copy damaged because the assistant took it back damaged, and
    # weeds the lost one because the librarian declared it lost: their events, their actors
    wait_until(lambda: stored_actors(catalog, "CopyDamaged"), what="catalog to react")
    assert stored_actors(catalog, "CopyDamaged") == [ASSISTANT]
    wait_until(lambda: stored_actors(catalog, "Weeded"), what="catalog to weed the lost copy")
    assert stored_actors(catalog, "Weeded") == [LIBRARIAN]
    librarian.catalog.repair({"barcode": torn, "note": "rebound"})

    archives = librarian.archives
    wait_until(lambda: settled(archives), what="archives to catch up")
    [repair] = lines(archives.register({"name": "repairs"}))
    assert (repair["by"], repair["by_role"]) == ("李助理", "assistant")
    assert (repair["repaired_by"], repair["repaired_by_role"]) == ("wang.li", "librarian")
    loans = {line["barcode"]: line for line in lines(archives.register({"name": "staff_loans"}))}
    assert (loans[torn]["by"], loans[torn]["returned_by"]) == ("wang.li", "李助理")
    assert (loans[lost]["by"], loans[lost]["by_role"]) == (None, None)  # the CLI's: nobody
    [weeded] = lines(archives.writeoff_ledger())
    assert (weeded["barcode"], weeded["by"], weeded["by_role"]) == (lost, "wang.li", "librarian")


def test_audit_pages_newest_first_by_actor_and_period_without_repeats(desk, config):
    librarian, assistant, nobody = desk(LIBRARIAN), desk(ASSISTANT), desk()
    barcodes = copies_at_the_desk(librarian, count=5)
    teacher = nobody.circulation.issue_card(
        {"name": "王老师", "kind": "teacher", "campus": "north"}
    )
    for barcode in barcodes[:3]:
        assistant.circulation.lend(
            {"barcode": barcode, "patron_id": teacher["patron_id"], "campus": "north"}
        )
    archives = librarian.archives
    wait_until(lambda: settled(archives), what="archives to catch up")

    def pages(**query):
        found, after = [], {}
        while True:
            page = archives.audit({**query, **after, "limit": 2})
            assert len(page["events"]) <= 2
            found += page["events"]
            if page["next_after"] is None:
                return found
            after = {"after": page["next_after"]}

    def keys(events):
        return [(e["recorded_at"], e["source"], e["position"]) for e in events]

    theirs = pages(actor="wang.li")
    assert [e["type"] for e in theirs] == ["BookAdded"] * 5
    assert keys(theirs) == sorted(keys(theirs), reverse=True)  # newest first
    assert len(set(keys(theirs))) == 5
    assert pages(actor="acct-9") == archives.audit({"actor": "李助理", "limit": 1000})["events"]
    everyone = pages()
    assert keys(everyone) == sorted(keys(everyone), reverse=True)
    assert {e["type"] for e in everyone if e["actor"] is None} == {"CardIssued"}
    assert len(everyone) == len(set(keys(everyone))) == 5 + 1 + 3

    today = calendar_from_config(config).today()
    assert len(archives.audit({"from": today.isoformat(), "to": today.isoformat()})["events"]) == 9
    assert archives.audit({"from": (today + timedelta(days=1)).isoformat()})["events"] == []
    assert archives.audit({"to": (today - timedelta(days=1)).isoformat()})["events"] == []
    newest = everyone[0]["recorded_at"]
    assert archives.audit({"from": newest})["events"] == everyone[:1]
    assert archives.audit({"to": newest, "limit": 1000})["events"] == everyone


@pytest.mark.parametrize(
    "query, field",
    [
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"from": "2026-13-01"}, "from"),
        ({"from": "2026-10-12T08:00:00"}, "from"),  # a time without its offset
        ({"to": "next tuesday"}, "to"),
        ({"from": "2026-10-12", "to": "2026-10-11"}, "from"),
        ({"after": "nonsense"}, "after"),
        ({"after": "2026-10-12T08:00:00+00:00|library|3"}, "after"),
        ({"actor": ""}, "actor"),
        ({"who": "wang.li"}, "who"),
    ],
)
def test_bad_audit_queries_are_refused_naming_the_field(desk, query, field):
    with pytest.raises(RemoteError) as refused:
        desk(LIBRARIAN).archives.audit(query)
    assert refused.value.exc_type == "BadRequest" and field in refused.value.value


def test_a_copy_history_needs_a_barcode(desk):
    archives = desk(LIBRARIAN).archives
    for query in ({}, {"barcode": "not a barcode"}):
        with pytest.raises(RemoteError) as refused:
            archives.copy_history(query)
        assert refused.value.exc_type == "BadRequest" and "barcode" in refused.value.value
    assert archives.copy_history({"barcode": "C99999999"}) == {"barcode": "C99999999", "events": []}


def test_a_malformed_actor_is_refused_and_nothing_is_recorded(desk, pool_for):
    impostor = desk({"id": "acct-7", "username": "wang.li"})  # no role
    with pytest.raises(RemoteError) as refused:
        impostor.circulation.issue_card({"name": "王老师", "kind": "teacher", "campus": "north"})
    assert refused.value.exc_type == "BadRequest" and "actor" in refused.value.value
    assert stored_actors(pool_for("circulation"), "CardIssued") == []


def test_audit_and_copy_history_read_the_archive_through_their_indexes(pool_for):
    """Each query's expression matches its index (seq scans off: an empty table would
    otherwise be scanned whatever the indexes)."""
    after = (queries.FAR_FUTURE_MOMENT, "", 0)
    params = {
        "actor": "wang.li",
        "since": queries.FAR_PAST_MOMENT,
        "until": queries.FAR_FUTURE_MOMENT,
        "before_at": after[0],
        "before_source": after[1],
        "before_position": after[2],
        "limit": 101,
    }
    with pool_for("archives").transaction() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + queries.AUDIT_ACTOR, params)
        audit_plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("EXPLAIN " + queries.COPY_HISTORY, ("C00000001",))
        history_plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "archived_events_actor_username" in audit_plan
    assert "archived_events_actor_id" in audit_plan
    assert "archived_events_barcode" in history_plan
