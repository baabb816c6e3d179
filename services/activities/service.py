"""The activities service: the reading programme (entrypoints only)."""

from __future__ import annotations

from typing import Any

from services.activities.projections import BooksRead
from shared import feed
from shared.dependencies import Projections
from shared.envelope import Envelope
from shared.rpc import rpc
from shared.subscriber import subscribe


class ActivitiesService(feed.EventFeed):
    name = "activities"
    projections = Projections(BooksRead())

    @subscribe("circulation")
    def on_circulation_event(self, event: Envelope) -> Any:
        return self.projections.apply(event)

    @rpc
    def books_read(self, patron_id: str) -> int:
        with self.store.cursor() as cursor:
            cursor.execute("SELECT loans FROM books_read WHERE patron_id = %s", (patron_id,))
            row = cursor.fetchone()
        return row[0] if row else 0
