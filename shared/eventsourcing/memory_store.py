"""An event store in memory, for tests that should not need PostgreSQL.

``InMemoryEventStore`` has the methods of ``shared.eventsourcing.store.EventStore``
with the same semantics, so a unit of work, the command pipeline or a service's
command handlers can run on it in milliseconds. The contract tests
(``tests/contract/test_event_store_contract.py``) run one set of tests against
both stores, so the two cannot drift apart unnoticed.

What it keeps of the real store:

* positions gapless from 1, stream versions from 1, optimistic concurrency
  (``ConcurrencyError`` when the stream moved; ``ANY_VERSION`` skips the check,
  ``NO_STREAM`` is a new stream);
* an append of event ids already stored is a no-op answering the stored
  envelopes (``Appended.replayed``); a partly stored batch stores the rest;
* every payload validated against the catalogue (and every actor's shape) before
  anything is stored, and refused whole when one event is invalid;
* envelopes as PostgreSQL returns them: event ids as canonical UUID text, times
  in UTC as ``to_json`` writes them (``2026-01-02T03:04:05.12+00:00``: trailing
  zeros of the fraction dropped), ``recorded_at`` the time of the append, data
  and actor parsed back from JSON (a fresh dict for every read, as jsonb gives)
  and data upcast to the latest schema version;
* commands: ``remember`` keeps the receipt's JSON text (NaN refused, as jsonb
  does), ``command_run`` parses it back with the standard ``json`` module, as
  psycopg2 does for jsonb; a command id remembered twice is a ``UniqueViolation``;
* sequences (``next_numbers``) per name, from 1, never given back by a rollback.

What it does not have: locks and isolation. The cursor argument of every method
is accepted and ignored (``None``, a ``StatementBatch``, anything), and the
``lock`` arguments of ``command_run`` and ``caused_by`` wait for nothing: one
thread at a time.

Transactions: ``transaction()`` is a context manager that discards, when its
block raises, everything the block appended or remembered (events, commands,
relay progress), so a unit of work run inside it is all or nothing like a
PostgreSQL transaction and a refused command leaves nothing behind. Without
it, appends stay as soon as they are made. Having no isolation, a rollback
discards *everything* appended since the block began, whoever appended it: to
play a rival writer, append before the block or outside it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg2.errors

from shared.events import CATALOGUE
from shared.events.envelope import Envelope, NewEvent
from shared.eventsourcing.store import (
    ANY_VERSION,
    Appended,
    CommandRun,
    ConcurrencyError,
    check_batch,
)


@dataclass(frozen=True)
class _Row:
    """One stored event, as the ``events`` table holds it (data as JSON text)."""

    position: int
    event_id: str
    stream_id: str
    stream_version: int
    type: str
    schema_version: int
    campus: str | None
    correlation_id: str | None
    causation_id: str | None
    occurred_at: str
    recorded_at: str
    data: str
    actor: str | None  # JSON text, as the ``actor`` jsonb column holds it


@dataclass(frozen=True)
class _Command:
    name: str
    fingerprint: str
    receipt_json: str


class InMemoryEventStore:
    """The log of one service (``source``) in memory; see the module docstring."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._rows: list[_Row] = []  # index i holds position i + 1
        self._by_id: dict[str, _Row] = {}
        self._streams: dict[str, list[_Row]] = {}
        self._by_cause: dict[str, list[_Row]] = {}
        self._commands: dict[str, _Command] = {}
        self._sequences: dict[str, int] = {}
        # The relay's progress per exchange (the ``relay_progress`` table): set it to play a relay.
        self.relay_progress: dict[str, int] = {}

    # ------------------------------------------------------------ transactions

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing: what the block appended or remembered is discarded if it raises.

        Yields the "cursor" to hand to the store's methods (``None``). Blocks nest;
        sequences are not rolled back (PostgreSQL's are not either).
        """
        mark = (len(self._rows), dict(self._commands), dict(self.relay_progress))
        try:
            yield None
        except BaseException:
            self._roll_back(*mark)
            raise

    def _roll_back(self, length: int, commands: dict[str, _Command], progress: dict) -> None:
        del self._rows[length:]
        self._commands = commands
        self.relay_progress = progress
        self._by_id, self._streams, self._by_cause = {}, {}, {}
        for row in self._rows:
            self._index(row)

    # ------------------------------------------------------------ appending

    def append(
        self,
        cursor: Any,
        stream_id: str,
        expected_version: int | None,
        events: Sequence[NewEvent],
    ) -> Appended:
        """Append ``events`` to ``stream_id`` if it is still at ``expected_version``.

        As ``EventStore.append``: event ids already stored are not stored again
        (the whole batch stored: the stored envelopes, ``replayed``); raises
        ``ConcurrencyError`` when the stream moved.
        """
        if not events:
            return Appended()
        check_batch(stream_id, events)
        ids = [_uuid_text(event.event_id) for event in events]
        existing = sorted(
            {self._by_id[i].position: self._by_id[i] for i in ids if i in self._by_id}.values(),
            key=lambda row: row.position,
        )
        fresh = list(zip(ids, events, strict=True))
        if existing:  # a retried command: what was stored then is not stored again
            if len(existing) == len(events):
                replay = Appended(self._envelope(row) for row in existing)
                replay.replayed = True
                return replay
            fresh = [(i, event) for i, event in fresh if i not in self._by_id]
        version = self.stream_version(cursor, stream_id)
        if expected_version is not ANY_VERSION and version != expected_version:
            raise ConcurrencyError(stream_id, expected_version, version)
        if len({i for i, _ in fresh}) != len(fresh):  # the unique index refuses the insert
            raise ConcurrencyError(stream_id, expected_version, -1)
        rows = [
            self._row(len(self._rows) + offset, version + offset, event_id, event)
            for offset, (event_id, event) in enumerate(fresh, start=1)
        ]
        self._insert(rows)
        return Appended(self._envelope(row) for row in rows)

    def append_streams(
        self,
        cursor: Any,
        writes: Sequence[tuple[str, int | None, Sequence[NewEvent]]],
    ) -> list[Appended]:
        """Append to many streams at once, as ``EventStore.append_streams``."""
        writes = [(stream, expected, events) for stream, expected, events in writes if events]
        if not writes:
            return []
        for stream_id, _, events in writes:
            check_batch(stream_id, events)
        ids = [_uuid_text(event.event_id) for _, _, events in writes for event in events]
        if any(i in self._by_id for i in ids):
            return [self.append(cursor, *write) for write in writes]
        streams = [stream for stream, _, _ in writes]
        if len(set(streams)) != len(streams):
            raise ValueError("append_streams takes each stream once")
        for stream_id, expected, _ in writes:
            actual = self.stream_version(cursor, stream_id)
            if expected is not ANY_VERSION and actual != expected:
                raise ConcurrencyError(stream_id, expected, actual)
        if len(set(ids)) != len(ids):  # the unique index refuses the insert
            raise psycopg2.errors.UniqueViolation("an event id twice in one append_streams")
        position = len(self._rows)
        results = []
        for stream_id, _, events in writes:
            version = self.stream_version(cursor, stream_id)
            rows = []
            for event in events:
                position += 1
                version += 1
                rows.append(self._row(position, version, _uuid_text(event.event_id), event))
            results.append(rows)
        for rows in results:
            self._insert(rows)
        return [Appended(self._envelope(row) for row in rows) for rows in results]

    # ------------------------------------------------------------ reading

    def load_streams(self, cursor: Any, stream_ids: Sequence[str]) -> dict[str, list[Envelope]]:
        """Several streams' histories (streams with no events map to [])."""
        return {stream: self.load(cursor, stream) for stream in stream_ids}

    def load(self, cursor: Any, stream_id: str, after_version: int = 0) -> list[Envelope]:
        """The events of one stream (after ``after_version``), oldest first."""
        rows = self._streams.get(stream_id, [])
        return [self._envelope(row) for row in rows[max(after_version, 0) :]]

    def caused_by(
        self, cursor: Any, causation_id: str, lock: tuple[int, str] | None = None
    ) -> list[Envelope]:
        """Every event recorded because of one command or event, in position order."""
        return [self._envelope(row) for row in self._by_cause.get(causation_id, [])]

    def stream_version(self, cursor: Any, stream_id: str) -> int:
        rows = self._streams.get(stream_id)
        return rows[-1].stream_version if rows else 0

    def read(self, cursor: Any, after_position: int, limit: int = 1000) -> list[Envelope]:
        """The feed: up to ``limit`` events after ``after_position``, in position order."""
        start = max(after_position, 0)
        return [self._envelope(row) for row in self._rows[start : start + max(limit, 0)]]

    def read_after_progress(self, cursor: Any, exchange: str, limit: int) -> list[Envelope]:
        """The feed after ``relay_progress[exchange]`` (0 when the relay never published)."""
        return self.read(cursor, self.relay_progress.get(exchange, 0), limit)

    def head(self, cursor: Any) -> int:
        """The newest position (0 when the log is empty)."""
        return len(self._rows)

    # ------------------------------------------------------------ commands and numbers

    def command_run(self, cursor: Any, command_id: str, lock: int) -> CommandRun | None:
        """What ``command_id`` did when it ran before; the receipt parsed back from JSON."""
        found = self._commands.get(command_id)
        if found is None:
            return None
        return CommandRun(found.name, found.fingerprint, json.loads(found.receipt_json))

    def remember(
        self, cursor: Any, command_id: str, name: str, fingerprint: str, receipt_json: str
    ) -> None:
        """Record what a command did (``receipt_json``: JSON text, checked as jsonb would)."""
        if command_id in self._commands:
            raise psycopg2.errors.UniqueViolation(
                f'duplicate key value violates unique constraint "commands_pkey": {command_id}'
            )
        _as_jsonb(receipt_json)
        self._commands[command_id] = _Command(name, fingerprint, receipt_json)

    def next_numbers(self, cursor: Any, sequence: str, count: int) -> list[int]:
        """``count`` numbers from the named sequence (each name starts at 1 when first used)."""
        last = self._sequences.get(sequence, 0)
        self._sequences[sequence] = last + max(count, 0)
        return list(range(last + 1, last + max(count, 0) + 1))

    # ------------------------------------------------------------ rows and envelopes

    def _row(self, position: int, version: int, event_id: str, event: NewEvent) -> _Row:
        data = json.dumps(event.data, allow_nan=False)  # what psycopg2's Json would send
        _as_jsonb(data)
        actor = None
        if event.actor is not None:
            actor = json.dumps(event.actor, allow_nan=False)
            _as_jsonb(actor)
        return _Row(
            position=position,
            event_id=event_id,
            stream_id=event.stream_id,
            stream_version=version,
            type=event.type,
            schema_version=CATALOGUE.latest_version(event.type),
            campus=event.campus,
            correlation_id=event.correlation_id,
            causation_id=event.causation_id,
            occurred_at=_timestamptz_text(event.occurred_at),
            recorded_at=_timestamptz_text(datetime.now(UTC)),
            data=data,
            actor=actor,
        )

    def _insert(self, rows: Sequence[_Row]) -> None:
        for row in rows:
            self._rows.append(row)
            self._index(row)

    def _index(self, row: _Row) -> None:
        self._by_id[row.event_id] = row
        self._streams.setdefault(row.stream_id, []).append(row)
        if row.causation_id is not None:
            self._by_cause.setdefault(row.causation_id, []).append(row)

    def _envelope(self, row: _Row) -> Envelope:
        return Envelope(
            event_id=row.event_id,
            type=row.type,
            schema_version=row.schema_version,
            source=self.source,
            position=row.position,
            stream_id=row.stream_id,
            stream_version=row.stream_version,
            occurred_at=row.occurred_at,
            recorded_at=row.recorded_at,
            campus=row.campus,
            correlation_id=row.correlation_id,
            causation_id=row.causation_id,
            data=json.loads(row.data),
            actor=None if row.actor is None else json.loads(row.actor),
        ).upcast()


def _uuid_text(event_id: str) -> str:
    """An event id as PostgreSQL's ``uuid::text`` writes it (ValueError if it is no UUID)."""
    return str(uuid.UUID(str(event_id)))


def _timestamptz_text(value: datetime | str) -> str:
    """A time as ``to_json(timestamptz) #>> '{}'`` writes it in a UTC session."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    if moment.tzinfo is None:  # timestamptz reads a time without offset in the session's zone
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    return text + "+00:00"


def _as_jsonb(text: str) -> Any:
    """Parse JSON text as a jsonb column would take it: NaN, Infinity and NUL are refused."""

    def refuse(constant: str) -> Any:
        raise ValueError(f"invalid input syntax for type json: {constant}")

    if "\\u0000" in text:
        raise ValueError("unsupported Unicode escape sequence: \\u0000 cannot be stored in jsonb")
    return json.loads(text, parse_constant=refuse)
