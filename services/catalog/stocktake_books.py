"""The stock-takes' read model and what is read for and from it.

``Stocktakes`` follows the catalog's own stock-take events inline (in the
transaction that records them), so the running count and the report are
current the moment a scan or the closing returns; it is built from events
alone (``infra/migrations/catalog/006_stocktake.sql``). The queries read what
the rules need from the copies (``copies_in_books``, ``on_shelf``), the report
of one stock-take, and the copies missing in the last two stock-takes that
covered them (``twice_missing``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.catalog import queries
from services.catalog.stocktake import COUNTED, CopyInBooks, Finding, missing_twice
from shared.events.envelope import Envelope
from shared.eventsourcing.projection import Cursor, Projection

OPENED = """
    INSERT INTO stocktakes (stocktake_id, campus, classes, status, opened_on, opened_by)
    VALUES (%(stocktake_id)s, %(campus)s, %(classes)s, 'open', %(opened_on)s, %(opened_by)s)
    ON CONFLICT (stocktake_id) DO NOTHING
"""
COUNT = """
    INSERT INTO stocktake_copies (stocktake_id, barcode, outcome, misplaced, loan_id, status,
                                  counted_at)
    VALUES (%(stocktake_id)s, %(barcode)s, 'found', %(misplaced)s, %(loan_id)s, %(status)s,
            %(counted_at)s)
    ON CONFLICT (stocktake_id, barcode) DO NOTHING
"""
CLOSED = """
    UPDATE stocktakes SET status = 'closed', closed_on = %(closed_on)s,
        closed_position = %(position)s, expected = %(expected)s, counted = %(counted)s,
        missing = %(missing_count)s, misplaced = %(misplaced_count)s,
        found_on_loan = %(found_on_loan_count)s
    WHERE stocktake_id = %(stocktake_id)s
"""
MISSED = """
    INSERT INTO stocktake_copies (stocktake_id, barcode, outcome)
    SELECT %(stocktake_id)s, unnest(%(missing)s::text[]), 'missing'
    ON CONFLICT (stocktake_id, barcode) DO NOTHING
"""

# What the books say about scanned copies: home, class, status (queries.STATUS), loan.
IN_BOOKS = f"""
    SELECT c.barcode, c.campus, c.classification, {queries.STATUS}, l.loan_id
    FROM copies c LEFT JOIN copies_on_loan l ON l.barcode = c.barcode
    WHERE c.barcode = ANY(%s)
"""
# The copies on the shelf in the books at a campus (not lent, damaged, away or weeded).
ON_SHELF = f"""
    SELECT c.barcode, c.classification
    FROM copies c LEFT JOIN copies_on_loan l ON l.barcode = c.barcode
    WHERE c.campus = %s AND ({queries.STATUS}) = 'on_shelf'
"""
STOCKTAKE_FIELDS = (
    "stocktake_id",
    "campus",
    "classes",
    "status",
    "opened_on",
    "opened_by",
    "closed_on",
    "expected",
    "counted",
    "missing",
    "misplaced",
    "found_on_loan",
)
SELECT_STOCKTAKES = """
    SELECT s.stocktake_id, s.campus, s.classes, s.status, to_char(s.opened_on, 'YYYY-MM-DD'),
           s.opened_by, to_char(s.closed_on, 'YYYY-MM-DD'), s.expected,
           CASE WHEN s.status = 'closed' THEN s.counted
                ELSE (SELECT count(*) FROM stocktake_copies sc
                      WHERE sc.stocktake_id = s.stocktake_id AND sc.outcome = 'found') END,
           s.missing, s.misplaced, s.found_on_loan
    FROM stocktakes s
"""
COUNTED_AMONG = """
    SELECT barcode FROM stocktake_copies
    WHERE stocktake_id = %s AND outcome = 'found' AND barcode = ANY(%s)
"""
ALL_COUNTED = """
    SELECT barcode, misplaced, loan_id FROM stocktake_copies
    WHERE stocktake_id = %s AND outcome = 'found'
"""
LAST_COUNTED = """
    SELECT barcode FROM stocktake_copies WHERE stocktake_id = %s AND outcome = 'found'
    ORDER BY counted_at DESC, barcode DESC LIMIT 1
"""
LINE_FIELDS = (
    "barcode",
    "title",
    "author",
    "classification",
    "campus",
    "shelf",
    "price",
    "misplaced",
    "loan_id",
)
# A report's list: the copies with an outcome (and, for found ones, what was noted).
LINES = """
    SELECT sc.barcode, c.title, c.author, c.classification, c.campus, c.shelf, c.price::text,
           sc.misplaced, sc.loan_id
    FROM stocktake_copies sc JOIN copies c ON c.barcode = sc.barcode
    WHERE sc.stocktake_id = %s AND {where}
    ORDER BY c.classification, sc.barcode
"""
LISTS = {
    "missing": "sc.outcome = 'missing'",
    "misplaced": "sc.misplaced IS NOT NULL",
    "found_on_loan": "sc.loan_id IS NOT NULL",
}
# Each copy of a campus still on the shelf in the books, with its outcomes in the closed
# stock-takes that covered it, newest first (the last two are enough).
LAST_OUTCOMES = f"""
    SELECT barcode, outcomes[1:2], ids[1:2], title, author, classification, shelf, price
    FROM (
        SELECT sc.barcode, array_agg(sc.outcome ORDER BY s.closed_position DESC) AS outcomes,
               array_agg(s.stocktake_id ORDER BY s.closed_position DESC) AS ids,
               min(c.title) AS title, min(c.author) AS author,
               min(c.classification) AS classification, min(c.shelf) AS shelf,
               min(c.price)::text AS price
        FROM stocktake_copies sc
        JOIN stocktakes s ON s.stocktake_id = sc.stocktake_id AND s.status = 'closed'
        JOIN copies c ON c.barcode = sc.barcode
        LEFT JOIN copies_on_loan l ON l.barcode = c.barcode
        WHERE c.campus = %s AND ({queries.STATUS}) = 'on_shelf'
          AND sc.barcode IN (SELECT barcode FROM stocktake_copies WHERE outcome = 'missing')
        GROUP BY sc.barcode
    ) last
    ORDER BY classification, barcode
"""


class Stocktakes(Projection):
    """Every stock-take, the copies it counted and, once closed, those it found missing."""

    name = "stocktakes"
    sources = ("catalog",)
    tables = ("stocktakes", "stocktake_copies")
    writes_only = True

    def apply(self, cursor: Cursor, event: Envelope) -> None:
        data = event.data
        match event.type:
            case "StocktakeOpened":
                by = event.actor.get("username") if event.actor else None
                cursor.execute(OPENED, {**data, "opened_by": by})
            case "CopyCounted":
                cursor.execute(COUNT, {**data, "counted_at": event.occurred_at})
            case "StocktakeClosed":
                figures = {f"{name}_count": len(data[name]) for name in LISTS}
                cursor.execute(CLOSED, {**data, **figures, "position": event.position})
                cursor.execute(MISSED, data)


def copies_in_books(cursor: Cursor, barcodes: Sequence[str]) -> dict[str, CopyInBooks]:
    """What the books say about each of ``barcodes`` that names a copy."""
    cursor.execute(IN_BOOKS, (list(barcodes),))
    return {row[0]: CopyInBooks(*row) for row in cursor.fetchall()}


def counted_among(cursor: Cursor, stocktake_id: str, barcodes: Sequence[str]) -> set[str]:
    """Which of ``barcodes`` the stock-take has counted already."""
    cursor.execute(COUNTED_AMONG, (stocktake_id, list(barcodes)))
    return {barcode for (barcode,) in cursor.fetchall()}


def counted(cursor: Cursor, stocktake_id: str) -> tuple[Finding, ...]:
    """Every copy the stock-take counted, with where it was misplaced and its loan."""
    cursor.execute(ALL_COUNTED, (stocktake_id,))
    return tuple(
        Finding(barcode, COUNTED, misplaced=misplaced, loan_id=loan_id)
        for barcode, misplaced, loan_id in cursor.fetchall()
    )


def on_shelf(cursor: Cursor, campus: str) -> tuple[tuple[str, str], ...]:
    """(barcode, classification) of every copy on the shelf in the books at ``campus``."""
    cursor.execute(ON_SHELF, (campus,))
    return tuple((barcode, classification) for barcode, classification in cursor.fetchall())


def stocktake(cursor: Cursor, stocktake_id: str) -> dict[str, Any] | None:
    """One stock-take's figures (a running count while open), or None."""
    cursor.execute(SELECT_STOCKTAKES + " WHERE s.stocktake_id = %s", (stocktake_id,))
    row = cursor.fetchone()
    if row is None:
        return None
    found = dict(zip(STOCKTAKE_FIELDS, row, strict=True))
    found["classes"] = list(found["classes"])
    cursor.execute(LAST_COUNTED, (stocktake_id,))
    last = cursor.fetchone()
    found["last_counted"] = last[0] if last else None
    return found


def report(cursor: Cursor, stocktake_id: str) -> dict[str, Any] | None:
    """A stock-take with its three lists (missing is empty until it is closed)."""
    found = stocktake(cursor, stocktake_id)
    if found is None:
        return None
    for name, where in LISTS.items():
        cursor.execute(LINES.format(where=where), (stocktake_id,))
        found[f"{name}_copies"] = [
            dict(zip(LINE_FIELDS, row, strict=True)) for row in cursor.fetchall()
        ]
    return found


def stocktakes(cursor: Cursor, campus: str | None, limit: int) -> list[dict[str, Any]]:
    """The latest stock-takes, newest first (at a campus when given)."""
    where = " WHERE s.campus = %(campus)s" if campus else ""
    order = " ORDER BY s.opened_on DESC, s.stocktake_id DESC LIMIT %(limit)s"
    cursor.execute(SELECT_STOCKTAKES + where + order, {"campus": campus, "limit": limit})
    rows = [dict(zip(STOCKTAKE_FIELDS, row, strict=True)) for row in cursor.fetchall()]
    return [{**row, "classes": list(row["classes"])} for row in rows]


def twice_missing(cursor: Cursor, campus: str) -> list[dict[str, Any]]:
    """The copies of ``campus`` still on the shelf in the books that the last two closed
    stock-takes covering them both found missing (``stocktake.missing_twice``), with the
    ids of those two (``stocktakes``, newest first)."""
    cursor.execute(LAST_OUTCOMES, (campus,))
    found = []
    for barcode, outcomes, ids, title, author, classification, shelf, price in cursor:
        if missing_twice(outcomes):
            found.append(
                {
                    "barcode": barcode,
                    "title": title,
                    "author": author,
                    "classification": classification,
                    "shelf": shelf,
                    "price": price,
                    "stocktakes": list(ids),
                }
            )
    return found
