"""``library restore DIR``: put a backup's databases back (and the broker's definitions).

A restore refuses a backup that does not match its manifest, and a database some
process is connected to: the services of what is restored must be stopped first
(``infra/services.sh stop``); the others may run. Each database is restored with
``pg_restore --clean --if-exists --single-transaction`` (a missing database is created
first, with the service's own DSN, as scratch databases are), so a failed restore
leaves the database as it was.

``--events-only`` restores the event stores and what the services need beside them
(commands answered, sequences, the relay's progress, checkpoints, accounts' passwords
and sessions), not the read models, then rebuilds every read model of the restored
services from events: each projection replays its sources' event stores, read from
their databases. ``--broker`` loads the saved definitions into the broker.

Afterwards every checkpoint beyond its source's head (a database restored alone goes
back in time, the others do not) is mended: the restored services' projections are
rebuilt, policies are set back to the head, and the others' projections are named
with the ``library rebuild`` command that mends each. The subscriber queues of the
restored services' events are emptied (``--keep-queues``: not, for a restore into
scratch databases while the config's broker serves the live services).
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.cli import backup, broker_definitions, pg_tools
from shared.cli.errors import CommandFailed, Unreachable, UsageError
from shared.cli.pg_tools import whose
from shared.config import SERVICES, Config, database_url
from shared.events.envelope import Envelope
from shared.storage.pool import ConnectionPool, DatabaseUnavailable, connect
from shared.storage.servers import database_of, with_database

KEPT_EVERYWHERE = (
    "events",
    "commands",
    "relay_progress",
    "projection_checkpoints",
    "parked_events",
    "schema_migrations",
)
"""Tables whose rows ``--events-only`` restores in every database: the event store, the
answers to commands (idempotency), how far the relay published, and the checkpoints
(a policy's, which records events, must not react to history again; a rebuilt
projection's are set by its rebuild)."""
KEPT_BESIDE_EVENTS = {"accounts": ("credentials", "key_secrets", "sessions", "login_failures")}
"""Rows kept outside events on purpose (infra/migrations/accounts/001_accounts.sql):
password hashes, key secrets, sessions and wrong-password counts are never in events,
so no rebuild brings them back."""

IN_USE = """
    SELECT count(*), string_agg(DISTINCT coalesce(nullif(application_name, ''), usename), ', ')
    FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()
"""
Say = Callable[[str], None]


def kept_tables(service: str) -> tuple[str, ...]:
    """The tables whose rows an events-only restore keeps in ``service``'s database."""
    return KEPT_EVERYWHERE + KEPT_BESIDE_EVENTS.get(service, ())


def _admin_connection(dsn: str) -> Any:
    return connect(with_database(dsn, "postgres"), autocommit=True)


def prepare_database(service: str, dsn: str, say: Say) -> None:
    """Make the database if it is gone; refuse one that something is connected to."""
    name = database_of(dsn)
    admin = _admin_connection(dsn)
    try:
        with admin.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{name}"')
                say(f"[restore] {service}: database {name} was missing; created it")
                return
            cursor.execute(IN_USE, (name,))
            count, who = cursor.fetchone()
    finally:
        admin.close()
    if count:
        raise CommandFailed(
            f"{whose(service)} database {name} is in use ({count} connection(s): {who}); "
            f"stop {service} first (infra/services.sh stop {service}), then restore again"
        )


def without_rows_of_others(listing: str, kept: Sequence[str]) -> str:
    """A ``pg_restore --list`` table of contents whose only rows are those of ``kept``
    tables (every table, index, sequence and trigger stays: the schema is whole)."""
    lines = []
    for line in listing.splitlines():
        # "3468; 0 16473 TABLE DATA public events library": id; oids, kind, schema, name
        words = line.split(";", 1)[-1].split()
        if words[2:4] == ["TABLE", "DATA"] and words[5] not in kept:
            continue
        lines.append(line)
    return "\n".join(lines) + "\n"


def events_only_list(pg_restore: str, dump: Path, service: str) -> str:
    """The dump's table of contents without the rows of the read models' tables."""
    listing = pg_tools.run([pg_restore, "--list", str(dump)], None, f"reading {dump.name}")
    return without_rows_of_others(listing, kept_tables(service))


def restore_database(
    service: str, dsn: str, dump: Path, major: int, events_only: bool, workdir: Path
) -> None:
    """``pg_restore`` one dump into its database, in one transaction (all or nothing)."""
    pg_restore = pg_tools.find_tool("pg_restore", major)
    target, env = pg_tools.login(dsn)
    args = [pg_restore, "--clean", "--if-exists", "--no-owner", "--no-privileges"]
    args += ["--single-transaction", "--exit-on-error", f"--dbname={target}"]
    if events_only:
        listing = workdir / f"{service}.list"
        listing.write_text(events_only_list(pg_restore, dump, service))
        args.append(f"--use-list={listing}")
    pg_tools.run([*args, str(dump)], env, f"pg_restore of {whose(service)} database")


def head_of(dsn: str) -> int:
    """The newest position of the event store in the database ``dsn`` names."""
    conn = connect(dsn)
    try:
        with conn, conn.cursor() as cursor:
            cursor.execute("SELECT coalesce(max(position), 0) FROM events")
            return cursor.fetchone()[0]
    finally:
        conn.close()


def rebuild_read_models(
    config: Config, services: Sequence[str], say: Say, only: set[str] | None = None
) -> dict[str, int]:
    """Rebuild every projection of ``services`` (or ``only`` those named) from the event
    stores; the events replayed per service.

    Projections are rebuilt in the order the service keeps them (those fed by other
    services, then those kept inline): circulation's copies are born of catalog's events
    before its own loans set their loan columns. Policies (``Reaction``) are not
    replayed: the events they recorded are in the restored store.
    """
    from shared.eventsourcing.projection import Reaction
    from shared.eventsourcing.rebuild import rebuild
    from shared.eventsourcing.store import EventStore
    from shared.runtime.topology import service_projections

    pools: dict[str, ConnectionPool] = {}

    def pool(service: str) -> ConnectionPool:
        if service not in pools:
            pools[service] = ConnectionPool(database_url(config, service), size=2)
        return pools[service]

    def read_feed(source: str, after: int, limit: int) -> list[Envelope]:
        with pool(source).transaction() as cursor:
            return EventStore(source).read(cursor, after, limit)

    replayed: dict[str, int] = {}
    try:
        for service in services:
            started = time.monotonic()
            projections = [
                p
                for p in service_projections(service)
                if not isinstance(p, Reaction) and (only is None or p.name in only)
            ]
            if not projections:
                continue
            replayed[service] = 0
            for projection in projections:
                projection.configure(config)
                report = rebuild(pool(service), projection, read_feed)
                replayed[service] += report.events
            say(
                f"[restore] {service}: rebuilt {len(projections)} read models from "
                f"{replayed[service]} events in {time.monotonic() - started:.1f}s"
            )
    finally:
        for opened in pools.values():
            opened.close()
    return replayed


@dataclass(frozen=True)
class Ahead:
    """A checkpoint beyond its source's head: events it applied are not in the store."""

    service: str
    projection: str
    source: str
    position: int
    head: int


def checkpoints_ahead(config: Config, heads: dict[str, int]) -> list[Ahead]:
    """Every projection's checkpoint, in the databases of ``heads``, beyond its source's head.

    Each database was dumped in its own snapshot (moments apart), and a database
    restored alone goes back to the backup while the others do not: a projection may
    have applied events its source no longer has. Left so, it would drop the source's
    next events as duplicates (they get the same positions again).
    """
    found = []
    for service in heads:
        conn = connect(database_url(config, service))
        try:
            with conn, conn.cursor() as cursor:
                cursor.execute("SELECT projection, source, position FROM projection_checkpoints")
                rows = cursor.fetchall()
        finally:
            conn.close()
        found += [
            Ahead(service, projection, source, position, heads[source])
            for projection, source, position in rows
            if source in heads and position > heads[source]
        ]
    return found


def set_back(config: Config, ahead: Ahead) -> None:
    """Move a policy's checkpoint back to its source's head: it reacts to what comes next."""
    conn = connect(database_url(config, ahead.service))
    try:
        with conn, conn.cursor() as cursor:
            cursor.execute(
                "UPDATE projection_checkpoints SET position = %s, updated_at = now() "
                "WHERE projection = %s AND source = %s AND position > %s",
                (ahead.head, ahead.projection, ahead.source, ahead.head),
            )
    finally:
        conn.close()


def mend_checkpoints(config: Config, restored: Sequence[str], say: Say) -> None:
    """Rebuild the restored services' projections that are ahead of a source, set the
    policies' back; name the other services' projections to rebuild once they run."""
    from shared.eventsourcing.projection import Reaction
    from shared.runtime.topology import service_projections

    heads = {}
    for service in SERVICES:
        try:
            heads[service] = head_of(database_url(config, service))
        except DatabaseUnavailable:
            say(f"[restore] {service}: its database does not answer; its checkpoints unchecked")
    policies = {
        (service, p.name)
        for service in SERVICES
        for p in service_projections(service)
        if isinstance(p, Reaction)
    }
    to_rebuild: dict[str, set[str]] = {}
    for ahead in checkpoints_ahead(config, heads):
        where = f"{whose(ahead.service)} {ahead.projection}"
        beyond = f"{whose(ahead.source)} events up to {ahead.position}, beyond its head"
        beyond += f" {ahead.head}"
        if (ahead.service, ahead.projection) in policies:
            set_back(config, ahead)
            say(f"[restore] {where} had reacted to {beyond}: set back to {ahead.head}")
        elif ahead.service in restored:
            to_rebuild.setdefault(ahead.service, set()).add(ahead.projection)
        else:
            say(
                f"[restore] warning: {where} has applied {beyond}: rebuild it "
                f"(library rebuild {ahead.service} {ahead.projection})"
            )
    for service, projections in to_rebuild.items():
        rebuild_read_models(config, [service], say, only=projections)


def empty_queues(config: Config, services: Sequence[str], say: Say) -> None:
    """Empty the subscriber queues of the restored services' events, or say to."""
    try:
        emptied = broker_definitions.purge_followers(config, list(services))
    except Unreachable:
        queues = ", ".join(f"*.from.{service}" for service in services)
        say(f"[restore] warning: the broker does not answer; empty {queues} before starting")
        return
    say(
        f"[restore] broker: emptied {', '.join(emptied) or 'no queue'}: events newer than "
        "the backup; each relay publishes again from its restored progress"
    )


def restore(
    config: Config,
    directory: Path,
    say: Say,
    services: Sequence[str] = (),
    events_only: bool = False,
    broker: bool = False,
    keep_queues: bool = False,
) -> dict[str, Any]:
    """Restore a backup into the databases the config names; return its manifest.

    ``keep_queues`` leaves the broker's queues alone: for a restore into scratch
    databases (checking a backup) while the config's broker serves the live services.
    """
    manifest = backup.check(directory, say)
    chosen = list(services) or [s for s in SERVICES if s in manifest["heads"]]
    missing = [s for s in chosen if s not in manifest["heads"]]
    if missing:
        raise UsageError(f"the backup has no database of {', '.join(missing)}")
    if broker and backup.BROKER_FILE not in manifest["files"]:
        raise UsageError("the backup has no broker definitions (it was taken with --no-broker)")
    dsns = {service: database_url(config, service) for service in chosen}
    for service, dsn in dsns.items():  # every refusal before anything is touched
        prepare_database(service, dsn, say)
    what = "event store" if events_only else "database"
    for service, dsn in dsns.items():
        started = time.monotonic()
        major = backup.server_major(manifest, service)
        dump = directory / backup.dump_file(service)
        with tempfile.TemporaryDirectory(prefix="library-restore-") as workdir:
            restore_database(service, dsn, dump, major, events_only, Path(workdir))
        head, expected = head_of(dsn), manifest["heads"][service]
        if head != expected:
            raise CommandFailed(f"{service}: restored head {head}, the manifest says {expected}")
        say(
            f"[restore] {service}: {what} restored into {database_of(dsn)}, head {head}, "
            f"in {time.monotonic() - started:.1f}s"
        )
    if events_only:
        rebuild_read_models(config, chosen, say)
    mend_checkpoints(config, chosen, say)
    if broker:
        definitions = json.loads((directory / backup.BROKER_FILE).read_text())
        broker_definitions.load(config, definitions)
        say(
            f"[restore] broker: definitions loaded into virtual host "
            f"{broker_definitions.vhost(config)}"
        )
    if keep_queues:
        say("[restore] broker: its queues left as they are (--keep-queues)")
    else:
        empty_queues(config, chosen, say)
    say(f"[restore] done: {', '.join(chosen)} from {directory}")
    return manifest
