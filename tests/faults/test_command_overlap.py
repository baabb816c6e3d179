"""Two runs of one command at once: the second sees what the first recorded. The fix
the fault scripts' PostgreSQL restart found.

A desk whose answer was late asks again with the same ``command_id`` while the
first run is still going. The second run looked for what the command recorded
before the first run had committed, found nothing, waited for the copy's lock
and was then refused: "already on loan", for the loan the desk itself had just
made. The desk was told no, and the store said yes.
"""

import eventlet

from shared.eventsourcing.decider import Event
from shared.eventsourcing.store import EventStore
from shared.eventsourcing.unit_of_work import UnitOfWork
from shared.storage.pool import connect
from tests.helpers import wait_until

COMMAND = "5f0c0c52-8f3e-4d51-9a36-6b0e7f1a2c9d"
CARD = Event(
    "CardIssued",
    {"patron_id": "P0000777", "name": "韩梅梅", "kind": "teacher", "campus": "north"},
)


def run(conn):
    return UnitOfWork(EventStore("circulation"), conn.cursor(), "c-1", "c-1", COMMAND)


def waiting(databases, conn):
    """True while ``conn`` waits for an advisory lock."""
    observer = connect(databases["circulation"], autocommit=True)
    try:
        with observer.cursor() as cursor:
            cursor.execute(
                "SELECT wait_event FROM pg_stat_activity WHERE pid = %s", (conn.get_backend_pid(),)
            )
            return cursor.fetchone() == ("advisory",)
    finally:
        observer.close()


def test_a_second_run_of_a_command_waits_for_the_first_and_answers_from_it(clean_databases):
    first = connect(clean_databases["circulation"])
    second = connect(clean_databases["circulation"])
    try:
        running = run(first)
        assert running.earlier() == []
        running.append("patron-P0000777", 0, [CARD])
        again = eventlet.spawn(lambda: run(second).earlier())
        wait_until(lambda: again.dead or waiting(clean_databases, second), what="the second run")
        assert not again.dead, "the second run did not wait for the first"
        running.finish()
        first.commit()
        assert [event.type for event in again.wait()] == ["CardIssued"]
    finally:
        first.close()
        second.close()
