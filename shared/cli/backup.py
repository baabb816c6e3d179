"""``library backup DIR``: every service's database, the broker's definitions, the config
without its secrets, and a manifest to check them by.

What a backup directory holds (docs/operations.md, "Backups and restore"):

* ``<service>.pgdump``: ``pg_dump --format=custom`` of the service's database, taken in
  the snapshot whose event store head the manifest records (the dump and the head agree
  even while desks lend);
* ``broker.json``: ``GET /api/definitions/<vhost>`` (left out with ``--no-broker``);
* ``config.yml``: the config as the services read it, passwords in addresses replaced by
  ``***`` and every password, token or secret setting removed;
* ``manifest.json``, written last (a directory without one is an unfinished backup):
  when, the versions, each file's size and SHA-256, each event store's head.

``library backup --check DIR`` and every restore check a backup against its manifest.
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from shared.cli import broker_definitions, pg_tools
from shared.cli.errors import CommandFailed, Unreachable, UsageError, redact
from shared.cli.pg_tools import whose
from shared.config import REPO_ROOT, SERVICES, Config, database_url
from shared.storage.pool import connect
from shared.storage.servers import database_of, server_of

MANIFEST = "manifest.json"
BROKER_FILE = "broker.json"
CONFIG_FILE = "config.yml"
FORMAT = 1
SECRET_WORDS = ("password", "secret", "token", "api_key")
"""A setting whose name holds one of these is left out of the saved config."""
SECRET_SETTINGS = ("RABBIT_USERS",)
"""Settings that are secrets by what they hold (a user's password under the user's name)."""
CHUNK = 1 << 20

Say = Callable[[str], None]


def dump_file(service: str) -> str:
    """The name of a service's dump in a backup directory."""
    return f"{service}.pgdump"


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file, read a megabyte at a time (dumps may be large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def without_secrets(value: Any) -> Any:
    """The config with passwords, tokens and secrets gone (addresses keep their user)."""
    if isinstance(value, dict):
        return {
            key: without_secrets(item)
            for key, item in value.items()
            if str(key) not in SECRET_SETTINGS
            and not any(word in str(key).lower() for word in SECRET_WORDS)
        }
    if isinstance(value, list):
        return [without_secrets(item) for item in value]
    if isinstance(value, str) and "://" in value:
        return redact(value)
    return value


def _library_version() -> dict[str, str | None]:
    import tomllib

    with open(REPO_ROOT / "pyproject.toml", "rb") as handle:
        version = tomllib.load(handle)["project"]["version"]
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=5
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return {"version": version, "commit": commit or None, "python": platform.python_version()}


@dataclass
class Snapshot:
    """One database held still: an open transaction whose snapshot pg_dump reads in."""

    service: str
    dsn: str
    conn: Any
    snapshot: str
    server_major: int
    server_version: str
    head: int
    migration: str | None


def hold(service: str, dsn: str) -> Snapshot:
    """Open a read-only transaction on the database and export its snapshot."""
    conn = connect(dsn)
    conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT pg_export_snapshot(), current_setting('server_version_num')::int, "
            "current_setting('server_version'), "
            "(SELECT coalesce(max(position), 0) FROM events), "
            "(SELECT max(name) FROM schema_migrations)"
        )
        snapshot, version_num, version, head, migration = cursor.fetchone()
    return Snapshot(
        service, dsn, conn, snapshot, version_num // 10000, version.split()[0], head, migration
    )


def dump(held: Snapshot, path: Path) -> str:
    """``pg_dump`` the database as its snapshot sees it; the pg_dump version used."""
    pg_dump = pg_tools.find_tool("pg_dump", held.server_major)
    target, env = pg_tools.login(held.dsn)
    pg_tools.run(
        [pg_dump, "--format=custom", f"--snapshot={held.snapshot}", f"--file={path}", target],
        env,
        f"pg_dump of {whose(held.service)} database",
    )
    return ".".join(map(str, pg_tools.tool_version(pg_dump)))


def take(config: Config, directory: Path, say: Say, broker: bool = True) -> dict[str, Any]:
    """Write a backup of everything into ``directory``; return its manifest."""
    if (directory / MANIFEST).exists():
        raise UsageError(f"{directory} already holds a backup; name a new directory")
    directory.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "taken_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": {"library": _library_version(), "postgresql": {}, "pg_dump": {}},
        "databases": {},
        "heads": {},
        "files": {},
    }
    # Every database's snapshot is taken before any is dumped, a few milliseconds
    # apart: a projection's checkpoint in one is then at most that far ahead of its
    # source's head in another (a restore rebuilds what is ahead; restore.py).
    held: list[Snapshot] = []
    try:
        for service in SERVICES:
            held.append(hold(service, database_url(config, service)))
        for snapshot in held:
            at = time.monotonic()
            path = directory / dump_file(snapshot.service)
            service, dsn = snapshot.service, snapshot.dsn
            manifest["versions"]["pg_dump"][service] = dump(snapshot, path)
            snapshot.conn.close()
            manifest["heads"][service] = snapshot.head
            manifest["versions"]["postgresql"][service] = snapshot.server_version
            manifest["databases"][service] = {
                "server": server_of(dsn),
                "database": database_of(dsn),
                "migration": snapshot.migration,
            }
            say(
                f"[backup] {service}: {database_of(dsn)} on {server_of(dsn)}, "
                f"head {snapshot.head}, {path.stat().st_size / 1e6:.1f} MB "
                f"in {time.monotonic() - at:.1f}s"
            )
    finally:
        for snapshot in held:
            snapshot.conn.close()
    if broker:
        try:
            definitions = broker_definitions.export(config)
        except Unreachable as error:
            raise Unreachable(f"{error}; --no-broker backs up the rest without it") from None
        (directory / BROKER_FILE).write_text(json.dumps(definitions, indent=2, sort_keys=True))
        manifest["versions"]["rabbitmq"] = definitions.get("rabbit_version")
        manifest["vhost"] = broker_definitions.vhost(config)
        say(
            f"[backup] broker: {len(definitions.get('queues', []))} queues, "
            f"{len(definitions.get('exchanges', []))} exchanges of virtual host {manifest['vhost']}"
        )
    else:
        say("[backup] broker: left out (--no-broker)")
    saved = yaml.safe_dump(without_secrets(config), allow_unicode=True, sort_keys=False)
    (directory / CONFIG_FILE).write_text(saved)
    say("[backup] config: written without passwords, tokens or secrets")
    for path in sorted(directory.iterdir()):
        if path.name != MANIFEST:
            manifest["files"][path.name] = {"size": path.stat().st_size, "sha256": sha256_of(path)}
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    total = sum(f["size"] for f in manifest["files"].values())
    say(
        f"[backup] done: {len(manifest['files'])} files, {total / 1e6:.1f} MB in "
        f"{time.monotonic() - started:.1f}s; manifest {directory / MANIFEST}"
    )
    return manifest


def check(directory: Path, say: Say) -> dict[str, Any]:
    """The backup's manifest, once every file matches it and every dump can be read.

    Raises ``CommandFailed`` naming the first file that does not match.
    """
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
    except FileNotFoundError:
        raise CommandFailed(f"{directory} has no {MANIFEST}: not a backup, or unfinished") from None
    except (OSError, ValueError) as error:
        raise CommandFailed(f"{directory / MANIFEST} cannot be read: {error}") from None
    for name, expected in sorted(manifest.get("files", {}).items()):
        path = directory / name
        if not path.is_file():
            raise CommandFailed(f"the backup does not match its manifest: {name} is missing")
        if path.stat().st_size != expected["size"] or sha256_of(path) != expected["sha256"]:
            raise CommandFailed(f"the backup does not match its manifest: {name} has changed")
    for service in manifest.get("heads", {}):
        if dump_file(service) not in manifest["files"]:
            raise CommandFailed(f"the manifest lists no dump of {whose(service)} database")
        pg_restore = pg_tools.find_tool("pg_restore", server_major(manifest, service))
        listing = pg_tools.run(
            [pg_restore, "--list", str(directory / dump_file(service))],
            None,
            f"reading {dump_file(service)}",
        )
        tables = sum(1 for line in listing.splitlines() if " TABLE DATA " in line)
        say(f"[check] {service}: head {manifest['heads'][service]}, {tables} tables, sha256 ok")
    say(f"[check] {directory}: {len(manifest['files'])} files match the manifest")
    return manifest


def server_major(manifest: dict[str, Any], service: str) -> int:
    """The major version of the server a service's database was dumped from."""
    version = manifest["versions"]["postgresql"][service]
    return int(str(version).split(".")[0])
