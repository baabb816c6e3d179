"""The gateway's part of printing labels: the catalog finds the copies, this draws them.

The catalog answers the copies of a range (``label_copies``), checking the range
itself (one series, in order, at most ``MAX_LABELS``); the PDF is drawn here
with ``shared.paper.labels`` in the request's language, so no file travels over
RPC. A range with no copy in it is a 404 ``label_range_empty`` rather than a
blank sheet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import eventlet

from services.catalog.schemas import LABEL_KINDS, MAX_LABELS
from services.gateway.problems import NotFound
from services.gateway.routing import Reply
from shared.paper import labels
from shared.paper.label_sheets import DEFAULT_LAYOUT, LAYOUTS, describe
from shared.paper.pdf import PDF
from shared.paper.words import Words


def layouts() -> dict[str, Any]:
    """The label sheets there are, the default first (``GET /api/labels/layouts``)."""
    ordered = sorted(LAYOUTS.values(), key=lambda layout: layout.name != DEFAULT_LAYOUT)
    return {
        "layouts": [describe(layout) for layout in ordered],
        "default": DEFAULT_LAYOUT,
        "kinds": list(LABEL_KINDS),
        "max_labels": MAX_LABELS,
    }


def pdf_reply(
    copies: Sequence[Mapping[str, Any]], query: Mapping[str, Any], language: str
) -> Reply:
    """The copies' labels as a PDF attachment named after the range and the kind."""
    first, last = query["from"], query["to"]
    if not copies:
        raise NotFound(
            f"No copy has a barcode from {first} to {last} (weeded copies get no label).",
            code="label_range_empty",
        )
    kind = query.get("kind", "barcode")
    layout = LAYOUTS[query.get("layout", DEFAULT_LAYOUT)]
    start = int(query.get("start", 1))
    data = labels.render(copies, layout, kind, Words(language), start, pause=eventlet.sleep)
    name = f"labels-{kind}-{first}-{last}.pdf"
    return Reply(
        data, content_type=PDF, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
