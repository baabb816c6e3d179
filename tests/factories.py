"""Small builders of valid events, with ``**overrides`` for what a test cares about."""

from __future__ import annotations

import itertools
from typing import Any

from shared.events.envelope import NewEvent
from shared.events.examples import EXAMPLES

_barcodes = itertools.count(1)


def book_added(barcode: str | None = None, **overrides: Any) -> dict[str, Any]:
    """The contract's own BookAdded example, with a fresh barcode."""
    data = {**EXAMPLES["BookAdded"], "barcode": barcode or f"T{next(_barcodes):08d}"}
    data.update(overrides)
    return data


def repaired_event(stream_id: str, barcode: str = "T00000001", **overrides: Any) -> NewEvent:
    return NewEvent("Repaired", stream_id, {"barcode": barcode, "note": "", **overrides})


def added_event(barcode: str | None = None, **overrides: Any) -> NewEvent:
    data = book_added(barcode, **overrides)
    return NewEvent("BookAdded", f"copy-{data['barcode']}", data, campus=data["campus"])
