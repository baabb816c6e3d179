"""Where each service's database lives: its own DSN, so its own server.

Every piece that creates, migrates, drops or checks a database takes the server
(host, port, credentials) from that service's DSN (``CATALOG_DSN``, ...), never
from another service's: the four databases may be on four servers.

``python -m shared.storage.servers``        one line per service: server and database
``python -m shared.storage.servers check``  log in to each database with its own DSN
``python -m shared.storage.servers plan``   for infra/up.sh: fields apart by \\x1f
"""

from __future__ import annotations

import sys
from urllib.parse import unquote, urlsplit, urlunsplit

from shared.config import SERVICES, Config, database_url, load_config

LOCAL_HOSTS = ("", "localhost", "127.0.0.1", "::1")
DEFAULT_PORT = 5432
# Between the fields of ``plan``: not whitespace, so bash's ``read`` keeps an empty field.
PLAN_SEPARATOR = "\x1f"


def with_database(dsn: str, name: str) -> str:
    """The same server and credentials, another database."""
    return urlunsplit(urlsplit(dsn)._replace(path=f"/{name}"))


def database_of(dsn: str) -> str:
    return unquote(urlsplit(dsn).path.lstrip("/"))


def is_local(dsn: str) -> bool:
    """Whether the DSN names a server on this machine (a Unix socket counts)."""
    return (urlsplit(dsn).hostname or "") in LOCAL_HOSTS


def server_of(dsn: str) -> str:
    """Which PostgreSQL server a DSN names, as ``host:port`` (this machine is ``localhost``)."""
    parts = urlsplit(dsn)
    host = "localhost" if is_local(dsn) else parts.hostname
    return f"{host}:{parts.port or DEFAULT_PORT}"


def by_server(dsns: dict[str, str]) -> dict[str, list[str]]:
    """The services whose DSNs are on each server, in the order given."""
    servers: dict[str, list[str]] = {}
    for service, dsn in dsns.items():
        servers.setdefault(server_of(dsn), []).append(service)
    return servers


def service_dsns(config: Config) -> dict[str, str]:
    return {service: database_url(config, service) for service in SERVICES}


def plan_lines(config: Config) -> list[str]:
    """For infra/up.sh: service, local|remote, host, port, user, password, database."""
    lines = []
    for service, dsn in service_dsns(config).items():
        parts = urlsplit(dsn)
        fields = [
            service,
            "local" if is_local(dsn) else "remote",
            parts.hostname or "127.0.0.1",
            str(parts.port or DEFAULT_PORT),
            unquote(parts.username or ""),
            unquote(parts.password or ""),
            database_of(dsn),
        ]
        if any(PLAN_SEPARATOR in field or "\n" in field for field in fields):
            raise ValueError(f"{service}'s DSN has a control character in it")
        lines.append(PLAN_SEPARATOR.join(fields))
    return lines


def check(config: Config) -> list[str]:
    """Log in to each service's database with its own DSN; the failures, one line each."""
    from shared.storage.pool import DatabaseUnavailable, connect

    failures = []
    for service, dsn in service_dsns(config).items():
        try:
            connect(dsn).close()
        except DatabaseUnavailable as error:
            reason = str(error).splitlines()[0] if str(error) else "no answer"
            failures.append(f"{service}: {server_of(dsn)}/{database_of(dsn)}: {reason}")
    return failures


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    config = load_config()
    if args == ["plan"]:
        print("\n".join(plan_lines(config)))
        return 0
    if args == ["check"]:
        failures = check(config)
        for line in failures:
            print(f"[databases] cannot log in: {line}", file=sys.stderr)
        if not failures:
            servers = by_server(service_dsns(config))
            print(f"[databases] {len(SERVICES)} databases on {len(servers)} server(s) answer")
        return 1 if failures else 0
    if args:
        print(__doc__, file=sys.stderr)
        return 2
    for server, services in by_server(service_dsns(config)).items():
        names = ", ".join(f"{s} ({database_of(database_url(config, s))})" for s in services)
        print(f"{server}: {names}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
