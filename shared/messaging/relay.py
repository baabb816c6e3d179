"""The relay: the event store is the outbox, the relay empties it into RabbitMQ.

One relay per service is active at a time, whichever instance holds the relay's
session-level advisory lock; the others wait and take over when its connection
dies (a killed process releases the lock with its connection). The leader reads
committed events after its recorded progress, publishes them in position order
with confirms, then records the new progress. A crash between publish and record
republishes a batch: duplicates are possible, loss is not. It is woken by
PostgreSQL NOTIFY on append and also polls, in case a notification is missed.
Woken, it lingers ``RELAY_LINGER_MS`` (10) before reading, so the events of desks
working at once go out as one batch: one read, one confirm and one progress write for
them all rather than for each.

Run it on its own with ``python -m shared.messaging.relay <service>``; services run it
inside nameko through ``shared.runtime.dependencies.EventRelay``.
"""

from __future__ import annotations

import argparse
import select
import sys
import threading
import time
from collections.abc import Callable, Mapping
from logging import getLogger
from typing import Any

import psycopg2

from shared.config import SERVICES, amqp_uri, database_url, load_config
from shared.events.envelope import Envelope
from shared.eventsourcing.store import LOCK_NAMESPACE, NOTIFY_CHANNEL, RELAY_LOCK, EventStore
from shared.messaging.names import events_exchange
from shared.messaging.publisher import ConfirmingPublisher, OutgoingMessage, PublishNotConfirmed
from shared.storage.pool import DatabaseUnavailable, connect

_log = getLogger(__name__)

DEFAULT_BATCH_SIZE = 500
DEFAULT_POLL_INTERVAL = 1.0
DEFAULT_LINGER_MS = 10
RETRY_DELAY = 1.0

UPSERT_PROGRESS = """
    INSERT INTO relay_progress (exchange, position, updated_at) VALUES (%s, %s, now())
    ON CONFLICT (exchange) DO UPDATE SET position = EXCLUDED.position, updated_at = now()
"""


def to_message(envelope: Envelope) -> OutgoingMessage:
    """An event as it goes on the wire: the envelope as JSON, routed by its type.

    Headers repeat the fields a subscriber may filter or route on without
    parsing the body (campus, type, source, position).
    """
    return OutgoingMessage(
        routing_key=envelope.type,
        body=envelope.to_json(),
        message_id=envelope.event_id,
        headers={
            "campus": envelope.campus or "",
            "type": envelope.type,
            "source": envelope.source,
            "position": envelope.position,
            "schema_version": envelope.schema_version,
        },
    )


class Relay:
    """Publishes one service's committed events to ``<service>.events``."""

    def __init__(
        self,
        source: str,
        dsn: str,
        amqp_uri: str,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        linger: float = DEFAULT_LINGER_MS / 1000,
    ) -> None:
        self.source = source
        self.dsn = dsn
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.linger = linger
        self.exchange = events_exchange(source)
        self.store = EventStore(source)
        self.publisher = ConfirmingPublisher(amqp_uri)
        self.is_leader = False
        self.published = 0
        self._conn: psycopg2.extensions.connection | None = None

    @classmethod
    def from_config(cls, service: str, config: Mapping[str, Any]) -> Relay:
        """``service``'s relay as the config sets it (``RELAY_*``)."""
        return cls(
            service,
            database_url(config, service),
            amqp_uri(config),
            batch_size=int(config.get("RELAY_BATCH_SIZE", DEFAULT_BATCH_SIZE)),
            poll_interval=float(config.get("RELAY_POLL_INTERVAL", DEFAULT_POLL_INTERVAL)),
            linger=float(config.get("RELAY_LINGER_MS", DEFAULT_LINGER_MS)) / 1000,
        )

    def run(self, should_stop: Callable[[], bool]) -> None:
        """Relay until ``should_stop()``; survive database and broker outages."""
        while not should_stop():
            try:
                if not self._lead():
                    self._sleep(should_stop, self.poll_interval)
                    continue
                if self.publish_pending() < self.batch_size and self._wait_for_appends():
                    self._sleep(should_stop, self.linger)  # what the other desks append too
            except (DatabaseUnavailable, psycopg2.Error, PublishNotConfirmed) as error:
                _log.warning("relay %s paused: %s", self.source, error)
                self._drop_connection()
                self._sleep(should_stop, RETRY_DELAY)
        self.close()

    def _lead(self) -> bool:
        """Hold (or try to take) the relay lock; true while this instance is the leader."""
        if self.is_leader and self._conn is not None and not self._conn.closed:
            return True
        if self._conn is None or self._conn.closed:
            self._conn = connect(self.dsn, autocommit=True)
        with self._conn.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", (LOCK_NAMESPACE, RELAY_LOCK))
            self.is_leader = cursor.fetchone()[0]
            if self.is_leader:
                cursor.execute(f"LISTEN {NOTIFY_CHANNEL}")
                self.publisher.declare(self.exchange)
                _log.info("relay %s is now the leader", self.source)
        return self.is_leader

    def publish_pending(self) -> int:
        """Publish one batch after the recorded progress; return how many were sent."""
        assert self._conn is not None
        with self._conn.cursor() as cursor:
            batch = self.store.read_after_progress(cursor, self.exchange.name, self.batch_size)
            if not batch:
                return 0
            self.publisher.publish_batch(self.exchange.name, [to_message(e) for e in batch])
            cursor.execute(UPSERT_PROGRESS, (self.exchange.name, batch[-1].position))
        self.published += len(batch)
        _log.debug("relay %s published up to %d", self.source, batch[-1].position)
        return len(batch)

    def _wait_for_appends(self) -> bool:
        """Block until an append is notified (True) or the poll interval passes."""
        assert self._conn is not None
        ready, _, _ = select.select([self._conn], [], [], self.poll_interval)
        if ready:
            self._conn.poll()
            self._conn.notifies.clear()
        return bool(ready)

    def _sleep(self, should_stop: Callable[[], bool], seconds: float) -> None:

        deadline = time.monotonic() + seconds
        while not should_stop() and time.monotonic() < deadline:
            time.sleep(min(0.1, seconds))

    def _drop_connection(self) -> None:
        self.is_leader = False
        conn, self._conn = self._conn, None
        if conn is not None and not conn.closed:
            try:
                conn.close()
            except psycopg2.Error:
                pass

    def close(self) -> None:
        self._drop_connection()
        self.publisher.close()


def main(argv: list[str] | None = None) -> int:
    """Run one service's relay in the foreground until interrupted."""
    import logging

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("service", choices=SERVICES)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    relay = Relay.from_config(args.service, load_config())
    stop = threading.Event()
    try:
        relay.run(stop.is_set)
    except KeyboardInterrupt:
        stop.set()
    return 0


if __name__ == "__main__":
    sys.exit(main())
