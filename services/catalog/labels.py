"""The copies a run of labels is printed for, with the call number a spine label shows.

A range names its first and last barcodes: the same prefix (``C``), then a
number (``00000101``), both ends included, in the numbers' order; weeded copies
get no label. At most ``schemas.MAX_LABELS`` barcodes from first to last, so a
slip of the finger (C00000001 to C00100000) asks again rather than prints a box
of paper.

The catalogue keeps a CLC class per title and no call number per copy, so the
spine's call number (索书号) is derived: the class, and under it the title's
sequence mark (种次号), the order in which the title came into that class — the
first title catalogued under I247.5 is 1, the next 2, by the first barcode of
each (a title is its ISBN). Weeded copies keep their title's mark, so a mark
once printed does not move.
"""

from __future__ import annotations

import re
from typing import Any

from services.catalog.schemas import MAX_LABELS
from shared.errors import BadRequest
from shared.eventsourcing.projection import Cursor

NUMBERED = re.compile(r"^(.*?)([0-9]+)$")

# The copies of the range, each with its title's sequence mark within its class.
SELECT_LABELS = """
    WITH ranged AS (
        SELECT c.barcode, c.isbn_key, c.title, c.author, c.classification, c.campus, c.shelf,
               CASE WHEN substr(c.barcode, %(skip)s) ~ '^[0-9]+$'
                    THEN substr(c.barcode, %(skip)s)::numeric END AS number
        FROM copies c
        WHERE c.status <> 'weeded' AND left(c.barcode, %(prefix_length)s) = %(prefix)s
    ), chosen AS (
        SELECT * FROM ranged WHERE number BETWEEN %(low)s AND %(high)s
    ), titles AS (
        SELECT classification, isbn_key, min(barcode) AS first
        FROM copies
        WHERE classification IN (SELECT classification FROM chosen)
        GROUP BY classification, isbn_key
    ), marks AS (
        SELECT classification, isbn_key,
               row_number() OVER (PARTITION BY classification ORDER BY first) AS mark
        FROM titles
    )
    SELECT chosen.barcode, chosen.title, chosen.author, chosen.classification,
           chosen.campus, chosen.shelf, marks.mark
    FROM chosen JOIN marks USING (classification, isbn_key)
    ORDER BY chosen.number, chosen.barcode
"""
FIELDS = ("barcode", "title", "author", "classification", "campus", "shelf", "mark")


def barcode_range(first: str, last: str) -> tuple[str, int, int]:
    """The prefix and the numbers from ``first`` to ``last``; ``BadRequest`` with a code
    when they have different prefixes, run backwards, or span more than ``MAX_LABELS``."""
    start, end = NUMBERED.match(first), NUMBERED.match(last)
    if start is None or end is None or start.group(1) != end.group(1):
        raise BadRequest(
            f"{first} and {last} are not numbers of one series: a range of labels runs "
            "between two barcodes with the same prefix, each ending in a number.",
            {"to": [f"Not in the series of {first}."]},
            code="label_range_mixed",
        )
    low, high = int(start.group(2)), int(end.group(2))
    if low > high:
        raise BadRequest(
            f"The range runs backwards: {first} comes after {last}.",
            {"to": [f"Before {first}."]},
            code="label_range_reversed",
        )
    if high - low + 1 > MAX_LABELS:
        raise BadRequest(
            f"{first} to {last} is {high - low + 1} barcodes; one run prints at most "
            f"{MAX_LABELS} labels.",
            {"to": [f"At most {MAX_LABELS} barcodes from {first}."]},
            code="label_range_too_large",
            members={"limit": MAX_LABELS},
        )
    return start.group(1), low, high


def copies_in_range(cursor: Cursor, first: str, last: str) -> list[dict[str, Any]]:
    """The copies from ``first`` to ``last`` in barcode order, each with ``mark``."""
    prefix, low, high = barcode_range(first, last)
    cursor.execute(
        SELECT_LABELS,
        {
            "prefix": prefix,
            "prefix_length": len(prefix),
            "skip": len(prefix) + 1,
            "low": low,
            "high": high,
        },
    )
    return [dict(zip(FIELDS, row, strict=True)) for row in cursor.fetchall()]
