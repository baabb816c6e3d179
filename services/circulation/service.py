"""The circulation service: cards, loans and returns (entrypoints only)."""

from __future__ import annotations

from typing import Any

from services.circulation.projections import CopyAvailability
from shared import feed
from shared.dependencies import Projections
from shared.envelope import Envelope
from shared.exceptions import NotFound
from shared.rpc import rpc
from shared.subscriber import subscribe

SELECT_COPY = """
    SELECT barcode, isbn, title, classification, campus, price::text, reference_only, status
    FROM copy_availability WHERE barcode = %s
"""


class CirculationService(feed.EventFeed):
    name = "circulation"
    projections = Projections(CopyAvailability())

    @subscribe("catalog")
    def on_catalog_event(self, event: Envelope) -> Any:
        return self.projections.apply(event)

    @rpc
    def copy_availability(self, barcode: str) -> dict[str, Any]:
        """Whether circulation may lend a copy, as far as it knows from catalog's events."""
        with self.store.cursor() as cursor:
            cursor.execute(SELECT_COPY, (barcode,))
            row = cursor.fetchone()
        if row is None:
            raise NotFound(f"circulation knows no copy {barcode!r}")
        names = (
            "barcode",
            "isbn",
            "title",
            "classification",
            "campus",
            "price",
            "reference_only",
            "status",
        )
        return dict(zip(names, row, strict=True))
