"""Apply the SQL migrations to each service's database.

``infra/migrations/common`` (the event store, checkpoints) goes into every
service's database, then ``infra/migrations/<service>``. Each file is applied
once, in name order, recorded in ``schema_migrations``; running it again is a
no-op. Run as ``python -m shared.storage.migrate [service...]``.
"""

from __future__ import annotations

import sys
from logging import getLogger
from pathlib import Path

from shared.config import REPO_ROOT, SERVICES, database_url, load_config
from shared.storage.pool import connect

_log = getLogger(__name__)

MIGRATIONS_ROOT = REPO_ROOT / "infra" / "migrations"
CREATE_LEDGER = """
    CREATE TABLE IF NOT EXISTS schema_migrations (
        name        text PRIMARY KEY,
        applied_at  timestamptz NOT NULL DEFAULT now()
    )
"""


def migration_files(service: str) -> list[Path]:
    """The files to apply for ``service``, common ones first."""
    files = sorted((MIGRATIONS_ROOT / "common").glob("*.sql"))
    files += sorted((MIGRATIONS_ROOT / service).glob("*.sql"))
    return files


def migrate(dsn: str, service: str) -> list[str]:
    """Apply what is missing to one database; return the names applied now."""
    conn = connect(dsn)
    applied: list[str] = []
    try:
        with conn, conn.cursor() as cursor:
            # One migrator at a time per database, even if two hosts run this at once.
            cursor.execute("SELECT pg_advisory_xact_lock(7400, 99)")
            cursor.execute(CREATE_LEDGER)
            cursor.execute("SELECT name FROM schema_migrations")
            done = {row[0] for row in cursor.fetchall()}
            for path in migration_files(service):
                name = f"{path.parent.name}/{path.name}"
                if name in done:
                    continue
                cursor.execute(path.read_text())
                cursor.execute("INSERT INTO schema_migrations (name) VALUES (%s)", (name,))
                applied.append(name)
    finally:
        conn.close()
    return applied


def main(argv: list[str] | None = None) -> int:
    services = (argv if argv is not None else sys.argv[1:]) or list(SERVICES)
    config = load_config()
    for service in services:
        applied = migrate(database_url(config, service), service)
        print(
            f"[migrate] {service}: {len(applied)} applied"
            + (f" ({', '.join(applied)})" if applied else "")
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
