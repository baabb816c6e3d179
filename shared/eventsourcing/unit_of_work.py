"""The unit of work: one transaction in which a service loads, decides and records.

Events appended through it are stamped with the correlation and causation ids
of what caused them and with its actor (who asked for the command, or the actor
of the event a service reacts to), and get ids derived from the command's id
when it has one, so a retried command (or a redelivered event a service reacts
to) records nothing twice. The service's *inline* projections, read models of its own
events that must be current the moment a command returns (a copy that was just
lent must not be lent again), are applied in the same transaction, in position
order, with their checkpoints.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import psycopg2.errors
import psycopg2.extensions

from shared.errors import NotFound
from shared.events.envelope import Actor, Envelope, NewEvent, derived_id, new_id
from shared.eventsourcing.decider import Aggregate, Event, fold
from shared.eventsourcing.store import Appended, CommandRun, ConcurrencyError, Cursor, EventStore
from shared.storage.batched import BatchingCursor, StatementBatch

S = TypeVar("S")
RETRIES = 5
CONFLICTS = (
    ConcurrencyError,
    psycopg2.errors.DeadlockDetected,
    psycopg2.errors.SerializationFailure,
)

# Transaction-scoped advisory locks (COMMAND_LOCKS, hash of a command id): one run of
# a command at a time. A collision of hashes only makes two commands wait for each other.
COMMAND_LOCKS = 7401
MOVE_INLINE_CHECKPOINTS = """
    INSERT INTO projection_checkpoints (projection, source, position, updated_at)
    SELECT unnest(%s::text[]), %s, %s, now()
    ON CONFLICT (projection, source) DO UPDATE
        SET position = GREATEST(projection_checkpoints.position, EXCLUDED.position),
            updated_at = now()
"""


class InlineProjection(Protocol):
    """What the unit of work needs of a projection it keeps inline (``projection.Projection``)."""

    name: str
    writes_only: bool

    def apply(self, cursor: Any, envelope: Envelope) -> None: ...

    def apply_many(self, cursor: Cursor, envelopes: Sequence[Envelope]) -> None: ...


class FoldCache:
    """The last folded state of recently used streams, kept per process.

    A card with years of loans has hundreds of events; folding them all for
    every lend is most of a lend's work. The cache keeps (version, id of the
    last event, state); the unit of work reads the stream from that version on
    and uses the cached state only if the store still has that very event there
    (it would not after a database was restored from a backup), then folds what
    came after. So the answer is always the store's, whoever appended meanwhile.
    States must be immutable.
    """

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._states: OrderedDict[str, tuple[int, str, Any]] = OrderedDict()

    def get(self, stream_id: str) -> tuple[int, str, Any] | None:
        found = self._states.get(stream_id)
        if found is not None:
            self._states.move_to_end(stream_id)
        return found

    def put(self, stream_id: str, version: int, last_event_id: str, state: Any) -> None:
        self._states[stream_id] = (version, last_event_id, state)
        self._states.move_to_end(stream_id)
        while len(self._states) > self.size:
            self._states.popitem(last=False)


@dataclass(frozen=True)
class Loaded(Generic[S]):
    """A stream as the unit of work found it: its state and the version it was decided on."""

    aggregate: Aggregate[S]
    key: str
    version: int
    state: S

    @property
    def stream_id(self) -> str:
        return self.aggregate.stream_id(self.key)


class UnitOfWork:
    """A repository of streams inside the caller's transaction: ``get``, decide, ``record``.

    Statements that only write (inline projections, checkpoints, the command's
    receipt) wait in a batch and go to PostgreSQL with the next statement that reads
    (``shared.storage.batched``), or at ``finish``, or with the ``COMMIT`` of a
    ``batched_transaction``: a command's writes cost no round trip of their own.
    """

    def __init__(
        self,
        store: EventStore,
        cursor: Cursor,
        correlation_id: str | None,
        causation_id: str | None,
        command_id: str | None = None,
        inline: Sequence[InlineProjection] = (),
        caches: dict[str, FoldCache] | None = None,
        actor: Actor | None = None,
        read_ahead: dict[str, tuple[int, list[Envelope]]] | None = None,
    ) -> None:
        """``read_ahead``: streams read ahead for it and others (``read_ahead``), shared."""
        self.store = store
        self._cursor = cursor if isinstance(cursor, BatchingCursor) else BatchingCursor(cursor)
        self._writes = self._cursor.batch
        self.caches = caches if caches is not None else {}
        self.correlation_id = correlation_id
        self.causation_id = command_id or causation_id
        self.command_id = command_id
        self.actor = actor  # who did it, on every event recorded here (None: nobody known)
        self.inline = inline
        self._counter = 0
        self._checkpoints_at = 0  # where the inline projections' checkpoints were moved to
        self._read_ahead = read_ahead if read_ahead is not None else {}  # see read_ahead
        self.recorded: list[Envelope] = []

    @property
    def cursor(self) -> Cursor:
        """The transaction's cursor for queries: every waiting write goes ahead of the next."""
        return self._cursor  # type: ignore[return-value]  # quacks like one

    # ------------------------------------------------------------ the repository

    def get(self, aggregate: Aggregate[S], key: str) -> Loaded[S]:
        """A stream's state and version; ``NotFound`` if it has no events and must exist."""
        cache = self._cache(aggregate)
        version, state = self.fold(
            aggregate.stream_id(key), aggregate.evolve, aggregate.initial, cache
        )
        if not version and aggregate.missing is not None:
            raise NotFound(aggregate.missing.format(key=key))
        return Loaded(aggregate, key, version, state)

    def read_ahead(self, *wanted: tuple[Aggregate[Any], str]) -> None:
        """Read the streams the next ``get``s will ask for in one round trip instead of one
        each (a lend's card and the school's calendar). Each is read from where its cached
        fold ends, as ``get`` would, and serves the first ``get`` of it only: a stream
        read again after it was recorded on is read anew."""
        after: dict[str, int] = {}
        for aggregate, key in wanted:
            stream_id = aggregate.stream_id(key)
            cache = self._cache(aggregate)
            cached = cache.get(stream_id) if cache else None
            after[stream_id] = cached[0] - 1 if cached else 0
        for stream_id, events in self.store.load_streams_after(self.cursor, after).items():
            self._read_ahead[stream_id] = (after[stream_id], events)

    def new(self, aggregate: Aggregate[S], key: str) -> Loaded[S]:
        """A stream that does not exist yet (a barcode just drawn from its sequence): not read."""
        return Loaded(aggregate, key, 0, aggregate.initial)

    def get_many(self, aggregate: Aggregate[S], keys: Sequence[str]) -> dict[str, Loaded[S]]:
        """Many streams of one kind in one query (a roster's cards); none must exist."""
        histories = self.store.load_streams(self.cursor, [aggregate.stream_id(k) for k in keys])
        found = {}
        for key in keys:
            history = histories[aggregate.stream_id(key)]
            state = fold(aggregate.evolve, aggregate.initial, history)
            found[key] = Loaded(aggregate, key, len(history), state)
        return found

    def record(
        self, loaded: Loaded[Any], events: Sequence[Event], campus: str | None = None
    ) -> Appended:
        """Append what was decided on ``loaded``, if its stream has not moved since.

        The events' campus: ``campus`` when given, else the aggregate's (``Aggregate.campus``),
        else the one their payload names.
        """
        return self.append(loaded.stream_id, loaded.version, events, campus or self._campus(loaded))

    def record_many(self, decided: Sequence[tuple[Loaded[Any], Sequence[Event]]]) -> list[Appended]:
        """Append what was decided on many streams in one bulk append."""
        return self.append_streams(
            [(loaded.stream_id, loaded.version, events) for loaded, events in decided],
            campuses=[self._campus(loaded) for loaded, _ in decided],
        )

    def execute(
        self, aggregate: Aggregate[S], key: str, command: Any, campus: str | None = None
    ) -> Appended:
        """Load the stream, decide ``command`` on it and record what was decided."""
        loaded = self.get(aggregate, key)
        return self.record(loaded, aggregate.decide(loaded.state, command), campus)

    def next_numbers(self, sequence: str, count: int) -> list[int]:
        """``count`` numbers from one of the service's sequences (card numbers, barcodes)."""
        return self.store.next_numbers(self.cursor, sequence, count)

    def _cache(self, aggregate: Aggregate[Any]) -> FoldCache | None:
        if not aggregate.cached:
            return None
        return self.caches.setdefault(aggregate.name, FoldCache())

    def _campus(self, loaded: Loaded[Any]) -> str | None:
        campus_of = loaded.aggregate.campus
        return campus_of(loaded.state) if campus_of else None

    # ------------------------------------------------------------ commands run before

    def command_run(self) -> CommandRun | None:
        """What this unit's command id did when it ran before, waiting for a run still going."""
        if self.command_id is None:
            return None
        return self.store.command_run(self.cursor, self.command_id, COMMAND_LOCKS)

    def remember(self, name: str, fingerprint: str, receipt_json: str) -> None:
        """Keep what this command did, sent with the transaction's other writes."""
        if self.command_id is not None:
            self.store.remember(self._writes, self.command_id, name, fingerprint, receipt_json)

    def earlier(self) -> list[Envelope]:
        """What this command recorded when it ran before (it is a retry), else nothing.

        Two runs of one command can overlap: a caller whose answer was late (a
        timeout, a lost reply) asks again while the first run is still going. The
        second run waits here, on a lock named after the command, until the first
        has committed or rolled back, and so sees what it recorded; otherwise it
        would decide again and be refused for what the first run just did.
        """
        if self.command_id is None:
            return []
        return self.store.caused_by(
            self.cursor, self.command_id, lock=(COMMAND_LOCKS, self.command_id)
        )

    def fold(
        self,
        stream_id: str,
        evolve: Callable[[S, Any], S],
        initial: S,
        cache: FoldCache | None = None,
    ) -> tuple[int, S]:
        """(version, state) of a stream: its cached fold brought up to date, or a full fold."""
        cached = cache.get(stream_id) if cache else None
        version, last_id, state = 0, "", initial
        if cached is not None:
            events = self._load(stream_id, cached[0] - 1)
            if events and events[0].event_id == cached[1]:
                (version, last_id, state), events = cached, events[1:]
            else:
                events = self._load(stream_id, 0)
        else:
            events = self._load(stream_id, 0)
        for event in events:
            state = evolve(state, event)
            version, last_id = event.stream_version, event.event_id
        if cache is not None and version:
            cache.put(stream_id, version, last_id, state)
        return version, state

    def _load(self, stream_id: str, after_version: int) -> list[Envelope]:
        """A stream's events after ``after_version``: read ahead if they were, else now."""
        ahead = self._read_ahead.pop(stream_id, None)
        if ahead is not None and ahead[0] == after_version:
            return ahead[1]
        return self.store.load(self.cursor, stream_id, after_version=after_version)

    def append(
        self,
        stream_id: str,
        expected_version: int | None,
        events: Sequence[Event],
        campus: str | None = None,
    ) -> Appended:
        """Record decided events on one stream (optimistic: ``expected_version``)."""
        self._read_ahead.pop(stream_id, None)  # what was read of it ahead is past now
        stamped = [self._stamp(stream_id, event, campus) for event in events]
        stored = self.store.append(self.cursor, stream_id, expected_version, stamped)
        if not stored.replayed:
            self._project(stored)
            self.recorded.extend(stored)
        return stored

    def append_streams(
        self,
        writes: Sequence[tuple[str, int | None, Sequence[Event]]],
        campuses: Sequence[str | None],
    ) -> list[Appended]:
        """Record decided events on many streams in one bulk append (a roster, a catalogue);
        ``campuses``: each stream's events' campus, or None for the one their payload names."""
        for stream_id, _, _ in writes:
            self._read_ahead.pop(stream_id, None)
        stamped = [
            (stream_id, expected, [self._stamp(stream_id, event, where) for event in events])
            for (stream_id, expected, events), where in zip(writes, campuses, strict=True)
        ]
        results = self.store.append_streams(self.cursor, stamped)
        fresh = sorted(
            (envelope for result in results if not result.replayed for envelope in result),
            key=lambda envelope: envelope.position,
        )
        for projection in self.inline:
            projection.apply_many(self.cursor, fresh)
        self.recorded.extend(fresh)
        return results

    def _project(self, stored: Sequence[Envelope]) -> None:
        """Apply newly stored events to the inline projections, and move their checkpoints.

        Projections that only write (``Projection.writes_only``) have their
        statements sent together with the checkpoints' in one round trip.
        """
        if not stored:
            return
        for projection in self.inline:
            for envelope in stored:
                # one that reads gets the cursor, which first sends what was written
                projection.apply(self._writes if projection.writes_only else self.cursor, envelope)
        self._move_checkpoints(self._writes, max(envelope.position for envelope in stored))

    def finish(self) -> None:
        """Move the inline projections' checkpoints if an append did not, and send every
        waiting write (unless the transaction sends them with its ``COMMIT``); call
        before commit."""
        if self.recorded:
            self._move_checkpoints(self._writes, max(e.position for e in self.recorded))
        if not self._cursor.commits_batch:
            self._writes.flush()

    def _move_checkpoints(self, cursor: Cursor | StatementBatch, position: int) -> None:
        if not self.inline or position <= self._checkpoints_at:
            return
        names = sorted(projection.name for projection in self.inline)  # one lock order
        cursor.execute(MOVE_INLINE_CHECKPOINTS, (names, self.store.source, position))
        self._checkpoints_at = position

    def _stamp(self, stream_id: str, event: Event, campus: str | None) -> NewEvent:
        index, self._counter = self._counter, self._counter + 1
        event_id = derived_id(self.command_id, index) if self.command_id else new_id()
        return NewEvent(
            type=event.type,
            stream_id=stream_id,
            data=dict(event.data),
            event_id=event_id,
            campus=campus or event.data.get("campus"),
            correlation_id=self.correlation_id,
            causation_id=self.causation_id,
            actor=self.actor,
        )
