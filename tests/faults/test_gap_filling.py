"""Filling a gap holds no connection: the fix the fault scripts' seeding found.

A consumer that finds a gap reads it from the source's ``events_since`` RPC. It
used to do so inside its transaction, holding the checkpoint's row lock: every
other worker of the queue then waited on that lock with a connection each, the
pool ran dry, and the service could not answer the feed requests of the
services filling gaps from *it*. Catalog and circulation follow each other, so
a burst both ways (a delivery of copies while a roster is imported, two
circulation instances sharing a queue) stalled all four services until their
pools timed out, again and again. Here the feed needs a connection of the
consumer's own pool, of one connection, as the other service's feed worker
needed one of a pool that was drained.
"""

from shared.eventsourcing.projection import Projection, ProjectionRunner
from shared.eventsourcing.store import EventStore
from shared.storage.pool import ConnectionPool
from tests.factories import added_event

COPIES = 5


class Positions(Projection):
    name = "positions"
    sources = ("catalog",)

    def __init__(self):
        self.applied = []

    def apply(self, cursor, event):
        self.applied.append(event.position)


def test_a_gap_is_read_from_the_feed_while_the_consumer_holds_no_connection(
    clean_databases, pool_for
):
    store = EventStore("catalog")
    with pool_for("catalog").transaction() as cursor:
        for number in range(COPIES):
            event = added_event(f"G{number:08d}")
            store.append(cursor, event.stream_id, 0, [event])
        history = store.read(cursor, 0, COPIES)
    consumer_pool = ConnectionPool(clean_databases["circulation"], size=1, timeout=2)

    def feed(source, after, limit):
        with consumer_pool.connection():  # the only connection: free unless the runner holds it
            return history[after : after + limit]

    projection = Positions()
    try:
        outcome = ProjectionRunner(consumer_pool, [projection], feed).handle(history[-1])
    finally:
        consumer_pool.close()
    assert outcome.filled == COPIES - 1
    assert projection.applied == [event.position for event in history]
