"""Statements that return nothing, sent to PostgreSQL with the next statement that does.

A command's transaction waits on PostgreSQL once per round trip, and under load each
wait lasts until the server has run the statement and the service's process is on a
core again: about as long as the statement's own work, several times over. While a
command holds its service's append lock (``shared.eventsourcing.store``) every other
command of that service waits as well, so the round trips between the insert of its
events and its commit bound how many commands a service can take a second.

``StatementBatch`` keeps writes (inline projections, checkpoints, a command's receipt)
until the next statement that reads; ``BatchingCursor`` sends them ahead of that
statement in the same round trip. ``batched_transaction`` goes further: psycopg2 sends
``BEGIN`` and ``COMMIT`` each on its own, and here ``BEGIN`` goes with the first
statement and ``COMMIT`` with the last writes, on a connection in autocommit mode for
the length of the transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import psycopg2
import psycopg2.extensions

if TYPE_CHECKING:
    from shared.storage.pool import ConnectionPool

Cursor = psycopg2.extensions.cursor
BEGIN = b"BEGIN"
COMMIT = b"COMMIT"


class StatementBatch:
    """Statements that return nothing, waiting to be sent together.

    Quacks like a cursor for ``execute``; ``flush`` sends what was given so far.
    """

    def __init__(self, cursor: Cursor) -> None:
        self.cursor = cursor
        self._statements: list[bytes] = []

    def execute(self, sql: Any, params: Any = None) -> None:
        self._statements.append(self.cursor.mogrify(sql, params))

    def mogrify(self, sql: Any, params: Any = None) -> bytes:
        """The cursor's own (``execute_values`` quotes its rows with it)."""
        return self.cursor.mogrify(sql, params)

    @property
    def connection(self) -> Any:
        """The cursor's (``execute_values`` reads its encoding)."""
        return self.cursor.connection

    def take(self) -> list[bytes]:
        """The statements waiting, which the caller now sends; the batch is left empty."""
        waiting, self._statements = self._statements, []
        return waiting

    def flush(self) -> None:
        waiting = self.take()
        if waiting:
            self.cursor.execute(b";\n".join(waiting))


def writes(cursor: Any) -> Any:
    """Where a statement that returns nothing goes: the waiting batch of a
    ``BatchingCursor``, to be sent with the next statement that reads or the ``COMMIT``;
    else the cursor itself (a rebuild's, a test's). Its ``rowcount`` is not known then."""
    return cursor.batch if isinstance(cursor, BatchingCursor) else cursor


class BatchingCursor:
    """A transaction's cursor that sends the writes waiting in ``batch`` ahead of each
    statement, in the same round trip; everything else is the cursor's own.

    ``commits_batch`` is true when the transaction sends what is still waiting with its
    ``COMMIT`` (``batched_transaction``); otherwise the owner flushes before committing.
    """

    def __init__(self, cursor: Cursor, batch: StatementBatch | None = None) -> None:
        self.cursor = cursor
        self.batch = batch if batch is not None else StatementBatch(cursor)
        self.commits_batch = False

    def execute(self, sql: Any, params: Any = None) -> None:
        waiting = self.batch.take()
        if not waiting:
            self.cursor.execute(sql, params)
            return
        # One query string: its results are the last statement's, this one's.
        self.cursor.execute(b";\n".join([*waiting, self.cursor.mogrify(sql, params)]))

    def executemany(self, sql: Any, params_seq: Any) -> None:
        self.batch.flush()  # the cursor's own sends each statement apart: what waits goes first
        self.cursor.executemany(sql, params_seq)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.cursor, name)

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self.cursor)  # the rows of the last statement, as a cursor gives them


@contextmanager
def batched_transaction(pool: ConnectionPool) -> Iterator[BatchingCursor]:
    """A transaction whose ``BEGIN`` goes with its first statement and whose ``COMMIT``
    with its last writes: two round trips fewer than ``ConnectionPool.transaction``.
    Committed when the block ends, rolled back if it raises."""
    with pool.connection() as conn:
        conn.autocommit = True
        cursor = conn.cursor()
        batch = StatementBatch(cursor)
        batch.execute(BEGIN)
        batching = BatchingCursor(cursor, batch)
        batching.commits_batch = True
        try:
            yield batching
            waiting = batch.take()
            if waiting != [BEGIN]:  # else nothing was asked: nothing to send
                cursor.execute(b";\n".join([*waiting, COMMIT]))
        except BaseException:
            batch.take()
            if not conn.closed and conn.get_transaction_status() != _IDLE:
                try:
                    cursor.execute(b"ROLLBACK")
                except psycopg2.Error:
                    conn.close()  # the pool opens a new one rather than lend one mid-transaction
            raise
        finally:
            if not conn.closed:
                cursor.close()
                conn.autocommit = False


_IDLE = psycopg2.extensions.TRANSACTION_STATUS_IDLE
