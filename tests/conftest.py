"""Test set-up shared by every layer.

nameko's workers are green threads, so eventlet patches the standard library
before anything else is imported. Integration tests get their own PostgreSQL
databases (``libtest_<service>``, emptied before each test) and a RabbitMQ
virtual host of their own per test (nameko's ``rabbit_config`` fixture).
"""

import eventlet

eventlet.monkey_patch()

import os  # noqa: E402
from urllib.parse import urlsplit, urlunsplit  # noqa: E402

import pytest  # noqa: E402

from shared.config import SERVICES, load_config  # noqa: E402
from shared.db import ConnectionPool, connect  # noqa: E402
from shared.green import make_psycopg_green  # noqa: E402
from shared.migrate import migrate  # noqa: E402

make_psycopg_green()

TEST_DB_PREFIX = "libtest_"


def pytest_configure(config):
    """Point nameko's RabbitMQ fixtures at the broker from the project's config."""
    settings = load_config()
    if config.option.RABBIT_AMQP_URI.startswith("pyamqp://guest"):
        config.option.RABBIT_AMQP_URI = os.environ.get("AMQP_URI", settings["AMQP_URI"])
    if config.option.RABBIT_API_URI == "http://guest:guest@localhost:15672":
        config.option.RABBIT_API_URI = settings["RABBIT_MANAGEMENT_URI"].rstrip("/")
    config.option.suppress_eventlet_notification = True


def pytest_collection_modifyitems(items):
    for item in items:
        if "/integration/" in str(item.fspath) or "/faults/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


def _with_database(dsn: str, name: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@pytest.fixture(scope="session")
def databases():
    """Fresh, migrated databases for this test session, one per service.

    Named after this process (``libtest_<pid>_<service>``) so that test runs
    side by side do not share data; those left by runs that died are dropped.
    """
    base = load_config()["DATABASES"]
    admin = connect(_with_database(base["catalog"], "postgres"), autocommit=True)
    prefix = f"{TEST_DB_PREFIX}{os.getpid()}_"
    dsns = {}
    try:
        with admin.cursor() as cursor:
            cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE 'libtest_%%'")
            for (name,) in cursor.fetchall():
                owner = name.split("_")[1]
                if not owner.isdigit() or not _alive(int(owner)) or name.startswith(prefix):
                    cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            for service in SERVICES:
                name = f"{prefix}{service}"
                cursor.execute(f"CREATE DATABASE {name}")
                dsns[service] = _with_database(base[service], name)
                migrate(dsns[service], service)
        yield dsns
        with admin.cursor() as cursor:
            for service in SERVICES:
                cursor.execute(f"DROP DATABASE IF EXISTS {prefix}{service} WITH (FORCE)")
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


@pytest.fixture
def clean_databases(databases):
    for dsn in databases.values():
        empty_database(dsn)
    return databases


@pytest.fixture
def config(rabbit_config, clean_databases):
    """A nameko config for one test: its own vhost, the emptied test databases."""
    settings = load_config()
    settings.pop("LOGGING", None)
    settings.update(
        AMQP_URI=rabbit_config["AMQP_URI"],
        DATABASES=dict(clean_databases),
        RELAY_POLL_INTERVAL=0.2,
        DB_POOL_SIZE=8,
    )
    return settings


@pytest.fixture
def pool_for(clean_databases):
    """Connection pools to the test databases, closed after the test."""
    pools = {}

    def get(service: str) -> ConnectionPool:
        if service not in pools:
            pools[service] = ConnectionPool(clean_databases[service], size=12)
        return pools[service]

    yield get
    for pool in pools.values():
        pool.close()
