"""Small builders of valid events, with ``**overrides`` for what a test cares about."""

from __future__ import annotations

import itertools
from typing import Any

from shared.envelope import NewEvent

_barcodes = itertools.count(1)


def book_added(barcode: str | None = None, **overrides: Any) -> dict[str, Any]:
    data = {
        "barcode": barcode or f"T{next(_barcodes):08d}",
        "isbn": "978-7-02-000220-7",
        "title": "红楼梦",
        "author": "曹雪芹",
        "classification": "I242.4",
        "campus": "north",
        "shelf": "N-I-03",
        "price": "59.70",
        "acquisition": "purchase",
        "reference_only": False,
    }
    data.update(overrides)
    return data


def repaired_event(stream_id: str, barcode: str = "T00000001", **overrides: Any) -> NewEvent:
    return NewEvent("Repaired", stream_id, {"barcode": barcode, "note": "", **overrides})


def added_event(barcode: str | None = None, **overrides: Any) -> NewEvent:
    data = book_added(barcode, **overrides)
    return NewEvent("BookAdded", f"copy-{data['barcode']}", data, campus=data["campus"])
