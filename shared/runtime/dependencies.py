"""nameko DependencyProviders wiring the core into services.

* ``DatabasePool`` (shared by a container): the service's connection pool.
* ``EventStoreProvider``: gives a worker a ``UnitOfWork`` over its service's
  event store, stamped with the worker's correlation and causation ids and its
  actor (the caller the gateway names in the context data).
* ``EventRelay``: runs the relay in the background of every instance; only the
  leader publishes.
* ``Projections``: applies delivered events to the service's projections, with
  gaps filled from the source's ``events_since`` RPC and parked events dead-lettered.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import partial
from logging import getLogger
from typing import Any

from nameko.extensions import DependencyProvider, SharedExtension
from nameko.rpc import ServiceProxy

from shared.config import database_url
from shared.errors import BadRequest
from shared.events.envelope import Actor, Envelope, InvalidActor, checked_actor
from shared.eventsourcing.pipeline import Handler, run_command
from shared.eventsourcing.projection import Outcome, Projection, ProjectionRunner, TransientError
from shared.eventsourcing.store import Cursor, EventStore
from shared.eventsourcing.unit_of_work import FoldCache, UnitOfWork
from shared.messaging.dead_letters import DeadLetters
from shared.messaging.relay import Relay, to_message
from shared.messaging.rpc import SurvivingReplyListener
from shared.runtime import read_after
from shared.runtime.metrics import EVENTS_APPENDED
from shared.runtime.school_calendar import SchoolCalendar, calendar_from_config
from shared.storage.batched import batched_transaction
from shared.storage.pool import ConnectionPool

_log = getLogger(__name__)


class DatabasePool(SharedExtension):
    """One connection pool per container, to the service's own database."""

    def setup(self) -> None:
        config = self.container.config
        self.pool = ConnectionPool(
            database_url(config, self.container.service_name),
            size=int(config.get("DB_POOL_SIZE", 8)),
        )

    def stop(self) -> None:
        self.pool.close()

    kill = stop


def correlation_of(worker_ctx: Any) -> tuple[str, str]:
    """(correlation id, causation id) of a worker: propagated, or started here."""
    data = worker_ctx.context_data
    call_id = worker_ctx.call_id.rsplit(".", 1)[-1]
    correlation_id = data.get("correlation_id") or call_id
    return correlation_id, data.get("causation_id") or data.get("command_id") or call_id


def actor_of(worker_ctx: Any) -> Actor | None:
    """Who a worker acts for: the ``actor`` the caller put in the context data, or None.

    The gateway puts the account or API key it served there
    (``{"id", "username", "role"}``); nameko carries it as the AMQP header
    ``nameko.actor`` to this worker and on to every service it calls. A caller
    that names none (the CLI, the demo loader) acts for nobody known. An actor
    of the wrong shape is refused (``BadRequest`` naming ``actor``): an event
    recorded with it would be refused by every subscriber.
    """
    try:
        return checked_actor(worker_ctx.context_data.get("actor"))
    except InvalidActor as error:
        raise BadRequest(
            "invalid actor in the caller's context data", {"actor": error.errors}
        ) from None


class StoreAccess:
    """What a worker gets from ``EventStoreProvider``."""

    def __init__(
        self,
        pool: ConnectionPool,
        store: EventStore,
        worker_ctx: Any,
        inline: Sequence[Projection] = (),
        caches: dict[str, FoldCache] | None = None,
    ) -> None:
        self.pool = pool
        self.store = store
        self.inline = inline
        self.caches = caches if caches is not None else {}
        self.correlation_id, self.causation_id = correlation_of(worker_ctx)
        self.worker_ctx = worker_ctx

    def run(
        self,
        name: str,
        parameters: Mapping[str, Any],
        handle: Handler,
        secret: Collection[str] = (),
    ) -> Any:
        """Carry out one command through the pipeline (``shared.eventsourcing.pipeline``).

        The positions its events got are kept on the worker (``read_after.note``): the
        command's reply carries them to the caller.
        """
        return run_command(
            self.unit_of_work,
            name,
            parameters,
            handle,
            secret=secret,
            on_positions=partial(read_after.note, self.worker_ctx),
        )

    @contextmanager
    def unit_of_work(self, command_id: str | None = None) -> Iterator[UnitOfWork]:
        """A transaction: committed when the block ends, rolled back if it raises.

        Its events carry the worker's actor (``actor_of``), checked before anything runs.
        """
        actor = actor_of(self.worker_ctx)
        with batched_transaction(self.pool) as cursor:
            uow = UnitOfWork(
                self.store,
                cursor,
                self.correlation_id,
                self.causation_id,
                command_id,
                self.inline,
                self.caches,
                actor,
            )
            yield uow
            uow.finish()
        if uow.recorded:  # committed
            EVENTS_APPENDED.labels(self.store.source).inc(len(uow.recorded))

    def read(self, after: int, limit: int) -> list[Envelope]:
        with self.pool.transaction() as cursor:
            return self.store.read(cursor, after, limit)

    def read_types(
        self, after: int, until: int, types: Sequence[str], limit: int
    ) -> list[Envelope]:
        with self.pool.transaction() as cursor:
            return self.store.read_types(cursor, after, until, types, limit)

    def head(self) -> int:
        with self.pool.transaction() as cursor:
            return self.store.head(cursor)

    @contextmanager
    def cursor(self) -> Iterator[Cursor]:
        """A plain transaction for the service's read models."""
        with self.pool.transaction() as cursor:
            yield cursor


class EventStoreProvider(DependencyProvider):
    """Gives workers access to their service's event store and database.

    ``inline`` projections follow the service's own events inside the
    transaction that records them (see ``shared.eventsourcing.unit_of_work``).
    """

    database = DatabasePool()

    def __init__(self, *inline: Projection) -> None:
        self.inline = inline

    def setup(self) -> None:
        self.store = EventStore(self.container.service_name)
        self.caches: dict[str, FoldCache] = {}  # folded states of cached aggregates, per process
        for projection in self.inline:
            projection.configure(self.container.config)

    def get_dependency(self, worker_ctx: Any) -> StoreAccess:
        return StoreAccess(self.database.pool, self.store, worker_ctx, self.inline, self.caches)

    def unit_of_work(
        self,
        cursor: Cursor,
        cause: Envelope,
        read_ahead: dict[str, tuple[int, list[Envelope]]] | None = None,
    ) -> UnitOfWork:
        """A unit of work for reacting to ``cause`` inside a consumer's transaction;
        what it records carries the cause's actor (who did what led to it).
        ``read_ahead``: the streams read ahead for a run of causes (``Reaction.streams``)."""
        return UnitOfWork(
            self.store,
            cursor,
            cause.correlation_id,
            cause.event_id,
            cause.event_id,
            self.inline,
            self.caches,
            cause.actor,
            read_ahead,
        )


class EventRelay(DependencyProvider):
    """Runs the service's relay in the background; one instance leads at a time."""

    def setup(self) -> None:
        self.relay = Relay.from_config(self.container.service_name, self.container.config)
        self._stopping = threading.Event()
        self._thread: Any = None

    def start(self) -> None:
        self._thread = self.container.spawn_managed_thread(
            lambda: self.relay.run(self._stopping.is_set), identifier="relay"
        )

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.wait()

    def kill(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.kill()
        self.relay.close()

    def get_dependency(self, worker_ctx: Any) -> Relay:
        return self.relay


TYPES_PAGE = 1000  # events of some types asked of a source at once


class FeedReaders:
    """Reads a source's feed: from the local store for the service's own events,
    over the source's ``events_since`` RPC for everyone else's."""

    def __init__(
        self, service: str, pool: ConnectionPool, reply_listener: Any, worker_ctx: Any
    ) -> None:
        self.service = service
        self.pool = pool
        self.reply_listener = reply_listener
        self.worker_ctx = worker_ctx

    def __call__(self, source: str, after: int, limit: int) -> list[Envelope]:
        if source == self.service:
            with self.pool.transaction() as cursor:
                return EventStore(source).read(cursor, after, limit)
        try:
            raw = self._proxy(source).events_since(after, limit)
        except Exception as error:  # UnknownService, RemoteError...: the feed is not there now
            raise TransientError(f"{source}.events_since failed: {error}") from error
        return [Envelope.from_dict(item) for item in raw]

    def types(self, source: str, after: int, until: int, types: frozenset[str]) -> list[Envelope]:
        """Every event of ``types`` of ``source`` with a position in (after, until], page by
        page: from the local store for the service's own, over ``events_of_types`` else."""
        found: list[Envelope] = []
        while True:
            page = self._types_page(source, found[-1].position if found else after, until, types)
            found += page
            if len(page) < TYPES_PAGE:
                return found

    def _types_page(
        self, source: str, after: int, until: int, types: frozenset[str]
    ) -> list[Envelope]:
        if source == self.service:
            with self.pool.transaction() as cursor:
                return EventStore(source).read_types(
                    cursor, after, until, sorted(types), TYPES_PAGE
                )
        try:
            raw = self._proxy(source).events_of_types(sorted(types), after, until, TYPES_PAGE)
        except Exception as error:  # UnknownService, RemoteError...: the feed is not there now
            raise TransientError(f"{source}.events_of_types failed: {error}") from error
        return [Envelope.from_dict(item) for item in raw]

    def head(self, source: str) -> int:
        """The newest position of ``source``'s log."""
        if source == self.service:
            with self.pool.transaction() as cursor:
                return EventStore(source).head(cursor)
        try:
            return self._proxy(source).health()["head"]
        except Exception as error:  # the source is down: its head is unknown for now
            raise TransientError(f"{source}.health failed: {error}") from error

    def _proxy(self, source: str) -> ServiceProxy:
        return ServiceProxy(self.worker_ctx, source, self.reply_listener)


class ProjectionsHandle:
    """What a worker gets from ``Projections``: apply a batch of delivered events."""

    def __init__(
        self,
        runner: ProjectionRunner,
        dead_letters: DeadLetters,
        queue_name: str,
        feeds: FeedReaders,
    ) -> None:
        self.feeds = feeds
        self.runner = runner
        self.dead_letters = dead_letters
        self.queue_name = queue_name

    def apply(self, events: Sequence[Envelope]) -> Outcome:
        """Apply a delivered batch; dead-letter what a projection had to park."""
        return self._dead_letter_parked(self.runner.handle_many(events), events)

    def advance(self, upto: Mapping[str, int] | None = None) -> None:
        """Move the projections that read some types only (``Projection.types``) past the
        other types: up to ``upto``'s position of each source, or its head. A source
        that cannot be asked now is left for the next time."""
        for source in sorted({s for p in self.runner.projections if p.types for s in p.sources}):
            if upto is not None and source not in upto:
                continue
            try:
                position = upto[source] if upto is not None else self.feeds.head(source)
                for projection in self.runner.projections:
                    if projection.types is not None and projection.follows(source):
                        self._dead_letter_parked(self.runner.advance(projection, source, position))
            except TransientError:
                continue

    def _dead_letter_parked(self, outcome: Outcome, events: Sequence[Envelope] = ()) -> Outcome:
        for parked in outcome.parked:
            message = to_message(parked.event)
            self.dead_letters.publish(
                self.queue_name.format(source=parked.event.source),
                message.body,
                {
                    **message.headers,
                    "x-error": parked.error[:2000],
                    "x-projection": parked.projection,
                },
                message.message_id,
            )
        if events and (outcome.applied or outcome.parked or outcome.filled):
            _log.debug(
                "%d events from #%d: applied %d, filled %d, duplicates %d, parked %d",
                len(events),
                events[0].position,
                outcome.applied,
                outcome.filled,
                outcome.duplicates,
                len(outcome.parked),
                extra={"correlation_id": events[0].correlation_id},
            )
        return outcome


class Projections(DependencyProvider):
    """The service's projections, fed by the ``@subscribe`` entrypoint."""

    database = DatabasePool()
    dead_letters = DeadLetters()
    rpc_reply_listener = SurvivingReplyListener()

    def __init__(self, *projections: Projection) -> None:
        self.projections = projections

    def setup(self) -> None:
        for projection in self.projections:
            projection.configure(self.container.config)
        stores = [d for d in self.container.dependencies if isinstance(d, EventStoreProvider)]
        self._unit_of_work = stores[0].unit_of_work if stores else None

    def get_dependency(self, worker_ctx: Any) -> ProjectionsHandle:
        from shared.messaging.names import SUBSCRIBER_QUEUE_TEMPLATE

        service = self.container.service_name
        read_feed = FeedReaders(service, self.database.pool, self.rpc_reply_listener, worker_ctx)
        runner = ProjectionRunner(
            self.database.pool,
            self.projections,
            read_feed,
            unit_of_work=self._unit_of_work,
            read_types=read_feed.types,
        )
        queue_template = SUBSCRIBER_QUEUE_TEMPLATE.format(service, "{source}")
        return ProjectionsHandle(runner, self.dead_letters, queue_template, read_feed)


class Calendar(DependencyProvider):
    """Gives workers the school calendar (terms, today) read once from the config."""

    def setup(self) -> None:
        self.calendar = calendar_from_config(self.container.config)

    def get_dependency(self, worker_ctx: Any) -> SchoolCalendar:
        return self.calendar
