"""Throwaway databases for tests and benchmarks: created, migrated, emptied, dropped.

Each run names its databases after its process (``<prefix><pid>_<service>``) so
runs side by side never share data; databases of runs that died are dropped
the next time any run starts.

Each service's database goes on the server its own DSN names (host, port and
credentials): with ``CIRCULATION_DSN`` on another PostgreSQL server, circulation's
scratch database is made there and nowhere else, so a query from one service into
another's database fails instead of finding it beside its own.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import psycopg2.errors
import psycopg2.extensions

from shared import processes
from shared.config import SERVICES, Config
from shared.storage.migrate import migrate
from shared.storage.pool import connect
from shared.storage.servers import by_server, database_of, with_database


@contextmanager
def _admin() -> Iterator[Callable[[str], psycopg2.extensions.connection]]:
    """``get(dsn)``: an autocommit connection to the ``postgres`` database of that DSN's
    server with its credentials, one per server and credentials, all closed at the end."""
    opened: dict[str, psycopg2.extensions.connection] = {}

    def get(dsn: str) -> psycopg2.extensions.connection:
        admin = with_database(dsn, "postgres")
        if admin not in opened:
            opened[admin] = connect(admin, autocommit=True)
        return opened[admin]

    try:
        yield get
    finally:
        for conn in opened.values():
            conn.close()


def _drop_stale(cursor: psycopg2.extensions.cursor, prefix: str, mine: str) -> None:
    """Drop the scratch databases of dead runs (and this process's own leftovers)."""
    cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (f"{prefix}%",))
    for (name,) in cursor.fetchall():
        owner = name[len(prefix) :].split("_")[0]
        if not owner.isdigit() or not processes.alive(int(owner)) or name.startswith(mine):
            try:
                cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            except (psycopg2.errors.InsufficientPrivilege, psycopg2.errors.ObjectInUse):
                pass  # another role's, or being vacuumed: the next run tries again


def create_scratch_databases(
    config: Config, prefix: str, services: Sequence[str] = SERVICES
) -> dict[str, str]:
    """Fresh migrated databases, each on its service's own server; returns their DSNs."""
    base = config["DATABASES"]
    mine = f"{prefix}{os.getpid()}_"
    dsns = {service: with_database(base[service], f"{mine}{service}") for service in services}
    with _admin() as admin:
        # Every server is cleaned before anything is created, so a server named twice
        # (two sets of credentials) never loses a database made a moment before.
        for group in by_server(dsns).values():
            with admin(dsns[group[0]]).cursor() as cursor:
                _drop_stale(cursor, prefix, mine)
        for dsn in dsns.values():
            with admin(dsn).cursor() as cursor:
                cursor.execute(f"CREATE DATABASE {database_of(dsn)}")
    for service, dsn in dsns.items():
        migrate(dsn, service)
    return dsns


def drop_scratch_databases(
    config: Config, prefix: str, attempts: int = 20, services: Sequence[str] = SERVICES
) -> None:
    """Drop this process's scratch databases, each on its own server; one busy with
    autovacuum is retried.

    ``WITH (FORCE)`` cannot end an autovacuum worker (it runs as the superuser),
    so a database being vacuumed is tried again shortly; one still busy after
    that is left for the next run, which drops the databases of dead runs.
    """
    base = config["DATABASES"]
    mine = f"{prefix}{os.getpid()}_"
    dsns = {service: with_database(base[service], f"{mine}{service}") for service in services}
    with _admin() as admin:
        for dsn in dsns.values():
            name = database_of(dsn)
            with admin(dsn).cursor() as cursor:
                for attempt in range(attempts):
                    try:
                        cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                        break
                    except (psycopg2.errors.InsufficientPrivilege, psycopg2.errors.ObjectInUse):
                        if attempt == attempts - 1:
                            print(f"[scratch] {name} is busy; the next run will drop it")
                        time.sleep(0.25)


def empty_database(dsn: str) -> None:
    """Remove every row (migrations stay applied) and restart sequences."""
    conn = connect(dsn, autocommit=True)
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'schema_migrations'"
            )
            tables = [row[0] for row in cursor.fetchall()]
            if tables:
                cursor.execute(f"TRUNCATE {', '.join(tables)}")
            cursor.execute("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")
            for (sequence,) in cursor.fetchall():
                cursor.execute(f"ALTER SEQUENCE {sequence} RESTART")
    finally:
        conn.close()
