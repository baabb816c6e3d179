"""Disaster drills with ``library backup`` and ``library restore`` on the real servers.

A short school history is made through the gateway (a librarian's account, books
catalogued, cards, loans, a return across campuses, a loss paid in part), every read
model is waited for, and ``library backup`` is taken. Then:

1. the event stores alone are restored into fresh databases and every read model is
   rebuilt from events: each read model's table equals the live one row for row;
2. the archives' database is dropped, recreated from its backed-up event store and
   rebuilt from every service's feed: equal row for row to before.

No column is left out of the comparison: every read model's timestamp comes from an
event, none from the clock of the rebuild. The restores go into scratch databases
(drill 1) or into the test's own (drill 2), never into the development databases.
"""

from __future__ import annotations

import inspect
import json
import shutil
import uuid
from datetime import date
from urllib.parse import quote

import pytest
import requests
import yaml
from nameko.testing.utils import get_container

from services.archives.service import ArchivesService
from services.circulation.service import CirculationService
from shared.cli import errors
from shared.cli.app import main
from shared.cli.restore import kept_tables
from shared.config import SERVICES, load_config
from shared.runtime.dependencies import Projections
from shared.runtime.topology import service_class
from shared.storage.migrate import migrate
from shared.storage.pool import connect
from shared.storage.scratch_databases import create_scratch_databases, drop_scratch_databases
from shared.storage.servers import database_of, with_database
from tests.helpers import wait_until

DRILL_PREFIX = "libdrill_"
ON = date(2026, 10, 12)
DESK = {"role": "assistant"}
WITH_ROWS = ("copies", "copy_availability", "loans", "loss_payments", "accounts", "borrowings")
WITH_ROWS += ("archived_events", "ledger_entries", "archive_loans", "register_compensations")
"""Read models the history must give rows, so that equal tables mean something."""


EVENTS = "SELECT * FROM events ORDER BY position"


def config_file(tmp_path, settings, name="config.yml") -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(settings, allow_unicode=True))
    return str(path)


def query(dsn: str, sql: str, args=()) -> list[tuple]:
    conn = connect(dsn)
    try:
        with conn, conn.cursor() as cursor:
            cursor.execute(sql, args)
            return cursor.fetchall()
    finally:
        conn.close()


def heads(dsns: dict[str, str]) -> dict[str, int]:
    return {s: query(dsn, "SELECT coalesce(max(position), 0) FROM events")[0][0]
            for s, dsn in dsns.items()}  # fmt: skip


def settled(dsns: dict[str, str]) -> bool:
    """Every subscribed projection has applied its sources' newest events."""
    now = heads(dsns)
    for service, dsn in dsns.items():
        checkpoints = dict(
            ((p, s), position)
            for p, s, position in query(
                dsn, "SELECT projection, source, position FROM projection_checkpoints"
            )
        )
        for _, attribute in inspect.getmembers(service_class(service)):
            if not isinstance(attribute, Projections):
                continue
            for projection in attribute.projections:
                for source in projection.sources:
                    if now[source] and checkpoints.get((projection.name, source)) != now[source]:
                        return False
    return True


def read_models(service: str, dsn: str) -> dict[str, list[tuple]]:
    """Every table of the database that is not kept beside the events: sorted rows."""
    tables = [
        name
        for (name,) in query(dsn, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        if name not in kept_tables(service)
    ]
    return {
        table: sorted(query(dsn, f"SELECT * FROM {table}"), key=lambda row: tuple(map(repr, row)))
        for table in sorted(tables)
    }


def school_history(people) -> None:
    """A few days at the desk, every read model of every service given rows."""
    people.staff("wang-li", ["librarian"])
    barcodes = people.add_books(copies=4)
    li_lei = people.card(name="李雷", class_name="G7-3")
    han_meimei = people.card(name="韩梅梅", class_name="G7-3")
    loans = [
        people.lend(b, p, on=ON)
        for b, p in zip(barcodes[:3], [li_lei, li_lei, han_meimei], strict=True)
    ]
    assert [loan.status_code for loan in loans] == [201, 201, 201], [x.text for x in loans]
    back = {"barcode": barcodes[0], "campus": "south", "on": ON.isoformat()}
    assert people.post("/api/returns", back, **DESK).status_code == 200
    lost = loans[2].json()["loan_id"]
    assert people.post(f"/api/loans/{lost}/lost", {}).status_code == 200
    paid = people.post(f"/api/loans/{lost}/payment", {"amount": "10.00"})
    assert paid.status_code == 200, paid.text


@pytest.fixture
def backed_up(people, config, tmp_path):
    """The history made, settled and backed up: (people, config path, backup dir, before)."""
    school_history(people)
    dsns = config["DATABASES"]
    wait_until(lambda: settled(dsns), timeout=30, what="every read model to catch up")
    before = {service: read_models(service, dsn) for service, dsn in dsns.items()}
    path = config_file(tmp_path, config)
    directory = tmp_path / "backup"
    assert main(["--config", path, "backup", str(directory)]) == errors.OK
    return path, directory, before


def test_event_stores_alone_restored_into_fresh_databases_rebuild_every_read_model(
    backed_up, config, tmp_path, capsys
):
    path, directory, before = backed_up
    for table in WITH_ROWS:
        assert any(tables.get(table) for tables in before.values()), f"{table} is empty"
    manifest = json.loads((directory / "manifest.json").read_text())
    assert manifest["heads"] == heads(config["DATABASES"])
    saved = (directory / "config.yml").read_text()
    for secret in (":library@", "catalog-dev", "dev-librarian", "dev-reader"):
        assert secret not in saved
    assert main(["backup", "--check", str(directory)]) == errors.OK

    # A backup whose file changed after the manifest was written is refused.
    tampered = tmp_path / "tampered"
    shutil.copytree(directory, tampered)
    with open(tampered / "archives.pgdump", "ab") as handle:
        handle.write(b"\0")
    capsys.readouterr()
    assert main(["--config", path, "restore", str(tampered)]) == errors.FAILED
    assert "archives.pgdump has changed" in capsys.readouterr().err

    base = load_config()
    fresh = create_scratch_databases(base, DRILL_PREFIX)
    api = config["RABBIT_MANAGEMENT_URI"].rstrip("/")
    vhost = f"drill-{uuid.uuid4().hex[:8]}"
    try:
        user = requests.get(f"{api}/api/whoami", timeout=5).json()["name"]
        requests.put(f"{api}/api/vhosts/{vhost}", timeout=5).raise_for_status()
        everything = {"configure": ".*", "write": ".*", "read": ".*"}
        grant = f"{api}/api/permissions/{vhost}/{user}"
        requests.put(grant, json=everything, timeout=5).raise_for_status()
        amqp = config["AMQP_URI"].rsplit("/", 1)[0] + "/" + quote(vhost, safe="")
        drill = config_file(tmp_path, {**config, "DATABASES": fresh, "AMQP_URI": amqp}, "drill.yml")
        code = main(["--config", drill, "restore", str(directory), "--events-only", "--broker"])
        assert code == errors.OK
        after = {service: read_models(service, dsn) for service, dsn in fresh.items()}
        for service in SERVICES:
            assert after[service] == before[service], service
        restored = requests.get(f"{api}/api/queues/{quote(vhost, safe='')}", timeout=5).json()
        saved_queues = json.loads((directory / "broker.json").read_text())["queues"]
        assert {q["name"] for q in restored} == {q["name"] for q in saved_queues} != set()

        # The whole databases restored over them: the events and read models as they were.
        assert main(["--config", drill, "restore", str(directory)]) == errors.OK
        for service, dsn in fresh.items():
            assert read_models(service, dsn) == before[service], service
            live = config["DATABASES"][service]
            assert query(dsn, EVENTS) == query(live, EVENTS), service
    finally:
        requests.delete(f"{api}/api/vhosts/{vhost}", timeout=5)
        drop_scratch_databases(base, DRILL_PREFIX)
    out = capsys.readouterr().out
    assert "[restore] archives: rebuilt 6 read models" in out


def test_the_archives_database_dropped_is_rebuilt_from_every_services_feed(
    backed_up, people, config, capsys
):
    path, directory, before = backed_up
    archives = config["DATABASES"]["archives"]
    restore = ["--config", path, "restore", str(directory), "--service", "archives"]

    # While archives runs, its database is in use: the restore refuses and touches nothing.
    capsys.readouterr()
    assert main([*restore, "--events-only"]) == errors.FAILED
    assert "stop archives first" in capsys.readouterr().err

    get_container(people.runner, ArchivesService).stop()
    admin = connect(with_database(archives, "postgres"), autocommit=True)
    try:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE {database_of(archives)} WITH (FORCE)")
    finally:
        admin.close()

    assert main([*restore, "--events-only", "--keep-queues"]) == errors.OK
    assert migrate(archives, "archives") == []  # recreated at the newest migration
    assert read_models("archives", archives) == before["archives"]
    out = capsys.readouterr().out
    assert "[restore] archives: database library" not in out  # only archives, and
    assert "was missing; created it" in out
    assert "broker: its queues left as they are (--keep-queues)" in out


def test_one_database_restored_alone_sets_back_policies_and_names_what_to_rebuild(
    backed_up, people, config, capsys
):
    """Circulation goes back to the backup while the others went on: whatever applied its
    later events would drop its next ones (same positions): named, or set back."""
    path, directory, _ = backed_up
    [barcode] = people.add_books()
    assert people.lend(barcode, people.card(name="张伟"), on=ON).status_code == 201
    dsns = config["DATABASES"]
    wait_until(lambda: settled(dsns), timeout=30, what="every read model to catch up")

    get_container(people.runner, CirculationService).stop()
    capsys.readouterr()
    restore = ["--config", path, "restore", str(directory), "--service", "circulation"]
    assert main(restore) == errors.OK
    out = capsys.readouterr().out
    head = heads(dsns)["circulation"]
    assert head == json.loads((directory / "manifest.json").read_text())["heads"]["circulation"]
    for projection in ("copy_ledger", "loan_records", "event_archive"):
        assert f"warning: archives' {projection} has applied circulation's events up to" in out
    assert "(library rebuild activities borrowings)" in out
    assert "accounts' card_holders had reacted to circulation's events up to" in out
    assert "broker: emptied accounts.from.circulation, activities.from.circulation," in out
    policies = query(
        dsns["accounts"], "SELECT position FROM projection_checkpoints WHERE source = 'circulation'"
    )
    assert policies and {position for (position,) in policies} == {head}
