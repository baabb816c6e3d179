"""Test set-up shared by every layer.

nameko's workers are green threads, so eventlet patches the standard library
before anything else is imported. Integration tests get their own PostgreSQL
databases (``libtest_<service>``, emptied before each test) and a RabbitMQ
virtual host of their own per test (nameko's ``rabbit_config`` fixture).
"""

import eventlet

eventlet.monkey_patch()

import os  # noqa: E402

import pytest  # noqa: E402

from shared.config import load_config  # noqa: E402
from shared.storage.green import make_psycopg_green  # noqa: E402
from shared.storage.pool import ConnectionPool  # noqa: E402
from shared.storage.scratch_databases import (  # noqa: E402, F401 (empty_database is used by tests)
    create_scratch_databases,
    drop_scratch_databases,
    empty_database,
)

make_psycopg_green()

# The fixed development tokens per role (GATEWAY.tokens) let tests act as a role without
# an account; the gateway honours them only with this set (and tests of accounts sign in).
os.environ.setdefault("LIBRARY_DEV_TOKENS", "1")

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


@pytest.fixture(scope="session")
def databases():
    """Fresh, migrated databases for this session, one per service (storage.scratch_databases)."""
    config = load_config()
    dsns = create_scratch_databases(config, TEST_DB_PREFIX)
    yield dsns
    drop_scratch_databases(config, TEST_DB_PREFIX)


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
    # Tests backdate their desks: the periodic check would release their held copies
    # on the real today's date (docs/notices.md); a test releases them by the route.
    settings["NOTICES"] = {**(settings.get("NOTICES") or {}), "release_on_timer": False}
    # /metrics on ephemeral ports, no Prometheus targets: a running demo keeps its own.
    settings["METRICS"] = {**(settings.get("METRICS") or {}), "ports": {}, "targets": ""}
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
