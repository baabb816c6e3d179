"""The archives service: the books of record (entrypoints only)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from services.archives.projections import EventArchive
from shared import feed
from shared.dependencies import Projections
from shared.envelope import Envelope
from shared.exceptions import load
from shared.rpc import rpc
from shared.subscriber import subscribe

SELECT_ARCHIVED = """
    SELECT envelope FROM archived_events WHERE source = %s AND position > %s
    ORDER BY position LIMIT %s
"""


class ArchiveQuery(Schema):
    source = fields.String(required=True, validate=validate.OneOf(EventArchive.sources))
    after = fields.Integer(load_default=0, validate=validate.Range(min=0))
    limit = fields.Integer(load_default=500, validate=validate.Range(min=1, max=feed.MAX_FEED_PAGE))


class ArchivesService(feed.EventFeed):
    name = "archives"
    projections = Projections(EventArchive())

    @subscribe(*EventArchive.sources)
    def on_event(self, event: Envelope) -> Any:
        return self.projections.apply(event)

    @rpc
    def events(self, source: str, after: int = 0, limit: int = 500) -> list[dict[str, Any]]:
        """The archived replay feed of one source, in position order."""
        query = load(ArchiveQuery(), {"source": source, "after": after, "limit": limit})
        with self.store.cursor() as cursor:
            cursor.execute(SELECT_ARCHIVED, (query["source"], query["after"], query["limit"]))
            return [row[0] for row in cursor.fetchall()]
