"""Reading the catalogue: one copy, or a page of the copies a librarian searched for.

Every answer about a copy (a command's result, ``get_copy``, a search hit) has
the same shape, built here from the read models alone. A copy's status is the
first of: weeded; on_loan (circulation has it out; a weeded copy stays weeded
whatever loan news comes late); damaged; in_transit (returned at the other
campus, on its way home); on_shelf. ``transit`` says where a copy away from
home is and where it is going (``null`` when it is home), whatever its status.
"""

from __future__ import annotations

from typing import Any

from shared.events.fields import normalise_isbn
from shared.eventsourcing.projection import Cursor

STATUS = """
    CASE WHEN c.status = 'weeded' THEN 'weeded'
         WHEN l.barcode IS NOT NULL THEN 'on_loan'
         WHEN c.status = 'on_shelf' AND c.transit_from IS NOT NULL THEN 'in_transit'
         ELSE c.status END
"""
FIELDS = (
    "barcode",
    "isbn",
    "title",
    "author",
    "classification",
    "campus",
    "shelf",
    "price",
    "acquisition",
    "reference_only",
    "status",
    "weed_reason",
    "due_on",
    "transit_from",
    "transit_since",
)
SELECT_COPIES = f"""
    SELECT c.barcode, c.isbn, c.title, c.author, c.classification, c.campus, c.shelf,
           c.price::text, c.acquisition, c.reference_only, {STATUS} AS status, c.weed_reason,
           to_char(l.due_on, 'YYYY-MM-DD'), c.transit_from, to_char(c.transit_since, 'YYYY-MM-DD')
    FROM copies c LEFT JOIN copies_on_loan l ON l.barcode = c.barcode
"""
SELECT_COPY = SELECT_COPIES + " WHERE c.barcode = %(barcode)s"
IS_ON_LOAN = "SELECT 1 FROM copies_on_loan WHERE barcode = %s"
COUNT_COPIES = "SELECT count(*) FROM copies c LEFT JOIN copies_on_loan l ON l.barcode = c.barcode"
# Shelf order: by classification, then barcode, so paging is stable.
ORDER_AND_PAGE = " ORDER BY c.classification, c.barcode LIMIT %(limit)s OFFSET %(offset)s"

FILTERS = {
    "q": "(lower(c.title) LIKE lower(%(q_like)s) OR lower(c.author) LIKE lower(%(q_like)s)"
    " OR c.isbn_key = %(q_isbn)s)",
    "isbn": "c.isbn_key = %(isbn_key)s",
    "classification": "c.classification LIKE %(classification_prefix)s",
    "campus": "c.campus = %(campus)s",
    "status": f"({STATUS}) = %(status)s",
}


def find_copy(cursor: Cursor, barcode: str) -> dict[str, Any] | None:
    """One copy as a dict, or None when no copy has that barcode."""
    cursor.execute(SELECT_COPY, {"barcode": barcode})
    row = cursor.fetchone()
    return None if row is None else _copy(row)


def _copy(row: tuple[Any, ...]) -> dict[str, Any]:
    """A copy as the API shows it; ``transit`` is ``{from_campus, to_campus, since}`` or null."""
    copy = dict(zip(FIELDS, row, strict=True))
    transit_from, since = copy.pop("transit_from"), copy.pop("transit_since")
    copy["transit"] = (
        None
        if transit_from is None or copy["status"] == "weeded"
        else {"from_campus": transit_from, "to_campus": copy["campus"], "since": since}
    )
    return copy


def is_on_loan(cursor: Cursor, barcode: str) -> bool:
    cursor.execute(IS_ON_LOAN, (barcode,))
    return cursor.fetchone() is not None


def search(cursor: Cursor, query: dict[str, Any]) -> dict[str, Any]:
    """``{"total": N, "items": [...]}``: the copies matching every filter given, a page of them.

    ``q`` matches a title or author by case-insensitive substring, or an ISBN
    exactly (hyphens ignored); ``classification`` matches a code by prefix.
    """
    params = {
        **query,
        "q_like": f"%{_escape_like(query['q'])}%" if query.get("q") else None,
        "q_isbn": normalise_isbn(query["q"]) if query.get("q") else None,
        "isbn_key": normalise_isbn(query["isbn"]) if query.get("isbn") else None,
        "classification_prefix": (
            f"{_escape_like(query['classification'])}%" if query.get("classification") else None
        ),
    }
    chosen = [sql for name, sql in FILTERS.items() if query.get(name) is not None]
    where = f" WHERE {' AND '.join(chosen)}" if chosen else ""
    cursor.execute(COUNT_COPIES + where, params)
    total = cursor.fetchone()[0]
    cursor.execute(SELECT_COPIES + where + ORDER_AND_PAGE, params)
    items = [_copy(row) for row in cursor.fetchall()]
    return {"total": total, "items": items}


def _escape_like(text: str) -> str:
    """``text`` matched literally by LIKE (whose default escape character is backslash)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
