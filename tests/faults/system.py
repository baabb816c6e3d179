"""The system under fault: real ``nameko run`` processes on the fault servers.

Two circulation instances (so one can die while the other answers), one each of
catalog, activities and archives (the archives with a poisoned projection, see
``tests.faults.poisoned``). Every process gets its own config file whose DSNs
carry ``application_name=<instance>``, so the relay's leader can be found from
PostgreSQL: the session holding the advisory lock ``(7400, 2)`` names its process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from logging import getLogger
from pathlib import Path
from typing import Any

import psycopg2
import yaml
from kombu import Connection, Queue
from nameko.standalone.rpc import ServiceRpcProxy

from shared.config import REPO_ROOT, SERVICES, load_config
from shared.eventsourcing.store import LOCK_NAMESPACE, RELAY_LOCK
from shared.messaging.names import QUORUM, events_exchange
from shared.runtime.dependencies import EventStoreProvider, Projections
from shared.runtime.topology import declare_all, service_class, subscriptions
from shared.storage.pool import DatabaseUnavailable, connect
from tests.faults.poisoned import POISON_TITLE, PoisonedArchives
from tests.faults.servers import Servers
from tests.helpers import wait_until

_log = getLogger(__name__)

VHOST = "faults"
MODULES = {
    "catalog": "services.catalog.service",
    "circulation": "services.circulation.service",
    "activities": "services.activities.service",
    "archives": "tests.faults.poisoned:PoisonedArchives",
    "accounts": "services.accounts.service",
}
INSTANCES = (
    "catalog-1",
    "circulation-1",
    "circulation-2",
    "activities-1",
    "archives-1",
    "accounts-1",
)
AUDITED = ("catalog", "circulation")
AUDIT_QUEUE = "faults.audit.{}"
START_TIMEOUT = 90.0
TITLE = {
    "isbn": "978-7-02-000220-7",
    "title": "红楼梦",
    "author": "曹雪芹",
    "classification": "I242.4",
    "shelf": "S-1",
    "price": "59.70",
}

RELAY_HOLDER = """
    SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.locktype = 'advisory' AND l.classid = %s AND l.objid = %s AND l.granted
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""


@dataclass
class Instance:
    """One ``nameko run`` process of a service."""

    name: str
    service: str
    config_path: Path
    log_dir: Path
    process: subprocess.Popen | None = None
    starts: int = 0
    wanted: bool = False  # started and not killed on purpose: should be running

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        assert not self.alive, f"{self.name} is already running"
        log = open(self.log_dir / f"{self.name}.log", "a")
        log.write(f"===== start {self.starts + 1} at {time.strftime('%H:%M:%S')} =====\n")
        log.flush()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "nameko", "run", "--config", str(self.config_path)]
            + [MODULES[self.service]],
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
        log.close()
        self.starts += 1
        self.wanted = True

    def kill(self) -> None:
        """``kill -9``: no shutdown, no goodbye to the broker or the database."""
        self.wanted = False
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()


@dataclass
class System:
    """The services on the fault servers, with what the checks need to read them."""

    servers: Servers
    config: dict[str, Any] = field(default_factory=dict)
    dsns: dict[str, str] = field(default_factory=dict)
    instances: dict[str, Instance] = field(default_factory=dict)
    copies: dict[str, str] = field(default_factory=dict)  # barcode -> campus
    poison: str = ""  # the copy only the poison scenario lends
    poison_reader: str = ""  # to the only card the desks do not use
    patrons: list[str] = field(default_factory=list)
    _connections: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------ life cycle

    def start(self, copies: int, patrons: int) -> None:
        """Fresh vhost and databases, topology, every instance, then the collection and cards."""
        self.servers.fresh_vhost(VHOST)
        self.dsns = self.servers.fresh_databases()
        self.config = load_config()
        self.config.update(
            AMQP_URI=self.servers.amqp_uri(VHOST),
            RABBIT_MANAGEMENT_URI=self.servers.management_uri(),
            DATABASES=dict(self.dsns),
            RELAY_POLL_INTERVAL=0.2,
        )
        declare_all(self.config["AMQP_URI"])
        declare_audit_queues(self.config["AMQP_URI"])
        for name in INSTANCES:
            service = name.rsplit("-", 1)[0]
            path = self.servers.log_dir() / f"{name}.yml"
            own = dict(self.config)
            own["DATABASES"] = {s: self.servers.dsn(s, name) for s in SERVICES}
            own["LOGGING"] = dict(own["LOGGING"], root={"level": "INFO", "handlers": ["console"]})
            path.write_text(yaml.safe_dump(own, allow_unicode=True))
            self.instances[name] = Instance(name, service, path, self.servers.log_dir())
        for instance in self.instances.values():
            instance.start()
        for service in SERVICES:
            self.wait_ready(service)
        self.seed(copies, patrons)

    def stop(self) -> None:
        for instance in self.instances.values():
            instance.kill()
        for conn in self._connections.values():
            conn.close()

    def of(self, service: str) -> list[Instance]:
        return [i for i in self.instances.values() if i.service == service]

    def wait_ready(self, service: str, timeout: float = START_TIMEOUT) -> None:
        """Until every queue of ``service`` has as many consumers as it has live instances.

        The management API's counts lag by up to a second (statistics interval), so
        after a kill wait for the count to drop before starting the instance again.
        """
        queues = [f"rpc-{service}"] + [
            f"{service}.from.{source}" for source in subscriptions(service)
        ]
        seen: dict[str, int] = {}

        def ready() -> bool:
            for instance in self.of(service):
                if instance.wanted and not instance.alive:
                    raise AssertionError(
                        f"{instance.name} exited: see {self.servers.log_dir()}/{instance.name}.log"
                    )
            consumers = self.servers.consumers(VHOST)
            seen.update({queue: consumers.get(queue, 0) for queue in queues})
            return all(seen[q] == sum(i.alive for i in self.of(service)) for q in queues)

        try:
            wait_until(ready, timeout=timeout, what=f"{service} to consume its queues")
        except AssertionError as error:
            raise AssertionError(f"{error}; consumers: {seen}") from None

    def kill(self, instance: Instance) -> None:
        """kill -9, and wait until the broker has seen its consumers go."""
        instance.kill()
        self.wait_ready(instance.service)

    def restart(self, instance: Instance) -> None:
        """What a supervisor does after a crash: start it again and wait until it consumes."""
        instance.start()
        self.wait_ready(instance.service)

    def ensure_running(self) -> None:
        """Restart whatever a previous scenario left dead."""
        for instance in self.instances.values():
            if not instance.alive:
                instance.kill()  # reap it, and wait below until the broker saw it go
                self.wait_ready(instance.service)
                self.restart(instance)

    def seed(self, copies: int, patrons: int) -> None:
        """Copies on both campuses (plus the poison copy) and a mix of teacher and student cards."""
        with self.rpc("catalog") as catalog:
            for campus, count in (("north", copies - copies // 2), ("south", copies // 2)):
                added = catalog.add_copies(
                    {**TITLE, "campus": campus, "copies": count, "acquisition": "purchase"}
                )
                self.copies.update(dict.fromkeys(added["barcodes"], campus))
            self.poison = catalog.add_copies(
                {**TITLE, "title": POISON_TITLE, "campus": "north", "copies": 1}
            )["barcodes"][0]
            self.copies[self.poison] = "north"
        rows = ["name,kind,class,campus"] + [
            f"reader {n},{'teacher' if n % 2 else 'student'},{'' if n % 2 else 'G7-1'},north"
            for n in range(patrons)
        ]
        rows.append("poison reader,teacher,,north")
        with self.rpc("circulation") as circulation:
            issued = circulation.import_cards({"csv": "\n".join(rows) + "\n"})
        assert not issued["errors"], issued["errors"]
        *self.patrons, self.poison_reader = [card["patron_id"] for card in issued["issued"]]
        head = self.head("catalog")
        wait_until(
            lambda: self.checkpoint("circulation", "copy_availability", "catalog") == head,
            timeout=60,
            what="circulation to know every copy",
        )

    # ------------------------------------------------------------ reading the system

    @contextmanager
    def rpc(self, service: str, timeout: float = 30) -> Iterator[Any]:
        with ServiceRpcProxy(service, self.config, timeout=timeout) as proxy:
            yield proxy

    @contextmanager
    def cursor(self, service: str) -> Iterator[psycopg2.extensions.cursor]:
        """A cursor on ``service``'s database (autocommit; the connection is kept for the
        next call unless it failed)."""
        conn = self._connections.pop(service, None)
        if conn is None or conn.closed:
            conn = connect(self.dsns[service], autocommit=True)
        try:
            with conn.cursor() as cursor:
                yield cursor
        except BaseException:
            conn.close()
            raise
        self._connections[service] = conn

    def rows(self, service: str, sql: str, params: Any = None) -> list[tuple]:
        with self.cursor(service) as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def value(self, service: str, sql: str, params: Any = None) -> Any:
        rows = self.rows(service, sql, params)
        return rows[0][0] if rows else None

    def head(self, service: str) -> int:
        return self.value(service, "SELECT coalesce(max(position), 0) FROM events")

    def heads(self) -> dict[str, int]:
        return {service: self.head(service) for service in SERVICES}

    def checkpoint(self, service: str, projection: str, source: str) -> int:
        return (
            self.value(
                service,
                "SELECT position FROM projection_checkpoints WHERE projection = %s AND source = %s",
                (projection, source),
            )
            or 0
        )

    def relay_holder(self, service: str) -> Instance | None:
        """The instance whose session holds ``service``'s relay lock, found through PostgreSQL."""
        names = self.rows(service, RELAY_HOLDER, (LOCK_NAMESPACE, RELAY_LOCK))
        return self.instances.get(names[0][0]) if names else None

    def archive_position(self, source: str) -> int | None:
        """How far the archive holds ``source`` (None while the database is out)."""
        try:
            return self.checkpoint("archives", "event_archive", source)
        except (DatabaseUnavailable, psycopg2.Error):
            return None


def declare_audit_queues(amqp_uri: str) -> None:
    """Queues that keep every event catalog and circulation publish (the relays' audit);
    quorum queues too: they must outlive a broker node."""
    with Connection(amqp_uri) as connection:
        for source in AUDITED:
            Queue(
                AUDIT_QUEUE.format(source),
                exchange=events_exchange(source),
                routing_key="#",
                durable=True,
                queue_arguments=dict(QUORUM),
            )(connection.default_channel).declare()


def followed() -> list[tuple[str, str, str]]:
    """Every (service, projection, source) whose checkpoint must reach the source's head."""
    pairs = []
    for service in SERVICES:
        cls = PoisonedArchives if service == "archives" else service_class(service)
        for attribute in vars_of(cls):
            projections: tuple = ()
            if isinstance(attribute, Projections):
                projections = attribute.projections
            elif isinstance(attribute, EventStoreProvider):
                projections = attribute.inline
            for projection in projections:
                for source in projection.sources:
                    pairs.append((service, projection.name, source))
    return sorted(set(pairs))


def vars_of(cls: type) -> list[Any]:
    seen: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        seen.update(vars(klass))
    return list(seen.values())
