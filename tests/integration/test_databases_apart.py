"""Databases apart, with real services: catalog's database on the main PostgreSQL
server, circulation's on a second one (``infra/extra_postgres.sh``'s ``apart``
cluster, port 5434), and a copy still goes from the shelf to a reader and shows
as on loan in the catalogue: the two services meet only over RabbitMQ.

The whole suite that way: ``make test-apart`` (infra/test_apart.sh).
"""

from __future__ import annotations

import fcntl
import os
import subprocess
from datetime import date

import pytest
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ServiceRpcProxy

from services.catalog.service import CatalogService
from services.circulation.service import CirculationService
from shared.config import REPO_ROOT
from shared.storage.pool import DatabaseUnavailable, connect
from shared.storage.scratch_databases import (
    create_scratch_databases,
    drop_scratch_databases,
    empty_database,
)
from shared.storage.servers import database_of, server_of, with_database
from tests.factories import book_added
from tests.helpers import wait_until

APART_CLUSTER = os.environ.get("APART_PG_CLUSTER", "apart")
APART_PORT = int(os.environ.get("APART_PG_PORT", "5434"))
DB_PASSWORD = os.environ.get("LIBRARY_DB_PASSWORD", "library")
APART_DSN = f"postgresql://library:{DB_PASSWORD}@127.0.0.1:{APART_PORT}/postgres"
PREFIX = "libapart_"
TITLE = {k: v for k, v in book_added().items() if k != "barcode"}
LOCK = "/tmp/library-postgres-apart.lock"  # machine-wide, as the cluster is


def answers(dsn: str) -> bool:
    try:
        connect(dsn).close()
    except DatabaseUnavailable:
        return False
    return True


def extra_postgres(action: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "infra/extra_postgres.sh", action, APART_CLUSTER, str(APART_PORT)],
        cwd=REPO_ROOT,
        env={**os.environ, "EXTRA_POSTGRES_DATABASES": ""},
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.fixture(scope="module")
def apart_server():
    """The second PostgreSQL server: its admin DSN. Started if it was not running, and
    then stopped after this module (a test run leaves nothing of its own running);
    one running already (``make test-apart``'s) is left as it was."""
    with open(LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        started_here = not answers(APART_DSN)
        if started_here:
            started = extra_postgres("start")
            assert started.returncode == 0, started.stdout + started.stderr
    yield APART_DSN
    if started_here:
        stopped = extra_postgres("stop")
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr


@pytest.fixture(scope="module")
def apart_circulation(apart_server):
    """A scratch database for circulation on the second server, for this module: dropped
    after the module, once every test's services have stopped."""
    moved = {"DATABASES": {"circulation": apart_server}}
    dsns = create_scratch_databases(moved, PREFIX, services=("circulation",))
    yield dsns["circulation"]
    drop_scratch_databases(moved, PREFIX, services=("circulation",))


@pytest.fixture
def apart(config, apart_circulation):
    """The test's config with circulation's database, emptied, on the second server."""
    empty_database(apart_circulation)
    return {**config, "DATABASES": {**config["DATABASES"], "circulation": apart_circulation}}


def databases_on(dsn: str) -> set[str]:
    conn = connect(with_database(dsn, "postgres"))
    try:
        with conn, conn.cursor() as cursor:
            cursor.execute("SELECT datname FROM pg_database")
            return {row[0] for row in cursor.fetchall()}
    finally:
        conn.close()


def event_types(dsn: str) -> list[str]:
    conn = connect(dsn)
    try:
        with conn, conn.cursor() as cursor:
            cursor.execute("SELECT type FROM events ORDER BY position")
            return [row[0] for row in cursor.fetchall()]
    finally:
        conn.close()


def test_a_loan_goes_end_to_end_with_catalog_and_circulation_on_two_servers(runner_factory, apart):
    catalog_dsn, circulation_dsn = apart["DATABASES"]["catalog"], apart["DATABASES"]["circulation"]
    assert server_of(catalog_dsn) != server_of(circulation_dsn) == f"localhost:{APART_PORT}"
    # Neither server holds the other's database: a query across would find nothing.
    assert database_of(catalog_dsn) not in databases_on(circulation_dsn)
    assert database_of(circulation_dsn) not in databases_on(catalog_dsn)
    with pytest.raises(DatabaseUnavailable, match="does not exist"):
        connect(with_database(circulation_dsn, database_of(catalog_dsn)))

    runner_factory(apart, CatalogService, CirculationService).start()
    with (
        ServiceRpcProxy("catalog", apart, timeout=20) as catalog,
        ServiceRpcProxy("circulation", apart, timeout=20) as circulation,
    ):
        [barcode] = catalog.add_copies({**TITLE, "copies": 1})["barcodes"]

        def known():
            try:
                return circulation.copy_availability(barcode)
            except RemoteError:
                return None

        assert wait_until(known, timeout=20, what="circulation to see the new copy")["available"]
        patron = circulation.issue_card(
            {"name": "李雷", "kind": "student", "class": "G7-3", "campus": "north"}
        )["patron_id"]
        loan = circulation.lend(
            {"barcode": barcode, "patron_id": patron, "campus": "north", "on": "2026-10-12"}
        )
        assert loan["due_on"] == date(2026, 10, 26).isoformat()
        copy = wait_until(
            lambda: (found := catalog.get_copy(barcode))["status"] == "on_loan" and found,
            timeout=20,
            what="the catalogue to show the loan",
        )
        assert copy["due_on"] == loan["due_on"]
        assert circulation.patron_loans(patron)["loans"][0]["barcode"] == barcode

    # Each decision is in its own service's store, on its own server.
    assert event_types(catalog_dsn) == ["BookAdded"]
    assert "Lent" in event_types(circulation_dsn) and "BookAdded" not in event_types(
        circulation_dsn
    )
