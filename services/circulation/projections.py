"""Circulation's own view of the copies, built from catalog's events.

Circulation never reads catalog's database: it keeps just enough to decide a
loan (where a copy is, whether it is on the shelf, whether it is reference-only).
"""

from __future__ import annotations

from shared.consumer import Cursor, Projection
from shared.envelope import Envelope

UPSERT_COPY = """
    INSERT INTO copy_availability (barcode, isbn, title, classification, campus, price,
                                   reference_only, status)
    VALUES (%(barcode)s, %(isbn)s, %(title)s, %(classification)s, %(campus)s, %(price)s,
            %(reference_only)s, 'on_shelf')
    ON CONFLICT (barcode) DO NOTHING
"""
SET_STATUS = "UPDATE copy_availability SET status = %s WHERE barcode = %s"
SET_CAMPUS = "UPDATE copy_availability SET campus = %s WHERE barcode = %s"
SET_REFERENCE = "UPDATE copy_availability SET reference_only = %s WHERE barcode = %s"


class CopyAvailability(Projection):
    """Every copy circulation may lend: campus, shelf status, reference-only."""

    name = "copy_availability"
    sources = ("catalog",)
    tables = ("copy_availability",)

    def apply(self, cursor: Cursor, event: Envelope) -> None:
        data = event.data
        match event.type:
            case "BookAdded":
                cursor.execute(UPSERT_COPY, data)
            case "CopyDamaged":
                cursor.execute(SET_STATUS, ("damaged", data["barcode"]))
            case "Repaired":
                cursor.execute(SET_STATUS, ("on_shelf", data["barcode"]))
            case "Weeded":
                cursor.execute(SET_STATUS, ("weeded", data["barcode"]))
            case "Transferred":
                cursor.execute(SET_CAMPUS, (data["to_campus"], data["barcode"]))
            case "ReferenceStatusChanged":
                cursor.execute(SET_REFERENCE, (data["reference_only"], data["barcode"]))
