"""The event store: an append-only log per service in PostgreSQL.

Appends are serialised by a transaction-scoped advisory lock, so positions are
handed out gapless and become visible in position order: the lock is released
only after the commit is visible, so a reader tailing ``read(after)`` can never
see position N+1 while N is still in flight. The lock is taken as the last step
before the insert, so it is held only for the insert and the commit.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from logging import getLogger
from typing import Any

import psycopg2.errors
import psycopg2.extensions
import psycopg2.extras

from shared.events.envelope import Envelope, NewEvent

_log = getLogger(__name__)

Cursor = psycopg2.extensions.cursor

# (namespace, key) pairs for pg_advisory locks; namespace 7400 is "library".
LOCK_NAMESPACE = 7400
APPEND_LOCK = 1
RELAY_LOCK = 2
NOTIFY_CHANNEL = "events_appended"

ANY_VERSION = None
NO_STREAM = 0

# Ids and times are turned into text by PostgreSQL (ISO 8601 via to_json), which is
# cheaper than building uuid and datetime objects only to format them again.
COLUMNS = (
    "event_id::text, type, schema_version, position, stream_id, stream_version, "
    "to_json(occurred_at) #>> '{}', to_json(recorded_at) #>> '{}', campus, correlation_id, "
    "causation_id, data, actor"
)
SELECT_EXISTING = f"SELECT {COLUMNS} FROM events WHERE event_id = ANY(%s::uuid[]) ORDER BY position"
SELECT_STREAM_VERSION = "SELECT max(stream_version) FROM events WHERE stream_id = %s"
SELECT_HEAD = "SELECT coalesce(max(position), 0) FROM events"
SELECT_STREAM = f"SELECT {COLUMNS} FROM events WHERE stream_id = %s ORDER BY stream_version"
SELECT_STREAM_AFTER = (
    f"SELECT {COLUMNS} FROM events WHERE stream_id = %s AND stream_version > %s "
    "ORDER BY stream_version"
)
SELECT_STREAMS_AFTER = (
    f"SELECT {COLUMNS} FROM events "
    "JOIN unnest(%s::text[], %s::bigint[]) AS wanted (wanted_id, after_version) "
    "ON stream_id = wanted_id AND stream_version > after_version "
    "ORDER BY stream_id, stream_version"
)
SELECT_CAUSED_BY = f"SELECT {COLUMNS} FROM events WHERE causation_id = %s ORDER BY position"
LOCK_THEN_CAUSED_BY = "SELECT pg_advisory_xact_lock(%s, hashtext(%s));" + SELECT_CAUSED_BY
SELECT_AFTER = f"SELECT {COLUMNS} FROM events WHERE position > %s ORDER BY position LIMIT %s"
SELECT_TYPES_BETWEEN = (
    f"SELECT {COLUMNS} FROM events WHERE position > %s AND position <= %s "
    "AND type = ANY(%s) ORDER BY position LIMIT %s"
)
# A command's lock, then (a statement later: it sees what the lock's last holder
# committed) what that command id did before, if anything.
LOCK_THEN_COMMAND = (
    "SELECT pg_advisory_xact_lock(%s, hashtext(%s));"
    "SELECT name, fingerprint, receipt FROM commands WHERE command_id = %s"
)
NEXT_NUMBERS = "SELECT nextval(%s) FROM generate_series(1, %s)"
REMEMBER_COMMAND = (
    "INSERT INTO commands (command_id, name, fingerprint, receipt) VALUES (%s, %s, %s, %s)"
)
# The append lock, then (a statement later, so it sees every append committed before
# the lock was granted) how many of the events are stored already, the stream's
# version and the log's head: two statements in one round trip.
LOCK_AND_PROBE = """
    SELECT pg_advisory_xact_lock(%s, %s);
    SELECT (SELECT count(*) FROM events WHERE event_id = ANY(%s::uuid[])),
           (SELECT coalesce(max(stream_version), 0) FROM events WHERE stream_id = %s),
           (SELECT coalesce(max(position), 0) FROM events)
"""
SELECT_AFTER_PROGRESS = f"""
    SELECT {COLUMNS} FROM events
    WHERE position > coalesce((SELECT position FROM relay_progress WHERE exchange = %s), 0)
    ORDER BY position LIMIT %s
"""
_INSERT_EVENTS = f"""
    INSERT INTO events (position, event_id, stream_id, stream_version, type, schema_version,
                        campus, correlation_id, causation_id, occurred_at, data, actor)
    VALUES %s
    RETURNING {COLUMNS}
"""
# Listeners (the relay) hear of the append when it commits; sent with the insert (a
# bulk append sends it with each page: PostgreSQL delivers one per transaction).
NOTIFY_AND_INSERT = f"NOTIFY {NOTIFY_CHANNEL};" + _INSERT_EVENTS
# The usual append in one round trip: the append lock, then (a statement later, so it
# sees every append committed before the lock was granted) the events inserted at the
# log's head and the stream's version, unless the stream moved or one of them is stored
# already; then nothing is inserted and ``LOCK_AND_PROBE`` finds out which. The lock is
# held from here to the commit: no round trip between the lock and the insert.
LOCK_AND_INSERT = f"""
    SELECT pg_advisory_xact_lock(%(namespace)s, %(lock)s);
    NOTIFY {NOTIFY_CHANNEL};
    INSERT INTO events (position, event_id, stream_id, stream_version, type, schema_version,
                        campus, correlation_id, causation_id, occurred_at, data, actor)
    SELECT head.position + e.n, e.event_id, %(stream)s, stream.version + e.n, e.type,
           e.schema_version, e.campus, e.correlation_id, e.causation_id, e.occurred_at,
           e.data, e.actor
    FROM (VALUES %(values)s) AS e (n, event_id, type, schema_version, campus, correlation_id,
                                   causation_id, occurred_at, data, actor),
         (SELECT coalesce(max(position), 0) AS position FROM events) AS head,
         (SELECT coalesce(max(stream_version), 0) AS version FROM events
          WHERE stream_id = %(stream)s) AS stream
    WHERE (%(expected)s::integer IS NULL OR stream.version = %(expected)s::integer)
      AND NOT EXISTS (SELECT 1 FROM events WHERE event_id = ANY(%(ids)s::uuid[]))
    RETURNING {{columns}}
""".replace("{columns}", COLUMNS)
NEW_EVENT_VALUES = (
    "(%s::integer, %s::uuid, %s::text, %s::integer, %s::text, %s::text, %s::text, "
    "%s::timestamptz, %s::jsonb, %s::jsonb)"
)


class Appended(list):
    """The envelopes of an append, in position order.

    ``replayed`` is true when every event had been stored by an earlier call
    (a retried command): nothing new was recorded, and nothing should be
    projected or reacted to again.
    """

    replayed: bool = False


class ConcurrencyError(Exception):
    """Raised when a stream moved since the caller read it (``expected_version`` is stale)."""

    def __init__(self, stream_id: str, expected: int | None, actual: int) -> None:
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"stream {stream_id!r} is at version {actual}, expected {expected}: "
            "it changed meanwhile, reload and try again"
        )


@dataclass(frozen=True)
class CommandRun:
    """What a command id did before: which command, a fingerprint of its parameters, its answer."""

    name: str
    fingerprint: str
    receipt: Any


@contextmanager
def moved_unless_locked(stream_id: str, expected_version: int | None) -> Iterator[None]:
    """An insert's unique violation as the ``ConcurrencyError`` it means: only an append
    that bypassed the lock can meet another's positions or stream versions."""
    try:
        yield
    except psycopg2.errors.UniqueViolation as error:
        raise ConcurrencyError(stream_id, expected_version, -1) from error


def check_batch(stream_id: str, events: Sequence[NewEvent]) -> None:
    """Refuse a batch before anything is stored: every event on ``stream_id``, each valid
    against the catalogue (``InvalidEvent``); both stores append only what passes."""
    for event in events:
        if event.stream_id != stream_id:
            raise ValueError(f"event {event.type} belongs to {event.stream_id}, not {stream_id}")
        event.validated()


class EventStore:
    """The log of one service (``source``); every method works in the caller's transaction."""

    def __init__(self, source: str) -> None:
        self.source = source

    def append(
        self,
        cursor: Cursor,
        stream_id: str,
        expected_version: int | None,
        events: Sequence[NewEvent],
    ) -> Appended:
        """Append ``events`` to ``stream_id`` if it is still at ``expected_version``.

        Events whose ``event_id`` is already stored are not stored again: when the
        whole batch is stored, the stored envelopes are returned (a retried
        command is a no-op). Raises ``ConcurrencyError`` when the stream moved.
        The caller commits; the advisory lock is held until then.
        """
        if not events:
            return Appended()
        check_batch(stream_id, events)
        ids = [event.event_id for event in events]
        inserted = self._lock_and_insert(cursor, stream_id, expected_version, events, ids)
        if inserted is not None:
            return inserted
        # Nothing was inserted: a retried command, or the stream moved. The lock is held.
        cursor.execute(LOCK_AND_PROBE, (LOCK_NAMESPACE, APPEND_LOCK, ids, stream_id))
        already, version, position = cursor.fetchone()
        fresh = list(events)
        if already:  # a retried command: what was stored then is not stored again
            cursor.execute(SELECT_EXISTING, (ids,))
            existing = [self._envelope(row) for row in cursor.fetchall()]
            if len(existing) == len(events):
                replay = Appended(existing)
                replay.replayed = True
                return replay
            stored = {envelope.event_id for envelope in existing}
            fresh = [event for event in events if event.event_id not in stored]
        if expected_version is not ANY_VERSION and version != expected_version:
            raise ConcurrencyError(stream_id, expected_version, version)
        rows = [
            self._row(position + offset, version + offset, event)
            for offset, event in enumerate(fresh, start=1)
        ]
        with moved_unless_locked(stream_id, expected_version):
            stored_rows = psycopg2.extras.execute_values(
                cursor, NOTIFY_AND_INSERT, rows, page_size=len(rows), fetch=True
            )
        return self._stored(stored_rows)

    def _lock_and_insert(
        self,
        cursor: Cursor,
        stream_id: str,
        expected_version: int | None,
        events: Sequence[NewEvent],
        ids: list[str],
    ) -> Appended | None:
        """The usual append (``LOCK_AND_INSERT``): the stored envelopes, or None when
        nothing was inserted (see ``append``)."""
        values = b",".join(
            cursor.mogrify(NEW_EVENT_VALUES, (n, event.event_id, *self._fields(event)))
            for n, event in enumerate(events, start=1)
        )
        parameters = {
            "namespace": LOCK_NAMESPACE,
            "lock": APPEND_LOCK,
            "stream": stream_id,
            "expected": expected_version,
            "ids": ids,
            "values": psycopg2.extensions.AsIs(values.decode()),
        }
        with moved_unless_locked(stream_id, expected_version):
            cursor.execute(LOCK_AND_INSERT, parameters)
        rows = cursor.fetchall()
        return self._stored(rows) if rows else None

    def append_streams(
        self,
        cursor: Cursor,
        writes: Sequence[tuple[str, int | None, Sequence[NewEvent]]],
    ) -> list[Appended]:
        """Append to many streams at once: one lock, one version check, one insert.

        For bulk commands (a roster of cards, a class corner's pile of books, a
        school's catalogue): the same guarantees as ``append`` for each stream,
        in a handful of statements instead of a handful per stream. Falls back
        to ``append`` stream by stream when some events were stored before.
        """
        writes = [(stream, expected, events) for stream, expected, events in writes if events]
        if not writes:
            return []
        for stream_id, _, events in writes:
            check_batch(stream_id, events)
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_NAMESPACE, APPEND_LOCK))
        ids = [event.event_id for _, _, events in writes for event in events]
        cursor.execute("SELECT count(*) FROM events WHERE event_id = ANY(%s::uuid[])", (ids,))
        if cursor.fetchone()[0]:
            return [self.append(cursor, *write) for write in writes]
        streams = [stream for stream, _, _ in writes]
        if len(set(streams)) != len(streams):
            raise ValueError("append_streams takes each stream once")
        cursor.execute(
            "SELECT stream_id, max(stream_version) FROM events WHERE stream_id = ANY(%s) "
            "GROUP BY stream_id",
            (streams,),
        )
        versions = dict(cursor.fetchall())
        for stream_id, expected, _ in writes:
            actual = versions.get(stream_id, 0)
            if expected is not ANY_VERSION and actual != expected:
                raise ConcurrencyError(stream_id, expected, actual)
        cursor.execute(SELECT_HEAD)
        position = cursor.fetchone()[0]
        rows = []
        for stream_id, _, events in writes:
            version = versions.get(stream_id, 0)
            for event in events:
                position += 1
                version += 1
                rows.append(self._row(position, version, event))
        stored_rows = psycopg2.extras.execute_values(
            cursor, NOTIFY_AND_INSERT, rows, page_size=1000, fetch=True
        )
        by_stream: dict[str, Appended] = {stream: Appended() for stream in streams}
        for envelope in self._stored(stored_rows):
            by_stream[envelope.stream_id].append(envelope)
        return [by_stream[stream] for stream in streams]

    def load_streams(self, cursor: Cursor, stream_ids: Sequence[str]) -> dict[str, list[Envelope]]:
        """Several streams' histories in one query (streams with no events map to [])."""
        cursor.execute(
            f"SELECT {COLUMNS} FROM events WHERE stream_id = ANY(%s) "
            "ORDER BY stream_id, stream_version",
            (list(stream_ids),),
        )
        histories: dict[str, list[Envelope]] = {stream: [] for stream in stream_ids}
        for row in cursor.fetchall():
            histories[row[4]].append(self._envelope(row))
        return histories

    def load_streams_after(
        self, cursor: Cursor, after: Mapping[str, int]
    ) -> dict[str, list[Envelope]]:
        """Several streams' events after a version each (stream id -> version), in one query."""
        cursor.execute(SELECT_STREAMS_AFTER, (list(after), list(after.values())))
        histories: dict[str, list[Envelope]] = {stream: [] for stream in after}
        for row in cursor.fetchall():
            histories[row[4]].append(self._envelope(row))
        return histories

    def load(self, cursor: Cursor, stream_id: str, after_version: int = 0) -> list[Envelope]:
        """The events of one stream (after ``after_version``), oldest first."""
        if after_version:
            cursor.execute(SELECT_STREAM_AFTER, (stream_id, after_version))
        else:
            cursor.execute(SELECT_STREAM, (stream_id,))
        return [self._envelope(row) for row in cursor.fetchall()]

    def caused_by(
        self, cursor: Cursor, causation_id: str, lock: tuple[int, str] | None = None
    ) -> list[Envelope]:
        """Every event recorded because of one command or event, in position order.

        With ``lock`` (namespace, name), first waits for that transaction-scoped
        advisory lock, in the same round trip (the read is a statement later, so
        it sees what the lock's previous holder committed).
        """
        if lock is None:
            cursor.execute(SELECT_CAUSED_BY, (causation_id,))
        else:
            cursor.execute(LOCK_THEN_CAUSED_BY, (*lock, causation_id))
        return [self._envelope(row) for row in cursor.fetchall()]

    def command_run(self, cursor: Cursor, command_id: str, lock: int) -> CommandRun | None:
        """What ``command_id`` did when it ran before, waiting first for the command's lock.

        Two runs of one command can overlap (a caller whose answer was late asks
        again): the second waits on the lock (namespace ``lock``) until the first
        has committed or rolled back, and so sees what it recorded.
        """
        cursor.execute(LOCK_THEN_COMMAND, (lock, command_id, command_id))
        row = cursor.fetchone()
        return CommandRun(*row) if row else None

    def remember(
        self, cursor: Cursor, command_id: str, name: str, fingerprint: str, receipt_json: str
    ) -> None:
        """Record what a command did, in the transaction that did it (``receipt_json``: JSON)."""
        cursor.execute(REMEMBER_COMMAND, (command_id, name, fingerprint, receipt_json))

    def next_numbers(self, cursor: Cursor, sequence: str, count: int) -> list[int]:
        """``count`` numbers from one of the service's sequences (card numbers, barcodes)."""
        cursor.execute(NEXT_NUMBERS, (sequence, count))
        return [number for (number,) in cursor.fetchall()]

    def stream_version(self, cursor: Cursor, stream_id: str) -> int:
        cursor.execute(SELECT_STREAM_VERSION, (stream_id,))
        return cursor.fetchone()[0] or 0

    def read(self, cursor: Cursor, after_position: int, limit: int = 1000) -> list[Envelope]:
        """The feed: up to ``limit`` events after ``after_position``, in position order."""
        cursor.execute(SELECT_AFTER, (after_position, limit))
        return [self._envelope(row) for row in cursor.fetchall()]

    def read_types(
        self, cursor: Cursor, after: int, until: int, types: Sequence[str], limit: int = 1000
    ) -> list[Envelope]:
        """The feed of some types only: up to ``limit`` events of ``types`` with positions in
        (``after``, ``until``], in position order (for a follower of those types only)."""
        cursor.execute(SELECT_TYPES_BETWEEN, (after, until, list(types), limit))
        return [self._envelope(row) for row in cursor.fetchall()]

    def read_after_progress(self, cursor: Cursor, exchange: str, limit: int) -> list[Envelope]:
        """The feed after the relay's recorded progress to ``exchange``, in one query."""
        cursor.execute(SELECT_AFTER_PROGRESS, (exchange, limit))
        return [self._envelope(row) for row in cursor.fetchall()]

    def head(self, cursor: Cursor) -> int:
        """The newest committed position (0 when the log is empty)."""
        cursor.execute(SELECT_HEAD)
        return cursor.fetchone()[0]

    def _stored(self, rows: Sequence[tuple[Any, ...]]) -> Appended:
        """The envelopes of inserted rows in position order (``RETURNING`` keeps none)."""
        return Appended(self._envelope(row) for row in sorted(rows, key=lambda row: row[3]))

    def _row(self, position: int, version: int, event: NewEvent) -> tuple[Any, ...]:
        return (position, event.event_id, event.stream_id, version, *self._fields(event))

    def _fields(self, event: NewEvent) -> tuple[Any, ...]:
        """An event's columns from ``type`` on (those its position and version leave)."""
        return (
            event.type,
            _latest_version(event.type),
            event.campus,
            event.correlation_id,
            event.causation_id,
            event.occurred_at,
            psycopg2.extras.Json(event.data),
            None if event.actor is None else psycopg2.extras.Json(event.actor),
        )

    def _envelope(self, row: tuple[Any, ...]) -> Envelope:
        (
            event_id,
            type_,
            schema_version,
            position,
            stream_id,
            stream_version,
            occurred_at,
            recorded_at,
            campus,
            correlation_id,
            causation_id,
            data,
            actor,
        ) = row
        return Envelope(
            event_id=str(event_id),
            type=type_,
            schema_version=schema_version,
            source=self.source,
            position=position,
            stream_id=stream_id,
            stream_version=stream_version,
            occurred_at=_iso(occurred_at),
            recorded_at=_iso(recorded_at),
            campus=campus,
            correlation_id=correlation_id,
            causation_id=causation_id,
            data=data if isinstance(data, dict) else json.loads(data),
            actor=actor if actor is None or isinstance(actor, dict) else json.loads(actor),
        ).upcast()


def _iso(value: datetime | str) -> str:
    return value if isinstance(value, str) else value.isoformat(timespec="microseconds")


def _latest_version(event_type: str) -> int:
    from shared.events import CATALOGUE

    return CATALOGUE.latest_version(event_type)
