"""The consumer protocol: how a read model follows other services' events.

A ``Projection`` names itself, lists the sources it follows and applies one
event inside a transaction it is handed. ``ProjectionRunner`` gives every
projection the same guarantees over at-least-once, possibly reordered delivery:

* a checkpoint per (projection, source) is locked and moved in the same
  transaction as the projection's own tables, so an event is applied once;
* an event at or below the checkpoint is a duplicate and is dropped;
* an event beyond checkpoint + 1 reveals a gap, which is filled by pulling the
  missing range from the source's feed (``events_since``) and applying it first;
* an event the projection keeps failing on (a bug, not an outage) is parked:
  recorded with its error and dead-lettered, and the projection goes on. When
  the dead letter is retried, the parked event is applied out of turn.

Outages (database or broker down) are not the event's fault: they raise, and
the message is redelivered later.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from logging import getLogger
from typing import Any, ClassVar

import psycopg2
import psycopg2.extensions

from shared.events.envelope import Envelope
from shared.eventsourcing.unit_of_work import UnitOfWork
from shared.storage.batched import batched_transaction
from shared.storage.pool import ConnectionPool

_log = getLogger(__name__)

Cursor = psycopg2.extensions.cursor
FeedReader = Callable[[str, int, int], Sequence[Envelope]]
"""Reads a source's feed: ``(source, after_position, limit) -> envelopes``."""
TypesReader = Callable[[str, int, int, frozenset[str]], Sequence[Envelope]]
"""Reads the events of some types of a source: ``(source, after, until, types) ->``
every one of them with a position in (after, until], in position order."""
UnitOfWorkFactory = Callable[..., UnitOfWork]
"""Makes a unit of work in a consumer's transaction, caused by an event: ``(cursor, cause,
read_ahead=None)``, ``read_ahead`` the streams read ahead for a run of causes."""

MAX_ATTEMPTS = 3
FILL_PAGE = 500

ENSURE_CHECKPOINT = """
    INSERT INTO projection_checkpoints (projection, source) VALUES (%s, %s)
    ON CONFLICT DO NOTHING
"""
LOCK_CHECKPOINT = """
    SELECT position FROM projection_checkpoints
    WHERE projection = %s AND source = %s FOR UPDATE
"""
MOVE_CHECKPOINT = """
    UPDATE projection_checkpoints SET position = %s, updated_at = now()
    WHERE projection = %s AND source = %s
"""
# Every projection's checkpoint for one source, created if new and locked in one lock
# order, in one round trip (two statements: the lock sees rows the insert just made).
LOCK_CHECKPOINTS = """
    INSERT INTO projection_checkpoints (projection, source)
    SELECT unnest(%(projections)s::text[]), %(source)s ON CONFLICT DO NOTHING;
    SELECT projection, position FROM projection_checkpoints
    WHERE projection = ANY(%(projections)s) AND source = %(source)s
    ORDER BY projection FOR UPDATE
"""
MOVE_CHECKPOINTS = """
    UPDATE projection_checkpoints c SET position = moved.position, updated_at = now()
    FROM unnest(%s::text[], %s::bigint[]) AS moved (projection, position)
    WHERE c.projection = moved.projection AND c.source = %s
"""
PARK = """
    INSERT INTO parked_events (projection, source, position, event_id, envelope, error)
    VALUES (%s, %s, %s, %s, %s, %s)
    ON CONFLICT (projection, source, position) DO UPDATE SET error = EXCLUDED.error,
        parked_at = now()
"""
UNPARK = "DELETE FROM parked_events WHERE projection = %s AND source = %s AND position = %s"
IS_PARKED = "SELECT 1 FROM parked_events WHERE projection = %s AND source = %s AND position = %s"


OUTAGES = (psycopg2.OperationalError, psycopg2.InterfaceError, ConnectionError)
"""Errors of a server being out, not of the event: the whole transaction is retried."""


class TransientError(ConnectionError):
    """Raised when a dependency (database, broker, a source's feed) is out for now."""


class Projection:
    """A read model built from events alone.

    Subclasses set ``name`` and ``sources`` and implement ``apply``. ``tables``
    lists the tables a rebuild empties before replaying.
    """

    name: ClassVar[str]
    sources: ClassVar[tuple[str, ...]]
    tables: ClassVar[tuple[str, ...]] = ()
    types: ClassVar[frozenset[str] | None] = None
    """The event types of its sources it reads, when only a few (None: every type). Its
    queue then carries those only (``types_read``), and its checkpoint moves past the
    others by asking the source's feed of those types (``ProjectionRunner.advance``)."""
    writes_only: ClassVar[bool] = False
    """True when ``apply`` only executes statements and reads nothing back: inline, its
    statements can then wait and go to PostgreSQL together with the next
    (``shared.storage.batched``)."""

    def apply(self, cursor: Cursor, event: Envelope) -> None:
        """Update the read model for one event, in the caller's transaction."""
        raise NotImplementedError

    def configure(self, config: Mapping[str, Any]) -> None:
        """Take settings from the service's config (e.g. the school's timezone); optional."""

    def apply_many(self, cursor: Cursor, events: Sequence[Envelope]) -> None:
        """Apply a batch in position order (a rebuild); override to do it in fewer statements."""
        for event in events:
            self.apply(cursor, event)

    def reset(self, cursor: Cursor) -> None:
        """Empty the read model's tables (before a rebuild)."""
        if self.tables:
            cursor.execute(f"TRUNCATE {', '.join(self.tables)}")

    def follows(self, source: str) -> bool:
        return source in self.sources


class Reaction(Projection):
    """A policy: answers another service's events with events of this service.

    It runs in the consumer's transaction, so what it records commits together
    with the checkpoint: each event is reacted to exactly once, and the events
    it records get ids derived from the cause, so even a replay records nothing
    twice. Subclasses implement ``react``; ``tables`` is usually empty.
    """

    def react(self, uow: UnitOfWork, event: Envelope) -> None:
        raise NotImplementedError

    def streams(self, event: Envelope) -> Sequence[tuple[Any, str]]:
        """The streams (aggregate, key) ``react`` will read for ``event``: read for a whole
        batch in one query before it reacts to each (``UnitOfWork.read_ahead``)."""
        return ()

    def apply(self, cursor: Cursor, event: Envelope) -> None:
        raise TypeError("a Reaction is run by ProjectionRunner.react, not applied")


@dataclass(frozen=True)
class Parked:
    projection: str
    event: Envelope
    error: str


@dataclass
class Outcome:
    """What handling one delivered event did, for logs, metrics and dead-lettering."""

    applied: int = 0
    duplicates: int = 0
    filled: int = 0
    parked: list[Parked] = field(default_factory=list)

    def merge(self, other: Outcome) -> None:
        self.applied += other.applied
        self.duplicates += other.duplicates
        self.filled += other.filled
        self.parked.extend(other.parked)


class ProjectionRunner:
    """Applies delivered events to projections with the guarantees above."""

    def __init__(
        self,
        pool: ConnectionPool,
        projections: Iterable[Projection],
        read_feed: FeedReader,
        max_attempts: int = MAX_ATTEMPTS,
        unit_of_work: UnitOfWorkFactory | None = None,
        read_types: TypesReader | None = None,
    ) -> None:
        self.pool = pool
        self.projections = list(projections)
        self.read_feed = read_feed
        self.max_attempts = max_attempts
        self.unit_of_work = unit_of_work
        self.read_types = read_types

    def handle(self, event: Envelope) -> Outcome:
        """Apply one delivered event to every projection that follows its source."""
        return self.handle_many([event])

    def handle_many(self, events: Iterable[Envelope]) -> Outcome:
        """Apply a batch of delivered events, in position order per source.

        A batch is what the subscriber received while the previous one was
        being applied. The usual case, every projection's checkpoint right
        before the batch, is applied in one transaction for all of them
        (``_together``); what that leaves (a gap, a redelivery, an event a
        projection fails on) goes through ``handle_for`` projection by
        projection, which fills gaps and parks what keeps failing.
        """
        outcome = Outcome()
        by_source: dict[str, dict[int, Envelope]] = {}
        for event in events:
            seen = by_source.setdefault(event.source, {})
            if event.position in seen:
                outcome.duplicates += 1
            seen[event.position] = event
        for source, by_position in by_source.items():
            batch = [by_position[position] for position in sorted(by_position)]
            following = [p for p in self.projections if p.follows(source)]
            every_type = [p for p in following if p.types is None]
            if every_type:
                for projection, rest in self._together(every_type, batch, outcome):
                    outcome.merge(self.handle_for(projection, rest))
            for projection in following:
                if projection.types is not None:
                    outcome.merge(self.advance(projection, source, batch[-1].position, batch))
        return outcome

    def advance(
        self,
        projection: Projection,
        source: str,
        upto: int,
        delivered: Sequence[Envelope] = (),
    ) -> Outcome:
        """Bring a projection that reads some types only (``Projection.types``) up to
        position ``upto`` of ``source``.

        Its queue carries only those types, so its positions have holes by design: the
        events of its types between its checkpoint and ``upto`` are read from the
        source's feed of them (``read_types``; none, usually, but one the broker lost
        too), applied in order, and the checkpoint moved to ``upto``. ``delivered``
        (ascending) at or below the checkpoint are redeliveries, as in ``handle_for``.
        Run for each delivered batch, and with the source's head every few seconds
        (``projection_lag``), so that the checkpoint, the lag and ``caught_up`` stay
        true while the source records only other types.
        """
        outcome = Outcome()
        with self.pool.transaction() as cursor:
            checkpoint = lock_checkpoint(cursor, projection.name, source)
            for event in delivered:
                if event.position <= checkpoint:
                    self._redeliver(cursor, projection, event, outcome)
        if upto <= checkpoint:
            return outcome
        types = projection.types or frozenset()
        wanted = self._fetch_types(source, checkpoint, upto, types)
        read = {event.position for event in wanted}
        lost = [
            event.position
            for event in delivered
            if event.position > checkpoint and event.type in types and event.position not in read
        ]
        if lost:  # delivered, so committed: a feed that lacks it is not answering right
            raise TransientError(f"{source}'s feed of {projection.name}'s types lacks {lost[:5]}")
        with self.pool.transaction() as cursor:
            now = lock_checkpoint(cursor, projection.name, source)
            if upto <= now:  # another worker took it meanwhile
                return outcome
            run = [event for event in wanted if event.position > now]
            if run:
                self._apply_run(cursor, projection, run, outcome)
            cursor.execute(MOVE_CHECKPOINT, (upto, projection.name, source))
        return outcome

    def _together(
        self, projections: Sequence[Projection], batch: Sequence[Envelope], outcome: Outcome
    ) -> list[tuple[Projection, Sequence[Envelope]]]:
        """Apply ``batch`` (one source, ascending) to every projection in one transaction.

        Two round trips besides the projections' reads: ``BEGIN`` with the lock of
        every checkpoint, and the projections' writes (``shared.storage.batched.writes``)
        with the move of every checkpoint and the ``COMMIT``. A projection whose checkpoint
        is not where the batch begins (a gap before it, events it has seen)
        is left out; events after a gap inside the batch are left over; both
        are returned for ``handle_for``. When a projection fails here, nothing
        of this transaction is kept and every projection takes the careful way.
        """
        source = batch[0].source
        names = sorted(projection.name for projection in projections)
        leftovers: list[tuple[Projection, Sequence[Envelope]]] = []
        applied = 0
        try:
            with batched_transaction(self.pool) as cursor:
                cursor.execute(LOCK_CHECKPOINTS, {"projections": names, "source": source})
                checkpoints = dict(cursor.fetchall())
                moved: dict[str, int] = {}
                for projection in projections:
                    checkpoint = checkpoints[projection.name]
                    if batch[0].position != checkpoint + 1:
                        leftovers.append((projection, batch))
                        continue
                    run = gapless_prefix(batch)
                    if isinstance(projection, Reaction):
                        ahead = self._read_ahead(cursor, projection, run)
                        for event in run:
                            self.run(cursor, projection, event, ahead)
                    else:
                        projection.apply_many(cursor, run)
                    applied += len(run)
                    moved[projection.name] = run[-1].position
                    if len(run) < len(batch):
                        leftovers.append((projection, batch[len(run) :]))
                if moved:
                    cursor.batch.execute(
                        MOVE_CHECKPOINTS, (list(moved), list(moved.values()), source)
                    )
        except OUTAGES:
            raise
        except Exception as exc:  # one projection's fault: find which, the careful way
            _log.info(
                "applying %s #%d-#%d to %s at once failed (%s): one projection at a time",
                source,
                batch[0].position,
                batch[-1].position,
                ", ".join(names),
                exc,
            )
            return [(projection, batch) for projection in projections]
        outcome.applied += applied
        return leftovers

    def handle_for(self, projection: Projection, events: Sequence[Envelope]) -> Outcome:
        """Apply ``events`` (one source, ascending positions) and the gaps before them once.

        Each round locks the checkpoint, drops what it already covers, applies
        the run that follows it without a hole and moves it. A gap is read from
        the source's feed with no transaction open: holding the checkpoint lock
        (and so a connection of every worker queued on it) through a call to
        another service starves that service's own feed requests of
        connections, and two services filling gaps from each other stall until
        their pools time out.
        """
        outcome = Outcome()
        source = events[0].source
        pending = list(events)
        filled: list[Envelope] = []
        while True:
            with self.pool.transaction() as cursor:
                checkpoint = lock_checkpoint(cursor, projection.name, source)
                for event in pending:
                    if event.position <= checkpoint:
                        self._redeliver(cursor, projection, event, outcome)
                pending = [event for event in pending if event.position > checkpoint]
                # What was read of the gap and is still beyond the checkpoint runs on from it.
                run = [item for item in filled if item.position > checkpoint]
                after = run[-1].position if run else checkpoint
                while pending and pending[0].position == after + 1:
                    run.append(pending.pop(0))
                    after += 1
                if run:
                    self._apply_run(cursor, projection, run, outcome)
                    cursor.execute(MOVE_CHECKPOINT, (after, projection.name, source))
                if not pending:
                    return outcome
            missing = pending[0].position - after - 1
            filled = self._fetch(source, after, min(missing, FILL_PAGE))
            outcome.filled += len(filled)

    def _apply_run(
        self, cursor: Cursor, projection: Projection, run: Sequence[Envelope], outcome: Outcome
    ) -> None:
        """Apply a gapless run: at once when the projection can, else event by event.

        When applying at once fails for a reason of the events' own, the run is
        applied again one event at a time, so that only the bad event is parked.
        """
        if len(run) > 1 and not isinstance(projection, Reaction):
            cursor.execute("SAVEPOINT apply_run")
            try:
                projection.apply_many(cursor, run)
            except OUTAGES:
                raise
            except Exception as exc:  # one of the events' fault: find which, below
                cursor.execute("ROLLBACK TO SAVEPOINT apply_run")
                _log.info(
                    "projection %s could not apply %s #%d-#%d at once (%s): one at a time",
                    projection.name,
                    run[0].source,
                    run[0].position,
                    run[-1].position,
                    exc,
                )
            else:
                cursor.execute("RELEASE SAVEPOINT apply_run")
                outcome.applied += len(run)
                return
        for event in run:
            self._apply(cursor, projection, event, outcome)

    def _fetch_types(
        self, source: str, after: int, until: int, types: frozenset[str]
    ) -> list[Envelope]:
        if self.read_types is None:
            raise TypeError("a projection reads some types only, but no reader of them was given")
        try:
            return list(self.read_types(source, after, until, types))
        except (ConnectionError, TimeoutError) as error:
            raise TransientError(f"cannot read {source}'s feed: {error}") from error

    def _fetch(self, source: str, after: int, limit: int) -> list[Envelope]:
        try:
            batch = list(self.read_feed(source, after, limit))
        except (ConnectionError, TimeoutError) as error:
            raise TransientError(f"cannot read {source}'s feed: {error}") from error
        expected = list(range(after + 1, after + 1 + limit))
        if [item.position for item in batch] != expected:
            # The feed is gapless by construction; anything else is an outage
            # (a source not yet committed) rather than a fact to project.
            raise TransientError(
                f"{source}'s feed returned positions {[i.position for i in batch][:5]}..., "
                f"expected {after + 1}..{after + limit}"
            )
        return batch

    def _apply(
        self, cursor: Cursor, projection: Projection, event: Envelope, outcome: Outcome
    ) -> bool:
        """Apply with retries inside a savepoint; park the event when it keeps failing."""
        error = ""
        for attempt in range(1, self.max_attempts + 1):
            cursor.execute("SAVEPOINT apply_event")
            try:
                self.run(cursor, projection, event)
            except OUTAGES:
                raise  # an outage: let the whole transaction fail and be retried
            except Exception as exc:  # a bug or bad data: this event's fault
                cursor.execute("ROLLBACK TO SAVEPOINT apply_event")
                error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
                _log.warning(
                    "projection %s failed on %s #%d (attempt %d/%d): %s",
                    projection.name,
                    event.source,
                    event.position,
                    attempt,
                    self.max_attempts,
                    error,
                    extra={"correlation_id": event.correlation_id},
                )
                continue
            cursor.execute("RELEASE SAVEPOINT apply_event")
            outcome.applied += 1
            return True
        cursor.execute(
            PARK,
            (
                projection.name,
                event.source,
                event.position,
                event.event_id,
                json.dumps(event.to_dict()),
                error,
            ),
        )
        outcome.parked.append(Parked(projection.name, event, error))
        return False

    def _read_ahead(
        self, cursor: Cursor, reaction: Reaction, run: Sequence[Envelope]
    ) -> dict[str, Any] | None:
        """The streams ``reaction`` will read for ``run``, read in one query (None: none)."""
        wanted = [stream for event in run for stream in reaction.streams(event)]
        if not wanted or self.unit_of_work is None:
            return None
        ahead: dict[str, Any] = {}
        self.unit_of_work(cursor, run[0], read_ahead=ahead).read_ahead(*wanted)
        return ahead

    def run(
        self,
        cursor: Cursor,
        projection: Projection,
        event: Envelope,
        ahead: dict[str, Any] | None = None,
    ) -> None:
        """Apply a read model, or let a reaction record its events (``ahead``: the streams
        read ahead for its batch)."""
        if isinstance(projection, Reaction):
            if self.unit_of_work is None:
                raise TypeError(f"{projection.name} reacts, but no unit of work was given")
            uow = self.unit_of_work(cursor, event, read_ahead=ahead)
            projection.react(uow, event)
            uow.finish()
        else:
            projection.apply(cursor, event)

    def _redeliver(
        self, cursor: Cursor, projection: Projection, event: Envelope, outcome: Outcome
    ) -> None:
        """An event at or below the checkpoint: a duplicate, unless it was parked."""
        cursor.execute(IS_PARKED, (projection.name, event.source, event.position))
        if cursor.fetchone() is None:
            outcome.duplicates += 1
            return
        if self._apply(cursor, projection, event, outcome):
            cursor.execute(UNPARK, (projection.name, event.source, event.position))


def fed_by(providers: Iterable[Any]) -> list[Projection]:
    """The projections a service feeds from its subscriptions: those of each of its
    providers that carries them (``projections``: the runtime's ``Projections``)."""
    return [
        projection for provider in providers for projection in getattr(provider, "projections", ())
    ]


def types_read(projections: Iterable[Projection], source: str) -> frozenset[str] | None:
    """The types of ``source``'s events the projections following it read, when each names
    them (``Projection.types``); None when one reads every type, or none follows it."""
    wanted: set[str] = set()
    following = False
    for projection in projections:
        if projection.follows(source):
            if projection.types is None:
                return None
            following = True
            wanted |= projection.types
    return frozenset(wanted) if following else None


def gapless_prefix(events: Sequence[Envelope]) -> Sequence[Envelope]:
    """The leading events of an ascending batch whose positions follow one another."""
    for index in range(1, len(events)):
        if events[index].position != events[index - 1].position + 1:
            return events[:index]
    return events


def lock_checkpoint(cursor: Cursor, projection: str, source: str) -> int:
    """Lock and return a projection's checkpoint for one source (0 when new)."""
    cursor.execute(ENSURE_CHECKPOINT, (projection, source))
    cursor.execute(LOCK_CHECKPOINT, (projection, source))
    return cursor.fetchone()[0]


def checkpoints(cursor: Cursor) -> dict[tuple[str, str], int]:
    """Every (projection, source) checkpoint in this database."""
    cursor.execute("SELECT projection, source, position FROM projection_checkpoints")
    return {(projection, source): position for projection, source, position in cursor.fetchall()}
