"""Entrypoints every event-sourced service exposes: its replay feed and health.

Consumers fill gaps from ``events_since``; operators and tests ask ``health``;
the gateway asks ``caught_up`` before a query that must see a command's events
(read your own writes, ``shared.runtime.read_after``).
A service class gets both by inheriting ``EventFeed``.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from shared.errors import BadRequest, load
from shared.eventsourcing.projection import TransientError, checkpoints
from shared.eventsourcing.rebuild import lag
from shared.messaging.rpc import rpc
from shared.runtime import read_after
from shared.runtime.dependencies import EventRelay, EventStoreProvider
from shared.runtime.logs import WorkerLog

MAX_FEED_PAGE = 5000


class FeedQuery(Schema):
    after = fields.Integer(required=True, validate=validate.Range(min=0, max=10**15))
    limit = fields.Integer(load_default=500, validate=validate.Range(min=1, max=MAX_FEED_PAGE))


class EventFeed:
    """Mixin: the event store, the relay and the feed and health RPCs."""

    name: str
    store = EventStoreProvider()
    relay = EventRelay()
    worker_log = WorkerLog()  # its workers' log lines carry correlation id, actor, role

    @rpc
    def events_since(self, after: int, limit: int = 500) -> list[dict[str, Any]]:
        """Up to ``limit`` events after position ``after``, in position order."""
        query = load(FeedQuery(), {"after": after, "limit": limit})
        return [event.to_dict() for event in self.store.read(query["after"], query["limit"])]

    @rpc
    def projection_lag(self) -> list[dict[str, Any]]:
        """How far each of this service's projections is behind each of its sources."""
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
        return lag(positions, heads)

    @rpc
    def health(self) -> dict[str, Any]:
        """This instance answers, its database answers; the newest position and relay role."""
        return {
            "service": self.name,
            "head": self.store.head(),
            "relay_leader": self.relay.is_leader,
            "relay_published": self.relay.published,
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
        return read_after.wait_caught_up(self.store.pool, self._following(), wanted, wait)

    def _following(self) -> dict[str, list[str]]:
        """Source -> names of this service's projections (inline or not) that follow it."""
        followers = list(self.store.inline)
        projections = getattr(self, "projections", None)
        runner = getattr(projections, "runner", None)
        if runner is not None:
            followers.extend(runner.projections)
        return read_after.following_of(followers)
