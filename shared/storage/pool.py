"""PostgreSQL connections: a small blocking pool and a transaction scope.

The pool hands out connections to green threads (or real threads), waits when all
are busy, and throws away connections that broke so a restarted server is picked
up again. ``transaction`` is the unit of work: commit on success, roll back on
any exception.
"""

from __future__ import annotations

import queue
from collections.abc import Iterator
from contextlib import contextmanager
from logging import getLogger

import psycopg2
import psycopg2.extensions
import psycopg2.extras

from shared.storage.green import make_psycopg_green

_log = getLogger(__name__)

DEFAULT_POOL_SIZE = 8
DEFAULT_CHECKOUT_TIMEOUT = 30.0

psycopg2.extras.register_uuid()


class DatabaseUnavailable(ConnectionError):
    """Raised when PostgreSQL cannot be reached or the pool has no connection in time."""


def connect(dsn: str, *, autocommit: bool = False) -> psycopg2.extensions.connection:
    """Open one connection, translating failure into ``DatabaseUnavailable``."""
    make_psycopg_green()
    try:
        conn = psycopg2.connect(dsn, connect_timeout=10)
    except psycopg2.OperationalError as error:
        raise DatabaseUnavailable(str(error).strip()) from error
    conn.autocommit = autocommit
    return conn


class ConnectionPool:
    """At most ``size`` connections to one database, opened on demand."""

    def __init__(
        self, dsn: str, size: int = DEFAULT_POOL_SIZE, timeout: float = DEFAULT_CHECKOUT_TIMEOUT
    ) -> None:
        self.dsn = dsn
        self.size = size
        self.timeout = timeout
        self._idle: queue.LifoQueue[psycopg2.extensions.connection | None] = queue.LifoQueue()
        for _ in range(size):
            self._idle.put(None)  # a free slot with no connection opened yet

    @property
    def in_use(self) -> int:
        """Connections lent out now (a metric: ``library_db_pool_in_use``)."""
        return self.size - self._idle.qsize()

    def acquire(self) -> psycopg2.extensions.connection:
        try:
            conn = self._idle.get(timeout=self.timeout)
        except queue.Empty:
            raise DatabaseUnavailable(
                f"no database connection free within {self.timeout}s (pool of {self.size})"
            ) from None
        if conn is None or conn.closed:
            try:
                conn = connect(self.dsn)
            except Exception:
                self._idle.put(None)
                raise
        return conn

    def release(self, conn: psycopg2.extensions.connection, *, broken: bool = False) -> None:
        if broken or conn.closed:
            try:
                conn.close()
            except psycopg2.Error:
                pass
            self._idle.put(None)
            return
        if conn.status != psycopg2.extensions.STATUS_READY:
            conn.rollback()
        self._idle.put(conn)

    @contextmanager
    def connection(self) -> Iterator[psycopg2.extensions.connection]:
        """Borrow a connection; a connection that failed at the network level is discarded."""
        conn = self.acquire()
        broken = False
        try:
            yield conn
        except (psycopg2.OperationalError, psycopg2.InterfaceError) as error:
            broken = True
            if conn.closed:
                raise DatabaseUnavailable(str(error).strip() or "connection lost") from error
            raise
        finally:
            self.release(conn, broken=broken)

    @contextmanager
    def transaction(self) -> Iterator[psycopg2.extensions.cursor]:
        """A cursor inside one transaction: committed on success, rolled back on error."""
        with self.connection() as conn:
            try:
                with conn.cursor() as cursor:
                    yield cursor
                conn.commit()
            except BaseException:
                if not conn.closed:
                    try:
                        conn.rollback()
                    except psycopg2.Error:
                        pass
                raise

    def close(self) -> None:
        while True:
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                return
            if conn is not None and not conn.closed:
                conn.close()
