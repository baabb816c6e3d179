"""The event archive: every event of every service, stored verbatim once."""

from __future__ import annotations

import json

from shared.consumer import Cursor, Projection
from shared.envelope import Envelope

ARCHIVE = """
    INSERT INTO archived_events (source, position, event_id, type, recorded_at, envelope)
    VALUES (%s, %s, %s, %s, %s, %s)
    ON CONFLICT DO NOTHING
"""


class EventArchive(Projection):
    """Keeps each source's events in order, for replay and for new subscribers."""

    name = "event_archive"
    sources = ("catalog", "circulation", "activities", "archives")
    tables = ("archived_events",)

    def apply(self, cursor: Cursor, event: Envelope) -> None:
        cursor.execute(
            ARCHIVE,
            (
                event.source,
                event.position,
                event.event_id,
                event.type,
                event.recorded_at,
                json.dumps(event.to_dict()),
            ),
        )
