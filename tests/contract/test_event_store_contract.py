"""The event store's contract, proved on both stores: PostgreSQL and in memory.

Every test here runs twice, on ``EventStore`` over a scratch PostgreSQL database
(marked ``integration``) and on ``InMemoryEventStore`` (no server, milliseconds),
so the fast store that unit tests use cannot drift from the real one unnoticed.
Tests of what only PostgreSQL has (locks, the append-only trigger, concurrent
writers) stay in ``tests/integration/test_event_store.py``.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg2
import pytest

from shared.events import CATALOGUE
from shared.events.envelope import InvalidActor, NewEvent
from shared.eventsourcing.memory_store import InMemoryEventStore
from shared.eventsourcing.store import ANY_VERSION, NO_STREAM, ConcurrencyError, EventStore
from shared.eventsourcing.unit_of_work import COMMAND_LOCKS
from tests.factories import added_event, repaired_event

# How PostgreSQL's to_json writes a timestamptz: no trailing zeros in the fraction.
PG_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?[+-]\d\d:\d\d$")


class MemoryBackend:
    """The in-memory store and its all-or-nothing blocks."""

    name = "memory"

    def __init__(self) -> None:
        self.store = InMemoryEventStore("catalog")

    def transaction(self) -> AbstractContextManager[Any]:
        return self.store.transaction()

    def set_progress(self, exchange: str, position: int) -> None:
        self.store.relay_progress[exchange] = position


class PostgresBackend:
    """The PostgreSQL store over the scratch ``catalog`` database."""

    name = "postgres"

    def __init__(self, pool: Any) -> None:
        self.pool = pool
        self.store = EventStore("catalog")

    def transaction(self) -> AbstractContextManager[Any]:
        return self.pool.transaction()

    def set_progress(self, exchange: str, position: int) -> None:
        with self.pool.transaction() as cursor:
            cursor.execute(
                "INSERT INTO relay_progress (exchange, position) VALUES (%s, %s) "
                "ON CONFLICT (exchange) DO UPDATE SET position = EXCLUDED.position",
                (exchange, position),
            )


@pytest.fixture(params=["memory", pytest.param("postgres", marks=pytest.mark.integration)])
def backend(request):
    if request.param == "memory":
        return MemoryBackend()
    return PostgresBackend(request.getfixturevalue("pool_for")("catalog"))


@contextmanager
def rolled_back(backend) -> Iterator[Any]:
    """A transaction that is made to fail after its block, so it rolls back."""

    class Abandon(Exception):
        pass

    with pytest.raises(Abandon):
        with backend.transaction() as cursor:
            yield cursor
            raise Abandon


def repairs(stream_id: str, count: int, **stamp: Any) -> list[NewEvent]:
    return [
        NewEvent("Repaired", stream_id, {"barcode": "T00000001", "note": f"#{n}"}, **stamp)
        for n in range(count)
    ]


# ------------------------------------------------------------ append, load, versions


def test_append_then_load_and_read(backend):
    store = backend.store
    first, second = added_event("C00000001"), repaired_event("copy-C00000001", "C00000001")
    with backend.transaction() as cursor:
        stored = store.append(cursor, "copy-C00000001", NO_STREAM, [first])
        stored += store.append(cursor, "copy-C00000001", 1, [second])
    assert [(e.position, e.stream_version, e.type) for e in stored] == [
        (1, 1, "BookAdded"),
        (2, 2, "Repaired"),
    ]
    assert stored[0].source == "catalog" and stored[0].data["title"] == "红楼梦"
    with backend.transaction() as cursor:
        assert store.load(cursor, "copy-C00000001") == stored
        assert store.read(cursor, 1, 10) == stored[1:]
        assert store.head(cursor) == 2
        assert store.stream_version(cursor, "copy-C00000001") == 2


def test_a_batch_takes_consecutive_versions_and_positions_in_its_order(backend):
    with backend.transaction() as cursor:
        backend.store.append(cursor, "copy-A", NO_STREAM, repairs("copy-A", 2))
        stored = backend.store.append(cursor, "copy-B", NO_STREAM, repairs("copy-B", 3))
        more = backend.store.append(cursor, "copy-A", 2, repairs("copy-A", 2))
    assert [(e.position, e.stream_version, e.data["note"]) for e in stored] == [
        (3, 1, "#0"),
        (4, 2, "#1"),
        (5, 3, "#2"),
    ]
    assert [(e.position, e.stream_version) for e in more] == [(6, 3), (7, 4)]
    assert not stored.replayed and not more.replayed


def test_load_after_a_version_gives_only_the_later_events(backend):
    with backend.transaction() as cursor:
        backend.store.append(cursor, "copy-A", NO_STREAM, repairs("copy-A", 4))
        later = backend.store.load(cursor, "copy-A", after_version=2)
        assert backend.store.load(cursor, "copy-none") == []
    assert [e.stream_version for e in later] == [3, 4]


def test_envelopes_carry_the_events_stamps_as_postgresql_writes_them(backend):
    event_id = uuid.uuid4()
    event = NewEvent(
        "Repaired",
        "copy-A",
        {"barcode": "T00000001", "note": "spine"},
        event_id=str(event_id).upper(),  # uuid::text is lower case
        campus="south",
        occurred_at="2026-01-02T05:04:05.120000+02:00",
        correlation_id="corr-1",
        causation_id="cause-1",
    )
    before = datetime.now(UTC) - timedelta(seconds=5)
    with backend.transaction() as cursor:
        (stored,) = backend.store.append(cursor, "copy-A", NO_STREAM, [event])
        (loaded,) = backend.store.load(cursor, "copy-A")
    assert loaded == stored
    assert stored.event_id == str(event_id)
    assert (stored.campus, stored.correlation_id, stored.causation_id) == (
        "south",
        "corr-1",
        "cause-1",
    )
    assert stored.schema_version == CATALOGUE.latest_version("Repaired")
    assert stored.data == {"barcode": "T00000001", "note": "spine"}
    assert PG_TIME.match(stored.occurred_at) and PG_TIME.match(stored.recorded_at)
    assert datetime.fromisoformat(stored.occurred_at) == datetime(2026, 1, 2, 3, 4, 5, 120000, UTC)
    assert before < datetime.fromisoformat(stored.recorded_at) < before + timedelta(minutes=1)


LIBRARIAN = {"id": "a-17", "username": "王老师", "role": "librarian"}
KIOSK = {"id": "k-3", "username": "key:kiosk-north", "role": "operator"}


def test_the_actor_round_trips_through_every_read_and_is_none_when_not_given(backend):
    store = backend.store
    with backend.transaction() as cursor:
        (by_librarian,) = store.append(
            cursor, "copy-A", NO_STREAM, repairs("copy-A", 1, actor=LIBRARIAN, causation_id="c1")
        )
        (by_nobody,) = store.append(cursor, "copy-A", 1, repairs("copy-A", 1))
        [[by_kiosk]] = store.append_streams(
            cursor, [("copy-B", NO_STREAM, repairs("copy-B", 1, actor=KIOSK))]
        )
    assert (by_librarian.actor, by_nobody.actor, by_kiosk.actor) == (LIBRARIAN, None, KIOSK)
    assert by_nobody.to_dict()["actor"] is None
    with backend.transaction() as cursor:
        assert [e.actor for e in store.load(cursor, "copy-A")] == [LIBRARIAN, None]
        assert [e.actor for e in store.read(cursor, 0, 10)] == [LIBRARIAN, None, KIOSK]
        assert store.load_streams(cursor, ["copy-B"])["copy-B"] == [by_kiosk]
        assert store.caused_by(cursor, "c1") == [by_librarian]
        store.load(cursor, "copy-A")[0].actor["role"] = "student"  # a fresh dict every read
        assert store.load(cursor, "copy-A")[0].actor == LIBRARIAN


def test_a_retried_append_answers_the_actor_it_stored(backend):
    event = repaired_event("copy-1")
    with backend.transaction() as cursor:
        backend.store.append(cursor, "copy-1", NO_STREAM, [replace(event, actor=LIBRARIAN)])
        again = backend.store.append(cursor, "copy-1", NO_STREAM, [replace(event, actor=KIOSK)])
    assert again.replayed and [e.actor for e in again] == [LIBRARIAN]


@pytest.mark.parametrize(
    "actor", [{"id": "a-17", "username": "wang.li"}, {**LIBRARIAN, "extra": "x"}, "wang.li"]
)
def test_an_event_with_a_malformed_actor_never_reaches_the_store(backend, actor):
    good = repairs("copy-1", 1, actor=LIBRARIAN)
    bad = repairs("copy-1", 1, actor=actor)
    with pytest.raises(InvalidActor):
        with backend.transaction() as cursor:
            backend.store.append(cursor, "copy-1", NO_STREAM, good + bad)
    with pytest.raises(InvalidActor):
        with backend.transaction() as cursor:
            backend.store.append_streams(
                cursor, [("copy-2", NO_STREAM, repairs("copy-2", 1, actor=actor))]
            )
    with backend.transaction() as cursor:
        assert backend.store.head(cursor) == 0


def test_every_read_gives_a_fresh_copy_of_the_data(backend):
    with backend.transaction() as cursor:
        backend.store.append(cursor, "copy-A", NO_STREAM, repairs("copy-A", 1))
        backend.store.load(cursor, "copy-A")[0].data["note"] = "scribbled on"
        assert backend.store.load(cursor, "copy-A")[0].data["note"] == "#0"


# ------------------------------------------------------------ optimistic concurrency


def test_a_stale_expected_version_is_a_concurrency_error(backend):
    with backend.transaction() as cursor:
        backend.store.append(cursor, "copy-1", NO_STREAM, [repaired_event("copy-1")])
    with pytest.raises(ConcurrencyError, match="at version 1, expected 0") as raised:
        with backend.transaction() as cursor:
            backend.store.append(cursor, "copy-1", NO_STREAM, [repaired_event("copy-1")])
    assert (raised.value.stream_id, raised.value.expected, raised.value.actual) == ("copy-1", 0, 1)
    with backend.transaction() as cursor:
        assert backend.store.head(cursor) == 1


def test_an_expected_version_ahead_of_the_stream_is_a_concurrency_error(backend):
    with pytest.raises(ConcurrencyError):
        with backend.transaction() as cursor:
            backend.store.append(cursor, "copy-1", 3, [repaired_event("copy-1")])


def test_any_version_appends_whatever_version_the_stream_is_at(backend):
    with backend.transaction() as cursor:
        backend.store.append(cursor, "copy-1", ANY_VERSION, repairs("copy-1", 2))
        stored = backend.store.append(cursor, "copy-1", ANY_VERSION, repairs("copy-1", 1))
    assert [(e.position, e.stream_version) for e in stored] == [(3, 3)]


def test_an_event_of_another_stream_is_refused(backend):
    with pytest.raises(ValueError, match="belongs to copy-2"):
        with backend.transaction() as cursor:
            backend.store.append(cursor, "copy-1", NO_STREAM, [repaired_event("copy-2")])


def test_invalid_events_never_reach_the_store(backend):
    good, bad = repaired_event("copy-1"), repaired_event("copy-1", "bad barcode")
    with pytest.raises(ValueError, match="barcode"):
        with backend.transaction() as cursor:
            backend.store.append(cursor, "copy-1", NO_STREAM, [good, bad])
    with backend.transaction() as cursor:
        assert backend.store.head(cursor) == 0


# ------------------------------------------------------------ idempotency by event id


def test_reappending_a_stored_event_id_is_a_no_op(backend):
    event = repaired_event("copy-1")
    with backend.transaction() as cursor:
        first = backend.store.append(cursor, "copy-1", NO_STREAM, [event])
    with backend.transaction() as cursor:
        again = backend.store.append(cursor, "copy-1", NO_STREAM, [event])  # a retried command
        assert again == first
        assert again.replayed and not first.replayed
        assert backend.store.head(cursor) == 1


def test_a_whole_stored_batch_is_answered_again_whatever_the_streams_version_now(backend):
    batch = repairs("copy-1", 2)
    with backend.transaction() as cursor:
        first = backend.store.append(cursor, "copy-1", NO_STREAM, batch)
        backend.store.append(cursor, "copy-1", 2, repairs("copy-1", 1))
        again = backend.store.append(cursor, "copy-1", NO_STREAM, list(reversed(batch)))
        assert backend.store.head(cursor) == 3
    assert again == first and again.replayed  # in position order, as stored


def test_a_partly_stored_batch_stores_only_its_new_events(backend):
    old, new = repairs("copy-1", 2)
    with backend.transaction() as cursor:
        backend.store.append(cursor, "copy-1", NO_STREAM, [old])
        stored = backend.store.append(cursor, "copy-1", 1, [old, new])
        history = backend.store.load(cursor, "copy-1")
    assert [(e.event_id, e.position, e.stream_version) for e in stored] == [(new.event_id, 2, 2)]
    assert not stored.replayed
    assert [e.event_id for e in history] == [old.event_id, new.event_id]


def test_a_partly_stored_batch_still_checks_the_streams_version(backend):
    old, new = repairs("copy-1", 2)
    with backend.transaction() as cursor:
        backend.store.append(cursor, "copy-1", NO_STREAM, [old])
    with pytest.raises(ConcurrencyError):
        with backend.transaction() as cursor:
            backend.store.append(cursor, "copy-1", NO_STREAM, [old, new])


# ------------------------------------------------------------ many streams at once


def test_append_streams_appends_each_stream_at_its_version_in_one_go(backend):
    with backend.transaction() as cursor:
        backend.store.append(cursor, "copy-A", NO_STREAM, repairs("copy-A", 1))
        results = backend.store.append_streams(
            cursor,
            [
                ("copy-B", NO_STREAM, repairs("copy-B", 2)),
                ("copy-C", NO_STREAM, []),  # nothing to write: left out of the answer
                ("copy-A", 1, repairs("copy-A", 1)),
            ],
        )
        assert backend.store.append_streams(cursor, []) == []
    assert [[(e.stream_id, e.position, e.stream_version) for e in r] for r in results] == [
        [("copy-B", 2, 1), ("copy-B", 3, 2)],
        [("copy-A", 4, 2)],
    ]


def test_append_streams_refuses_every_stream_when_one_moved(backend):
    with backend.transaction() as cursor:
        backend.store.append(cursor, "copy-A", NO_STREAM, repairs("copy-A", 1))
    with pytest.raises(ConcurrencyError):
        with backend.transaction() as cursor:
            backend.store.append_streams(
                cursor,
                [("copy-B", NO_STREAM, repairs("copy-B", 1)), ("copy-A", 0, repairs("copy-A", 1))],
            )
    with backend.transaction() as cursor:
        assert backend.store.head(cursor) == 1


def test_append_streams_of_stored_events_is_a_no_op_per_stream(backend):
    writes = [
        ("copy-A", NO_STREAM, repairs("copy-A", 1)),
        ("copy-B", NO_STREAM, repairs("copy-B", 2)),
    ]
    with backend.transaction() as cursor:
        first = backend.store.append_streams(cursor, writes)
        again = backend.store.append_streams(cursor, writes)
        assert backend.store.head(cursor) == 3
    assert again == first
    assert [r.replayed for r in again] == [True, True]


def test_append_streams_takes_each_stream_once(backend):
    with pytest.raises(ValueError, match="each stream once"):
        with backend.transaction() as cursor:
            backend.store.append_streams(
                cursor,
                [("copy-A", NO_STREAM, repairs("copy-A", 1)), ("copy-A", 1, repairs("copy-A", 1))],
            )


def test_load_streams_gives_every_stream_asked_for_even_an_empty_one(backend):
    with backend.transaction() as cursor:
        backend.store.append(cursor, "copy-A", NO_STREAM, repairs("copy-A", 2))
        backend.store.append(cursor, "copy-B", NO_STREAM, repairs("copy-B", 1))
        backend.store.append(cursor, "copy-A", 2, repairs("copy-A", 1))
        histories = backend.store.load_streams(cursor, ["copy-A", "copy-none", "copy-B"])
    assert {stream: [e.stream_version for e in h] for stream, h in histories.items()} == {
        "copy-A": [1, 2, 3],
        "copy-none": [],
        "copy-B": [1],
    }


# ------------------------------------------------------------ causation, the feed


def test_caused_by_gives_what_one_command_recorded_in_position_order(backend):
    with backend.transaction() as cursor:
        backend.store.append(cursor, "copy-A", NO_STREAM, repairs("copy-A", 1, causation_id="c1"))
        backend.store.append(cursor, "copy-B", NO_STREAM, repairs("copy-B", 1, causation_id="c2"))
        backend.store.append(cursor, "copy-C", NO_STREAM, repairs("copy-C", 2, causation_id="c1"))
        caused = backend.store.caused_by(cursor, "c1")
        locked = backend.store.caused_by(cursor, "c1", lock=(COMMAND_LOCKS, "c1"))
        assert backend.store.caused_by(cursor, "nobody") == []
    assert [(e.stream_id, e.position) for e in caused] == [
        ("copy-A", 1),
        ("copy-C", 3),
        ("copy-C", 4),
    ]
    assert locked == caused


def test_read_pages_through_gapless_positions_from_one(backend):
    with backend.transaction() as cursor:
        for stream in range(5):
            backend.store.append(cursor, f"copy-{stream}", NO_STREAM, repairs(f"copy-{stream}", 5))
    with backend.transaction() as cursor:
        pages = [backend.store.read(cursor, after, 10) for after in (0, 10, 20)]
        assert backend.store.read(cursor, 25) == []
        assert backend.store.head(cursor) == 25
    assert [len(page) for page in pages] == [10, 10, 5]
    assert [e.position for page in pages for e in page] == list(range(1, 26))


def test_the_head_of_an_empty_log_is_zero(backend):
    with backend.transaction() as cursor:
        assert backend.store.head(cursor) == 0
        assert backend.store.read(cursor, 0) == []
        assert backend.store.stream_version(cursor, "copy-none") == 0


def test_a_rolled_back_append_leaves_no_hole_in_the_positions(backend):
    with rolled_back(backend) as cursor:
        backend.store.append(cursor, "copy-A", NO_STREAM, repairs("copy-A", 3))
    with backend.transaction() as cursor:
        assert backend.store.head(cursor) == 0
        stored = backend.store.append(cursor, "copy-A", NO_STREAM, repairs("copy-A", 1))
    assert [(e.position, e.stream_version) for e in stored] == [(1, 1)]


def test_read_after_progress_starts_after_the_relays_recorded_position(backend):
    with backend.transaction() as cursor:
        backend.store.append(cursor, "copy-A", NO_STREAM, repairs("copy-A", 6))
        never = backend.store.read_after_progress(cursor, "catalog.events", 4)
    backend.set_progress("catalog.events", 3)
    with backend.transaction() as cursor:
        after = backend.store.read_after_progress(cursor, "catalog.events", 2)
    assert [e.position for e in never] == [1, 2, 3, 4]
    assert [e.position for e in after] == [4, 5]


# ------------------------------------------------------------ commands and sequences


def test_a_command_never_run_has_no_run(backend):
    with backend.transaction() as cursor:
        assert backend.store.command_run(cursor, str(uuid.uuid4()), COMMAND_LOCKS) is None


def test_a_remembered_command_comes_back_with_its_receipt_parsed_from_json(backend):
    command_id = str(uuid.uuid4())
    receipt = {"loan_id": "L1", "due_on": "2026-12-10", "fee": "1.50", "n": 2, "ok": True,
               "nested": {"list": [1, 2.5, None], "title": "红楼梦"}}  # fmt: skip
    with backend.transaction() as cursor:
        backend.store.remember(cursor, command_id, "lend", "f1ng3r", json.dumps(receipt))
    with backend.transaction() as cursor:
        run = backend.store.command_run(cursor, command_id, COMMAND_LOCKS)
    assert (run.name, run.fingerprint, run.receipt) == ("lend", "f1ng3r", receipt)


def test_a_receipt_of_json_null_comes_back_as_none(backend):
    command_id = str(uuid.uuid4())
    with backend.transaction() as cursor:
        backend.store.remember(cursor, command_id, "weed", "f", "null")
        assert backend.store.command_run(cursor, command_id, COMMAND_LOCKS).receipt is None


def test_a_command_id_is_remembered_only_once(backend):
    command_id = str(uuid.uuid4())
    with backend.transaction() as cursor:
        backend.store.remember(cursor, command_id, "lend", "f", "{}")
    with pytest.raises(psycopg2.IntegrityError):
        with backend.transaction() as cursor:
            backend.store.remember(cursor, command_id, "lend", "f", "{}")


def test_a_remembered_command_is_forgotten_when_its_transaction_rolls_back(backend):
    command_id = str(uuid.uuid4())
    with rolled_back(backend) as cursor:
        backend.store.remember(cursor, command_id, "lend", "f", "{}")
    with backend.transaction() as cursor:
        assert backend.store.command_run(cursor, command_id, COMMAND_LOCKS) is None


def test_next_numbers_keep_increasing_even_past_a_rollback(backend):
    with backend.transaction() as cursor:
        first = backend.store.next_numbers(cursor, "barcode_seq", 3)
    with rolled_back(backend) as cursor:
        lost = backend.store.next_numbers(cursor, "barcode_seq", 1)
    with backend.transaction() as cursor:
        second = backend.store.next_numbers(cursor, "barcode_seq", 2)
        assert backend.store.next_numbers(cursor, "barcode_seq", 0) == []
    assert first + lost + second == list(range(first[0], first[0] + 6))
