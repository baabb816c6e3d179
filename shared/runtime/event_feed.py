"""Entrypoints every event-sourced service exposes: its replay feed and health.

Consumers fill gaps from ``events_since``; operators and tests ask ``health``;
the gateway asks ``caught_up`` before a query that must see a command's events
(read your own writes, ``shared.runtime.read_after``).
A service class gets both by inheriting ``EventFeed``, and its ``/metrics``
(``shared.runtime.metrics``): the lag gauges are refreshed on a timer here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from logging import getLogger
from typing import Any

import eventlet
from marshmallow import Schema, fields, validate

from shared.errors import BadRequest, load
from shared.events.envelope import Envelope
from shared.eventsourcing.projection import TransientError, checkpoints
from shared.eventsourcing.rebuild import lag
from shared.messaging.dead_letters import count_waiting
from shared.messaging.names import (
    DEAD_LETTER_QUEUE_TEMPLATE,
    SUBSCRIBER_QUEUE_TEMPLATE,
    events_exchange,
)
from shared.messaging.rpc import rpc
from shared.runtime import read_after
from shared.runtime.dependencies import EventRelay, EventStoreProvider
from shared.runtime.logs import WorkerLog
from shared.runtime.metrics import (
    Metrics,
    metrics_timer,
    record_dead_letters,
    record_lag,
    record_refreshed,
    record_store,
)

_log = getLogger(__name__)

MAX_FEED_PAGE = 5000
REFRESH_TIMEOUT = 5.0  # seconds one refresh of the metrics may take
# The log's head, what the relay has not published yet, and parked events: one round trip.
STORE_FIGURES = """
    SELECT h.head,
           greatest(0, h.head - coalesce(
               (SELECT position FROM relay_progress WHERE exchange = %s), 0)),
           (SELECT count(*) FROM parked_events)
    FROM (SELECT coalesce(max(position), 0) AS head FROM events) AS h
"""


class FeedQuery(Schema):
    after = fields.Integer(required=True, validate=validate.Range(min=0, max=10**15))
    limit = fields.Integer(load_default=500, validate=validate.Range(min=1, max=MAX_FEED_PAGE))


class TypesQuery(FeedQuery):
    types = fields.List(
        fields.String(validate=validate.Length(min=1, max=100)),
        required=True,
        validate=validate.Length(min=1, max=100),
    )
    until = fields.Integer(required=True, validate=validate.Range(min=0, max=10**15))


class EventFeed:
    """Mixin: the event store, the relay and the feed and health RPCs."""

    name: str
    store = EventStoreProvider()
    relay = EventRelay()
    worker_log = WorkerLog()  # its workers' log lines carry correlation id, actor, role
    metrics = Metrics()

    @rpc
    def events_since(self, after: int, limit: int = 500) -> list[dict[str, Any]]:
        """Up to ``limit`` events after position ``after``, in position order."""
        query = load(FeedQuery(), {"after": after, "limit": limit})
        return [event.to_dict() for event in self.store.read(query["after"], query["limit"])]

    @rpc
    def projection_lag(self) -> list[dict[str, Any]]:
        """How far each of this service's projections is behind each of its sources: in
        events (``lag``) and in ``seconds``, the age of the oldest event it has not
        applied (0 caught up; None when the source cannot be asked).

        Projections that read some types only are first moved past the others up to
        each source's head (``ProjectionsHandle.advance``): this runs every
        ``METRICS.refresh_seconds``, so their checkpoints and lag stay true."""
        self._advance_projections()
        with self.store.cursor() as cursor:
            positions = checkpoints(cursor)
        projections = getattr(self, "projections", None)
        heads: dict[str, int | None] = {self.name: self.store.head()}
        for _, source in positions:
            if source not in heads and projections is not None:
                try:
                    heads[source] = projections.feeds.head(source)
                except TransientError:
                    heads[source] = None
        rows = lag(positions, heads)
        oldest: dict[tuple[str, int], float | None] = {}
        now = datetime.now(UTC)
        for row in rows:
            if not row["lag"]:
                row["seconds"] = None if row["lag"] is None else 0.0
                continue
            key = (row["source"], row["checkpoint"])
            if key not in oldest:
                oldest[key] = self._age_of_next(*key, now)
            row["seconds"] = oldest[key]
        return rows

    def _age_of_next(self, source: str, position: int, now: datetime) -> float | None:
        """Seconds since the first event of ``source`` after ``position`` was recorded."""
        events: list[Envelope] = []
        if source == self.name:
            events = self.store.read(position, 1)
        elif getattr(self, "projections", None) is not None:
            try:
                events = self.projections.feeds(source, position, 1)
            except TransientError:
                return None
        if not events:
            return None
        recorded = datetime.fromisoformat(events[0].recorded_at)
        return max(0.0, round((now - recorded).total_seconds(), 3))

    @rpc
    def events_of_types(
        self, types: list[str], after: int, until: int, limit: int = 500
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` events of ``types`` with positions in (after, until], in position
        order: the feed of a follower that reads those types only."""
        query = load(TypesQuery(), {"types": types, "after": after, "until": until, "limit": limit})
        events = self.store.read_types(
            query["after"], query["until"], query["types"], query["limit"]
        )
        return [event.to_dict() for event in events]

    @metrics_timer
    def refresh_metrics(self) -> None:
        """Refresh the gauges a scrape reads (``shared.runtime.metrics``): each projection's
        lag, the relay's, parked events and dead letters; every ``METRICS.refresh_seconds``.

        Each part is bounded by ``REFRESH_TIMEOUT``: a source that is down (its queue kept,
        nobody answering) would hold the worker, and a graceful stop waits for workers."""
        try:
            with eventlet.Timeout(REFRESH_TIMEOUT):
                with self.store.cursor() as cursor:
                    cursor.execute(STORE_FIGURES, (events_exchange(self.name).name,))
                    record_store(self.name, *cursor.fetchone())
                dlqs = count_waiting(self.metrics.amqp_uri, self._dlqs())
                record_dead_letters(self.name, dlqs)
            record_refreshed(self.name)
            with eventlet.Timeout(REFRESH_TIMEOUT):  # asks the sources a projection is behind
                record_lag(self.name, self.projection_lag())
        except (Exception, eventlet.Timeout) as error:  # the gauges keep their last values
            _log.warning("metrics of %s not refreshed: %s", self.name, error)

    def _advance_projections(self, upto: dict[str, int] | None = None) -> None:
        """Move this service's projections that read some types only past the others
        (``ProjectionsHandle.advance``), up to ``upto`` or each source's head."""
        projections = getattr(self, "projections", None)
        if projections is not None:
            projections.advance(upto)

    def _dlqs(self) -> list[str]:
        """The dead-letter queues of this service's subscriptions."""
        return [
            DEAD_LETTER_QUEUE_TEMPLATE.format(SUBSCRIBER_QUEUE_TEMPLATE.format(self.name, source))
            for source in self.metrics.subscribed_sources()
        ]

    @rpc
    def health(self) -> dict[str, Any]:
        """This instance answers, its database answers; the newest position and relay role."""
        return {
            "service": self.name,
            "head": self.store.head(),
            "relay_leader": self.relay.is_leader,
            "relay_published": self.relay.published,
            "metrics": self.metrics.url,
        }

    @rpc
    def caught_up(self, positions: dict[str, int], timeout: float = 3.0) -> dict[str, Any]:
        """Wait up to ``timeout`` s until every projection of this service following a
        named source has a checkpoint at or past its position.

        Answers ``{"caught_up", "behind": {source: lowest checkpoint}, "waited_ms"}``;
        sources no projection here follows are caught up already.
        """
        try:
            wanted, wait = read_after.checked(positions, timeout)
        except ValueError as error:
            raise BadRequest(str(error), {"positions": [str(error)]}) from None
        self._advance_projections(wanted)  # those reading some types only: past the others
        return read_after.wait_caught_up(self.store.pool, self._following(), wanted, wait)

    def _following(self) -> dict[str, list[str]]:
        """Source -> names of this service's projections (inline or not) that follow it."""
        followers = list(self.store.inline)
        projections = getattr(self, "projections", None)
        runner = getattr(projections, "runner", None)
        if runner is not None:
            followers.extend(runner.projections)
        return read_after.following_of(followers)
