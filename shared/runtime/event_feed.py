"""Entrypoints every event-sourced service exposes: its replay feed and health.

Consumers fill gaps from ``events_since``; operators and tests ask ``health``.
A service class gets both by inheriting ``EventFeed``.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from shared.errors import load
from shared.eventsourcing.projection import TransientError, checkpoints
from shared.eventsourcing.rebuild import lag
from shared.messaging.rpc import rpc
from shared.runtime.dependencies import EventRelay, EventStoreProvider

MAX_FEED_PAGE = 5000


class FeedQuery(Schema):
    after = fields.Integer(required=True, validate=validate.Range(min=0, max=10**15))
    limit = fields.Integer(load_default=500, validate=validate.Range(min=1, max=MAX_FEED_PAGE))


class EventFeed:
    """Mixin: the event store, the relay and the feed and health RPCs."""

    name: str
    store = EventStoreProvider()
    relay = EventRelay()

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
