"""Databases apart: each service's database is reached only through its own DSN.

The structural checks read the source: no service imports another service's
modules, opens a DSN itself, or names another service's tables in its SQL.
``make test-apart`` (infra/test_apart.sh) shows the same with two PostgreSQL servers;
tests/integration/test_databases_apart.py with real services on both.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from shared.config import REPO_ROOT, SERVICES
from shared.storage.servers import (
    PLAN_SEPARATOR,
    by_server,
    database_of,
    is_local,
    plan_lines,
    server_of,
    with_database,
)

SERVICES_ROOT = REPO_ROOT / "services"
MIGRATIONS = REPO_ROOT / "infra" / "migrations"
CREATE_TABLE = re.compile(
    r"create\s+(?:unlogged\s+)?table\s+(?:if\s+not\s+exists\s+)?([a-z_][a-z0-9_]*)", re.I
)
# A table named after FROM, JOIN, INTO, UPDATE or TABLE in a string of the source.
SQL_TABLE = re.compile(r"\b(?:from|join|into|update|table)\s+([a-z_][a-z0-9_]*)", re.I)
# What only shared.runtime.dependencies (with the container's own service name) may use.
OPENS_A_DATABASE = ("database_url", "DATABASES", "_DSN", "psycopg2.connect", "ConnectionPool(")


def tables_of(folder: str) -> set[str]:
    return {
        name.lower()
        for path in (MIGRATIONS / folder).glob("*.sql")
        for name in CREATE_TABLE.findall(path.read_text())
    }


TABLES = {folder: tables_of(folder) for folder in ("common", *SERVICES)}
PACKAGES = sorted(p.name for p in SERVICES_ROOT.iterdir() if (p / "__init__.py").exists())


def modules(package: str) -> list[Path]:
    return sorted((SERVICES_ROOT / package).rglob("*.py"))


def tables_named(source: str) -> set[str]:
    """Every table name that follows an SQL keyword in a string constant of ``source``."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            names |= {name.lower() for name in SQL_TABLE.findall(node.value)}
    return names


def foreign_tables(package: str) -> set[str]:
    """The tables of other services' databases (not common ones, not ``package``'s own)."""
    own = TABLES["common"] | TABLES.get(package, set())
    return {t for folder, names in TABLES.items() if folder != package for t in names} - own


# ------------------------------------------------------------------ DSNs


def test_a_dsn_names_its_server_and_database():
    dsn = "postgresql://library:pw@127.0.0.1:5434/library_circulation?sslmode=disable"
    assert server_of(dsn) == "localhost:5434"
    assert database_of(dsn) == "library_circulation"
    assert with_database(dsn, "postgres") == (
        "postgresql://library:pw@127.0.0.1:5434/postgres?sslmode=disable"
    )
    assert server_of("postgresql://c@pg-catalog.library.lan/library_catalog") == (
        "pg-catalog.library.lan:5432"
    )
    assert server_of("postgresql://library@localhost:5432/x") == server_of(
        "postgresql://library@127.0.0.1/y"
    )
    assert is_local("postgresql://library@[::1]:5432/x")
    assert not is_local("postgresql://library@pg-archives.library.lan/x")


def test_services_are_grouped_by_the_server_their_own_dsn_names():
    dsns = {
        "catalog": "postgresql://library:a@127.0.0.1:5432/c",
        "circulation": "postgresql://library:a@127.0.0.1:5434/l",
        "activities": "postgresql://library:a@localhost/a",
        "archives": "postgresql://archives:b@127.0.0.1:5434/r",
    }
    assert by_server(dsns) == {
        "localhost:5432": ["catalog", "activities"],
        "localhost:5434": ["circulation", "archives"],
    }


def test_infra_up_reads_each_services_own_server_and_credentials():
    config = {
        "DATABASES": {
            "catalog": "postgresql://library:li%40b@127.0.0.1:5432/library_catalog",
            "circulation": "postgresql://library@127.0.0.1:5434/library_circulation",
            "activities": "postgresql://activities:x@pg-activities.lan:6432/library_activities",
            "archives": "postgresql://library:library@localhost:5434/library_archives",
            "accounts": "postgresql://library:library@127.0.0.1:5432/library_accounts",
        }
    }
    rows = [line.split(PLAN_SEPARATOR) for line in plan_lines(config)]
    assert rows == [
        ["catalog", "local", "127.0.0.1", "5432", "library", "li@b", "library_catalog"],
        ["circulation", "local", "127.0.0.1", "5434", "library", "", "library_circulation"],
        [
            "activities",
            "remote",
            "pg-activities.lan",
            "6432",
            "activities",
            "x",
            "library_activities",
        ],
        ["archives", "local", "localhost", "5434", "library", "library", "library_archives"],
        ["accounts", "local", "127.0.0.1", "5432", "library", "library", "library_accounts"],
    ]


# ------------------------------------------------------------------ the source


def test_the_migrations_give_each_service_tables_of_its_own():
    for service in SERVICES:
        assert TABLES[service], f"no tables found for {service}"
        for other in SERVICES:
            if other != service:
                assert not TABLES[service] & TABLES[other], (service, other)


def allowed(package: str, node: ast.AST) -> bool:
    """The gateway validates with the services' own schemas: ``services.<name>.schemas``,
    importable without the service (no nameko, no service.py), is their RPC contract."""
    if package != "gateway" or not isinstance(node, ast.ImportFrom) or not node.module:
        return False
    parts = node.module.split(".")
    if len(parts) == 2:  # from services.catalog import schemas
        return all(alias.name == "schemas" for alias in node.names)
    return len(parts) == 3 and parts[2] == "schemas"  # from services.catalog.schemas import X


@pytest.mark.parametrize("package", PACKAGES)
def test_no_service_imports_another_services_modules(package):
    offending = []
    for path in modules(package):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for name in names:
                parts = name.split(".")
                other = parts[0] == "services" and len(parts) > 1 and parts[1] != package
                if other and not allowed(package, node):
                    offending.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno} {name}")
    assert offending == []


@pytest.mark.parametrize("package", PACKAGES)
def test_no_service_opens_a_database_itself(package):
    """Only shared.runtime.dependencies opens the pool, with the container's own service name."""
    offending = [
        f"{path.relative_to(REPO_ROOT)}: {word}"
        for path in modules(package)
        for word in OPENS_A_DATABASE
        if word in path.read_text()
    ]
    assert offending == []


@pytest.mark.parametrize("package", PACKAGES)
def test_no_service_names_another_services_tables_in_its_sql(package):
    foreign = foreign_tables(package)
    offending = {
        f"{path.relative_to(REPO_ROOT)}: {table}"
        for path in modules(package)
        for table in tables_named(path.read_text()) & foreign
    }
    assert offending == set()


@pytest.mark.parametrize("service", SERVICES)
def test_the_sql_check_sees_each_services_own_tables(service):
    """The scan reads the SQL it is meant to: each service's own tables show up in it."""
    named = set().union(*(tables_named(path.read_text()) for path in modules(service)))
    assert named & TABLES[service]


def test_the_sql_check_catches_a_query_into_another_database():
    source = 'LATE = "SELECT l.due_on FROM copies c JOIN loans l ON l.barcode = c.barcode"\n'
    assert tables_named(source) & foreign_tables("catalog") == {"loans"}
    assert tables_named(source) & foreign_tables("circulation") == {"copies"}
