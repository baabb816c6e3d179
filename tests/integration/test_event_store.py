"""The event store on a real PostgreSQL: what only the database has.

The append-only trigger, concurrent writers and a tailing reader, writers racing
on one stream. The store's contract (ordering, optimistic concurrency,
idempotency, commands, sequences), which the in-memory store must keep too, is
proved on both in ``tests/contract/test_event_store_contract.py``.
"""

import eventlet
import pytest

from shared.eventsourcing.store import APPEND_LOCK, NO_STREAM, ConcurrencyError, EventStore
from tests.factories import repaired_event
from tests.helpers import wait_until

WRITERS = 8
TOTAL_EVENTS = 20_000
EVENTS_PER_APPEND = 5


@pytest.fixture
def store():
    return EventStore("catalog")


@pytest.fixture
def pool(pool_for):
    return pool_for("catalog")


def test_the_log_is_append_only(pool, store):
    with pool.transaction() as cursor:
        store.append(cursor, "copy-1", NO_STREAM, [repaired_event("copy-1")])
    with pytest.raises(Exception, match="append-only"):
        with pool.transaction() as cursor:
            cursor.execute("DELETE FROM events")


def test_concurrent_writers_and_a_tailing_reader_see_every_event_once_in_order(pool, store):
    appended: list[str] = []
    seen: list = []
    writers_done = eventlet.event.Event()

    def write(writer: int) -> None:
        per_writer = TOTAL_EVENTS // WRITERS
        for batch in range(per_writer // EVENTS_PER_APPEND):
            stream = f"copy-W{writer}-{batch}"
            events = [repaired_event(stream) for _ in range(EVENTS_PER_APPEND)]
            with pool.transaction() as cursor:
                store.append(cursor, stream, NO_STREAM, events)
            appended.extend(event.event_id for event in events)

    def tail() -> None:
        after = 0
        while True:
            finished = writers_done.ready()  # checked before reading, so nothing is missed
            with pool.transaction() as cursor:
                page = store.read(cursor, after, 1000)
            seen.extend(page)
            if page:
                after = page[-1].position
            elif finished:
                return
            else:
                eventlet.sleep(0)

    reader = eventlet.spawn(tail)
    writers = [eventlet.spawn(write, number) for number in range(WRITERS)]
    for writer in writers:
        writer.wait()
    writers_done.send(True)
    reader.wait()

    assert [event.position for event in seen] == list(range(1, TOTAL_EVENTS + 1))
    assert sorted(event.event_id for event in seen) == sorted(appended)
    assert len(set(appended)) == TOTAL_EVENTS


def test_two_writers_racing_on_one_stream_exactly_one_wins(pool, store):
    """The second writer queues behind the first's open transaction, then finds the stream moved."""
    with pool.transaction() as cursor:
        store.append(cursor, "copy-race", NO_STREAM, [repaired_event("copy-race")])
    first_appended = eventlet.event.Event()
    release_first = eventlet.event.Event()

    def first_writer():
        with pool.transaction() as cursor:
            store.append(cursor, "copy-race", 1, [repaired_event("copy-race", note="first")])
            first_appended.send()
            release_first.wait()  # still uncommitted while the second writer tries

    def second_writer():
        first_appended.wait()
        with pool.transaction() as cursor:
            store.append(cursor, "copy-race", 1, [repaired_event("copy-race", note="second")])

    first = eventlet.spawn(first_writer)
    second = eventlet.spawn(second_writer)
    first_appended.wait()
    wait_until(lambda: waiting_on_append_lock(pool), what="the second writer to queue")
    release_first.send()
    first.wait()
    with pytest.raises(ConcurrencyError):
        second.wait()
    with pool.transaction() as cursor:
        notes = [event.data["note"] for event in store.load(cursor, "copy-race")]
    assert notes == ["", "first"]


def waiting_on_append_lock(pool) -> bool:
    with pool.transaction() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = %s "
            "AND NOT granted",
            (APPEND_LOCK,),
        )
        return cursor.fetchone()[0] > 0


def test_many_writers_creating_the_same_stream_exactly_one_wins(pool, store):
    outcomes = []

    def create(writer: int) -> None:
        try:
            with pool.transaction() as cursor:
                store.append(cursor, "copy-new", NO_STREAM, [repaired_event("copy-new")])
            outcomes.append("won")
        except ConcurrencyError:
            outcomes.append("refused")

    for thread in [eventlet.spawn(create, number) for number in range(WRITERS)]:
        thread.wait()
    assert sorted(outcomes) == ["refused"] * (WRITERS - 1) + ["won"]
