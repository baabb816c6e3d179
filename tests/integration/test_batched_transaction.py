"""A command's transaction with its writes, BEGIN and COMMIT sent along with other
statements (``shared.storage.batched``), on the real PostgreSQL."""

from __future__ import annotations

import psycopg2
import psycopg2.extensions
import pytest
from psycopg2.extras import execute_values

from shared.storage.batched import batched_transaction, writes

pytestmark = pytest.mark.integration

TABLE = "CREATE TABLE IF NOT EXISTS batched_notes (id integer PRIMARY KEY, note text NOT NULL)"


@pytest.fixture
def pool(pool_for):
    pool = pool_for("catalog")
    with pool.transaction() as cursor:
        cursor.execute(TABLE)
        cursor.execute("TRUNCATE batched_notes")
    return pool


def notes(pool) -> list[tuple[int, str]]:
    with pool.transaction() as cursor:
        cursor.execute("SELECT id, note FROM batched_notes ORDER BY id")
        return cursor.fetchall()


def test_writes_waiting_go_ahead_of_the_next_read_and_the_rest_with_the_commit(pool):
    with batched_transaction(pool) as cursor:
        cursor.batch.execute("INSERT INTO batched_notes VALUES (%s, %s)", (1, "借出"))
        cursor.execute("SELECT count(*) FROM batched_notes")
        assert cursor.fetchone() == (1,)  # the read saw the write sent ahead of it
        cursor.execute("SELECT id, note FROM batched_notes")
        assert list(cursor) == [(1, "借出")]  # rows read by iterating, as from a cursor
        cursor.batch.execute("INSERT INTO batched_notes VALUES (%s, %s)", (2, "归还"))
        # Not sent yet: another connection sees neither (the first is not committed).
        assert notes(pool) == []
    assert notes(pool) == [(1, "借出"), (2, "归还")]


def test_rows_quoted_by_execute_values_wait_as_any_write(pool):
    with batched_transaction(pool) as cursor:
        execute_values(
            writes(cursor), "INSERT INTO batched_notes VALUES %s", [(1, "借出"), (2, "归还")]
        )
        assert notes(pool) == []  # waiting, not sent
        cursor.execute("SELECT count(*) FROM batched_notes")
        assert cursor.fetchone() == (2,)
    assert notes(pool) == [(1, "借出"), (2, "归还")]


def test_a_transaction_of_writes_alone_is_committed(pool):
    with batched_transaction(pool) as cursor:
        cursor.batch.execute("INSERT INTO batched_notes VALUES (%s, %s)", (1, "只写"))
    assert notes(pool) == [(1, "只写")]


def test_what_raises_rolls_back_what_was_sent_and_what_was_waiting(pool):
    with pytest.raises(RuntimeError), batched_transaction(pool) as cursor:
        cursor.execute("INSERT INTO batched_notes VALUES (%s, %s)", (1, "已发送"))
        cursor.batch.execute("INSERT INTO batched_notes VALUES (%s, %s)", (2, "等待中"))
        raise RuntimeError("the command was refused")
    assert notes(pool) == []


def test_a_failing_statement_rolls_back_and_the_connection_serves_again(pool):
    with pytest.raises(psycopg2.errors.UniqueViolation), batched_transaction(pool) as cursor:
        cursor.batch.execute("INSERT INTO batched_notes VALUES (%s, %s)", (1, "一"))
        cursor.execute("INSERT INTO batched_notes VALUES (%s, %s)", (1, "同一号"))
    assert notes(pool) == []
    # The connection went back to the pool (the last one in, the first out) idle and
    # out of autocommit.
    with pool.connection() as conn:
        assert not conn.autocommit
        assert conn.get_transaction_status() == psycopg2.extensions.TRANSACTION_STATUS_IDLE
    with batched_transaction(pool) as cursor:
        cursor.execute("INSERT INTO batched_notes VALUES (%s, %s)", (1, "再来"))
    assert notes(pool) == [(1, "再来")]


def test_the_transaction_holds_its_locks_until_the_commit(pool):
    """BEGIN really went out with the first statement: a row lock taken there is held
    by the open transaction, so another transaction cannot take it meanwhile."""
    with pool.transaction() as cursor:
        cursor.execute("INSERT INTO batched_notes VALUES (1, '锁')")
    with batched_transaction(pool) as cursor:
        cursor.execute("SELECT note FROM batched_notes WHERE id = 1 FOR UPDATE")
        with pool.transaction() as other:
            other.execute("SELECT note FROM batched_notes WHERE id = 1 FOR UPDATE SKIP LOCKED")
            assert other.fetchall() == []
    with pool.transaction() as other:
        other.execute("SELECT note FROM batched_notes WHERE id = 1 FOR UPDATE SKIP LOCKED")
        assert other.fetchall() == [("锁",)]
