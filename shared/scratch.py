"""Throwaway databases for tests and benchmarks: created, migrated, emptied, dropped.

Each run names its databases after its process (``<prefix><pid>_<service>``) so
runs side by side never share data; databases of runs that died are dropped
the next time any run starts.
"""

from __future__ import annotations

import os
import time
from urllib.parse import urlsplit, urlunsplit

import psycopg2.errors

from shared.config import SERVICES, Config
from shared.db import connect
from shared.migrate import migrate


def with_database(dsn: str, name: str) -> str:
    """The same server and credentials, another database."""
    return urlunsplit(urlsplit(dsn)._replace(path=f"/{name}"))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def create_scratch_databases(config: Config, prefix: str) -> dict[str, str]:
    """Fresh migrated databases, one per service; returns their DSNs."""
    base = config["DATABASES"]
    mine = f"{prefix}{os.getpid()}_"
    admin = connect(with_database(base["catalog"], "postgres"), autocommit=True)
    dsns = {}
    try:
        with admin.cursor() as cursor:
            cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (f"{prefix}%",))
            for (name,) in cursor.fetchall():
                owner = name[len(prefix) :].split("_")[0]
                if not owner.isdigit() or not _alive(int(owner)) or name.startswith(mine):
                    cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            for service in SERVICES:
                cursor.execute(f"CREATE DATABASE {mine}{service}")
                dsns[service] = with_database(base[service], f"{mine}{service}")
                migrate(dsns[service], service)
    finally:
        admin.close()
    return dsns


def drop_scratch_databases(config: Config, prefix: str, attempts: int = 20) -> None:
    """Drop this process's scratch databases; one busy with autovacuum is retried.

    ``WITH (FORCE)`` cannot end an autovacuum worker (it runs as the superuser),
    so a database being vacuumed is tried again shortly; one still busy after
    that is left for the next run, which drops the databases of dead runs.
    """
    admin = connect(with_database(config["DATABASES"]["catalog"], "postgres"), autocommit=True)
    try:
        with admin.cursor() as cursor:
            for service in SERVICES:
                name = f"{prefix}{os.getpid()}_{service}"
                for attempt in range(attempts):
                    try:
                        cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                        break
                    except (psycopg2.errors.InsufficientPrivilege, psycopg2.errors.ObjectInUse):
                        if attempt == attempts - 1:
                            print(f"[scratch] {name} is busy; the next run will drop it")
                        time.sleep(0.25)
    finally:
        admin.close()


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
