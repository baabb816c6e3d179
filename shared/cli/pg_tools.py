"""PostgreSQL's own dump tools (``pg_dump``, ``pg_restore``) for a service's database.

Each database is dumped and restored with its service's own DSN, so its own server and
credentials (as ``shared.storage.scratch_databases`` creates them): the console needs
no superuser, and a database on another server is dumped there. The password goes to
the tool in ``PGPASSWORD``, never on its command line (``ps`` shows command lines).
The tool must be of the server's major version or newer (pg_dump refuses an older
one); Debian's ``postgresql-client-<major>`` installs it in
``/usr/lib/postgresql/<major>/bin``, which is looked at first.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from shared.cli.errors import CommandFailed

DEBIAN_BIN = "/usr/lib/postgresql/{major}/bin/{tool}"
VERSION = re.compile(r"\(PostgreSQL\) (\d+)(?:\.(\d+))?")


def whose(name: str) -> str:
    """``catalog's``, ``archives'``: a service's name as the owner in a console line."""
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def tool_version(path: str) -> tuple[int, int]:
    """``(major, minor)`` of a PostgreSQL client tool, from its ``--version``."""
    text = subprocess.run([path, "--version"], capture_output=True, text=True, check=True).stdout
    found = VERSION.search(text)
    if found is None:
        raise CommandFailed(f"cannot tell the version of {path} ({text.strip()!r})")
    return int(found.group(1)), int(found.group(2) or 0)


def find_tool(tool: str, server_major: int) -> str:
    """The path of ``tool`` (pg_dump, pg_restore) for a server of ``server_major``."""
    for candidate in (DEBIAN_BIN.format(major=server_major, tool=tool), shutil.which(tool)):
        if candidate and Path(candidate).exists() and tool_version(candidate)[0] >= server_major:
            return candidate
    raise CommandFailed(
        f"no {tool} for PostgreSQL {server_major} (install postgresql-client-{server_major})"
    )


def login(dsn: str) -> tuple[str, dict[str, str]]:
    """The DSN without its password, and the environment that gives the password."""
    parts = urlsplit(dsn)
    env = dict(os.environ)
    if parts.password is None:
        return dsn, env
    env["PGPASSWORD"] = unquote(parts.password)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit(parts._replace(netloc=f"{user}{host}")), env


def run(args: list[str], env: dict[str, str] | None, what: str) -> str:
    """Run a tool; a failure ends the command with the tool's last line of complaint."""
    done = subprocess.run(args, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        reason = lines[-1] if lines else f"exit code {done.returncode}"
        raise CommandFailed(f"{what} failed: {reason}")
    return done.stdout
