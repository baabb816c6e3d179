"""The consumer protocol on a real PostgreSQL: duplicates, reordering, gaps, poison."""

import random

import pytest

from services.circulation.projections import CopyAvailability
from shared.events.envelope import NewEvent
from shared.eventsourcing.projection import Projection, ProjectionRunner, TransientError
from shared.eventsourcing.store import ANY_VERSION, EventStore
from shared.storage.batched import StatementBatch, writes
from tests.factories import added_event

COPIES = 12


class AppliedLog(Projection):
    """Records the order events were applied in, to prove once-and-in-order."""

    name = "applied_log"
    sources = ("catalog",)
    tables = ("applied_log",)
    poison_position: int | None = None

    def apply(self, cursor, event):
        if event.position == self.poison_position:
            raise ValueError(f"cannot digest event {event.position}")
        cursor.execute("INSERT INTO applied_log (position) VALUES (%s)", (event.position,))


@pytest.fixture
def catalog_history(pool_for):
    """A realistic catalog history: copies added, damaged, repaired, moved, weeded."""
    store = EventStore("catalog")
    history = []
    with pool_for("catalog").transaction() as cursor:
        for number in range(1, COPIES + 1):
            barcode = f"C{number:08d}"
            events = [added_event(barcode)]
            stream = events[0].stream_id
            if number % 3 == 0:
                events.append(NewEvent("CopyDamaged", stream, {"barcode": barcode}))
            if number % 6 == 0:
                events.append(NewEvent("Repaired", stream, {"barcode": barcode}))
            if number % 4 == 0:
                events.append(
                    NewEvent(
                        "Transferred",
                        stream,
                        {
                            "barcode": barcode,
                            "from_campus": "north",
                            "to_campus": "south",
                            "shelf": "S-1",
                        },
                    )
                )
            if number % 5 == 0:
                events.append(
                    NewEvent(
                        "Weeded",
                        stream,
                        {
                            "barcode": barcode,
                            "reason": "outdated",
                            "value": "59.70",
                            "classification": "I242.4",
                        },
                    )
                )
            history += EventStore.append(store, cursor, stream, ANY_VERSION, events)
    return sorted(history, key=lambda event: event.position)


@pytest.fixture
def circulation_pool(pool_for):
    pool = pool_for("circulation")
    with pool.transaction() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS applied_log (position bigint NOT NULL)")
        cursor.execute("TRUNCATE applied_log")
    return pool


def feed_from(pool_for):
    def read(source, after, limit):
        with pool_for(source).transaction() as cursor:
            return EventStore(source).read(cursor, after, limit)

    return read


def snapshot(pool):
    with pool.transaction() as cursor:
        cursor.execute("SELECT * FROM copy_availability ORDER BY barcode")
        copies = cursor.fetchall()
        cursor.execute("SELECT position FROM applied_log")
        applied = [row[0] for row in cursor.fetchall()]
    return copies, applied


def reset(pool, projections):
    with pool.transaction() as cursor:
        for projection in projections:
            projection.reset(cursor)
        cursor.execute("TRUNCATE projection_checkpoints, parked_events")


@pytest.mark.parametrize("seed", range(5))
def test_duplicated_and_shuffled_delivery_equals_applying_once_in_order(
    seed, catalog_history, circulation_pool, pool_for
):
    projections = [CopyAvailability(), AppliedLog()]
    runner = ProjectionRunner(circulation_pool, projections, feed_from(pool_for))
    for event in catalog_history:
        runner.handle(event)
    in_order = snapshot(circulation_pool)
    assert in_order[1] == [event.position for event in catalog_history]

    reset(circulation_pool, projections)
    deliveries = catalog_history * 3
    random.Random(seed).shuffle(deliveries)
    totals = {"applied": 0, "duplicates": 0, "filled": 0}
    for event in deliveries:
        outcome = runner.handle(event)
        totals = {key: totals[key] + getattr(outcome, key) for key in totals}

    assert snapshot(circulation_pool) == in_order
    events = len(catalog_history)
    assert totals["applied"] == 2 * events  # each event once, in each of two projections
    assert totals["duplicates"] + totals["applied"] - totals["filled"] == 2 * 3 * events


def test_a_gap_is_filled_from_the_source_feed(catalog_history, circulation_pool, pool_for):
    runner = ProjectionRunner(circulation_pool, [AppliedLog()], feed_from(pool_for))
    outcome = runner.handle(catalog_history[-1])
    assert outcome.filled == len(catalog_history) - 1
    assert snapshot(circulation_pool)[1] == [event.position for event in catalog_history]


def test_an_unreachable_feed_is_an_outage_and_changes_nothing(catalog_history, circulation_pool):
    def down(source, after, limit):
        raise ConnectionError("catalog is not answering")

    runner = ProjectionRunner(circulation_pool, [AppliedLog()], down)
    with pytest.raises(TransientError, match="catalog"):
        runner.handle(catalog_history[3])
    assert snapshot(circulation_pool)[1] == []


def test_a_poison_event_is_parked_and_the_projection_goes_on(
    catalog_history, circulation_pool, pool_for
):
    poisoned = AppliedLog()
    poisoned.poison_position = 3
    runner = ProjectionRunner(circulation_pool, [poisoned], feed_from(pool_for))
    parked = []
    for event in catalog_history:
        parked += runner.handle(event).parked
    assert [(p.projection, p.event.position) for p in parked] == [("applied_log", 3)]
    assert "cannot digest event 3" in parked[0].error
    applied = snapshot(circulation_pool)[1]
    assert applied == [e.position for e in catalog_history if e.position != 3]
    with circulation_pool.transaction() as cursor:
        cursor.execute("SELECT position, error FROM parked_events")
        assert [(row[0], "cannot digest" in row[1]) for row in cursor.fetchall()] == [(3, True)]

    # Once fixed, redelivering the dead letter applies the parked event out of turn.
    poisoned.poison_position = None
    outcome = runner.handle(catalog_history[2])
    assert outcome.applied == 1 and outcome.duplicates == 0
    assert sorted(snapshot(circulation_pool)[1]) == [e.position for e in catalog_history]
    assert runner.handle(catalog_history[2]).duplicates == 1
    with circulation_pool.transaction() as cursor:
        cursor.execute("SELECT count(*) FROM parked_events")
        assert cursor.fetchone()[0] == 0


class BatchedLog(AppliedLog):
    """Applies a batch in one statement, failing all of it when the poison is inside."""

    batches: list[int]

    def apply_many(self, cursor, events):
        if any(event.position == self.poison_position for event in events):
            raise ValueError("cannot digest this batch")
        cursor.execute(
            "INSERT INTO applied_log (position) SELECT unnest(%s::bigint[])",
            ([event.position for event in events],),
        )
        self.batches.append(len(events))


@pytest.mark.parametrize("seed", range(5))
def test_duplicated_and_shuffled_batches_equal_applying_once_in_order(
    seed, catalog_history, circulation_pool, pool_for
):
    batched = BatchedLog()
    batched.batches = []
    runner = ProjectionRunner(circulation_pool, [batched], feed_from(pool_for))
    rng = random.Random(seed)
    deliveries = catalog_history * 2
    rng.shuffle(deliveries)
    while deliveries:
        size = rng.randint(1, 10)
        batch, deliveries = deliveries[:size], deliveries[size:]
        runner.handle_many(batch)

    assert snapshot(circulation_pool)[1] == [event.position for event in catalog_history]
    assert max(batched.batches) > 1  # runs were applied at once, not only one by one


def test_a_poison_event_in_a_batch_is_parked_alone(catalog_history, circulation_pool, pool_for):
    batched = BatchedLog()
    batched.batches = []
    batched.poison_position = 3
    runner = ProjectionRunner(circulation_pool, [batched], feed_from(pool_for))

    outcome = runner.handle_many(reversed(catalog_history))

    assert [p.event.position for p in outcome.parked] == [3]
    assert outcome.applied == len(catalog_history) - 1
    applied = snapshot(circulation_pool)[1]
    assert applied == [e.position for e in catalog_history if e.position != 3]


class DeferredLog(AppliedLog):
    """Writes through ``writes(cursor)``: in a batch its statements wait for the COMMIT, so
    a write the database refuses (position 3, by a CHECK) fails there, not where it ran."""

    name = "deferred_log"

    def __init__(self):
        self.waited: list[bool] = []  # whether each write waited for the COMMIT

    def apply(self, cursor, event):
        self.waited.append(isinstance(writes(cursor), StatementBatch))
        writes(cursor).execute("INSERT INTO deferred_log (position) VALUES (%s)", (event.position,))


def test_a_write_refused_at_commit_parks_only_its_event(
    catalog_history, circulation_pool, pool_for
):
    with circulation_pool.transaction() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS deferred_log (position bigint CHECK (position <> 3))"
        )
        cursor.execute("TRUNCATE deferred_log")
    # AppliedLog reads nothing; a second projection in the same batch is handed the
    # same transaction, and must see nothing of the one that failed at COMMIT.
    deferred_log = DeferredLog()
    runner = ProjectionRunner(circulation_pool, [deferred_log, AppliedLog()], feed_from(pool_for))

    outcome = runner.handle_many(catalog_history)

    assert deferred_log.waited[0]  # the batch's writes waited (the careful way's need not)
    assert [(p.projection, p.event.position) for p in outcome.parked] == [("deferred_log", 3)]
    with circulation_pool.transaction() as cursor:
        cursor.execute("SELECT position FROM deferred_log ORDER BY position")
        deferred = [row[0] for row in cursor.fetchall()]
    positions = [event.position for event in catalog_history]
    assert deferred == [position for position in positions if position != 3]
    assert snapshot(circulation_pool)[1] == positions  # once each, in order


class DamageLog(AppliedLog):
    """Reads two types of the catalog's events only: its queue would carry those alone."""

    name = "damage_log"
    types = frozenset({"CopyDamaged", "Repaired"})

    def apply(self, cursor, event):
        assert event.type in self.types, f"fed a {event.type}"
        super().apply(cursor, event)


def types_from(pool_for, asked=None):
    def read(source, after, until, types):
        if asked is not None:
            asked.append((after, until))
        with pool_for(source).transaction() as cursor:
            return EventStore(source).read_types(cursor, after, until, sorted(types), 10_000)

    return read


def checkpoint_of(pool, projection):
    with pool.transaction() as cursor:
        cursor.execute(
            "SELECT position FROM projection_checkpoints WHERE projection = %s", (projection,)
        )
        row = cursor.fetchone()
    return row[0] if row else 0


@pytest.mark.parametrize("seed", range(3))
def test_a_projection_of_some_types_applies_each_once_in_order_whatever_the_delivery(
    seed, catalog_history, circulation_pool, pool_for
):
    """Its queue carries its types only, so positions have holes by design: shuffled,
    duplicated deliveries of those alone, and some lost, end as applying each once."""
    damage = DamageLog()
    runner = ProjectionRunner(
        circulation_pool, [damage], feed_from(pool_for), read_types=types_from(pool_for)
    )
    wanted = [e.position for e in catalog_history if e.type in damage.types]
    delivered = [e for e in catalog_history if e.type in damage.types] * 2
    random.Random(seed).shuffle(delivered)
    del delivered[: len(delivered) // 4]  # some lost on the way: the source's feed has them
    for event in delivered:
        runner.handle(event)
    applied = snapshot(circulation_pool)[1]
    assert applied == [p for p in wanted if p <= max(e.position for e in delivered)]

    head = catalog_history[-1].position
    runner.advance(damage, "catalog", head)  # as projection_lag does: up to the source's head
    assert snapshot(circulation_pool)[1] == wanted
    assert checkpoint_of(circulation_pool, "damage_log") == head


def test_a_projection_of_some_types_moves_past_the_others_without_reading_them(
    catalog_history, circulation_pool, pool_for
):
    asked = []
    runner = ProjectionRunner(
        circulation_pool, [DamageLog()], down_feed, read_types=types_from(pool_for, asked)
    )
    last = catalog_history[-1].position
    outcome = runner.advance(DamageLog(), "catalog", last)
    assert outcome.applied == sum(1 for e in catalog_history if e.type in DamageLog.types)
    assert asked == [(0, last)]  # one read of its types, never the whole feed (down_feed)
    asked.clear()
    runner.advance(DamageLog(), "catalog", last)  # nothing new: nothing asked
    assert asked == [] and checkpoint_of(circulation_pool, "damage_log") == last


def test_a_delivered_event_the_feed_of_its_types_lacks_is_an_outage(
    catalog_history, circulation_pool, pool_for
):
    damaged = next(e for e in catalog_history if e.type == "CopyDamaged")
    runner = ProjectionRunner(
        circulation_pool,
        [DamageLog()],
        down_feed,
        read_types=lambda source, after, until, types: [],
    )
    with pytest.raises(TransientError, match="lacks"):
        runner.handle(damaged)
    assert checkpoint_of(circulation_pool, "damage_log") == 0  # nothing moved


def down_feed(source, after, limit):
    raise AssertionError("a projection of some types never reads the whole feed")
