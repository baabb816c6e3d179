"""Reading the catalogue: one copy, or a page of the copies a librarian searched for,
and the titles they are copies of.

Every answer about a copy (a command's result, ``get_copy``, a search hit) has
the same shape, built here from the read models alone. A copy's status is the
first of: weeded; on_loan (circulation has it out; a weeded copy stays weeded
whatever loan news comes late); damaged; in_transit (returned at the other
campus, on its way home); on_shelf. ``transit`` says where a copy away from
home is and where it is going (``null`` when it is home), whatever its status.
"""

from __future__ import annotations

from typing import Any

from services.catalog.pinyin import pinyin_query
from shared.events.fields import CLASSIFICATION_PATTERN, normalise_isbn
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

# A title is its ISBN (however it was written): one line per title, in shelf order.
SELECT_TITLES = """
    SELECT min(c.isbn), min(c.title), min(c.author), min(c.classification)
    FROM copies c LEFT JOIN copies_on_loan l ON l.barcode = c.barcode
"""
TITLE_FIELDS = ("isbn", "title", "author", "classification")
COUNT_TITLES = (
    "SELECT count(DISTINCT c.isbn_key) FROM copies c"
    " LEFT JOIN copies_on_loan l ON l.barcode = c.barcode"
)
TITLES_IN_ORDER = """
    GROUP BY c.isbn_key ORDER BY min(c.classification), min(c.title), c.isbn_key
    LIMIT %(limit)s OFFSET %(offset)s
"""
# A title's line counts the copies still held, unless weeded ones were asked for.
HELD = "c.status <> 'weeded'"

FILTERS = {
    # Part of a title or author, an ISBN, a classification code's start, or pinyin as
    # typed (full or initials, of a title or author; NULL keys: not indexed yet).
    "q": "(lower(c.title) LIKE lower(%(q_like)s) OR lower(c.author) LIKE lower(%(q_like)s)"
    " OR c.isbn_key = %(q_isbn)s OR c.classification LIKE %(q_classification)s"
    " OR c.title_pinyin LIKE %(q_pinyin)s OR c.title_initials LIKE %(q_pinyin)s"
    " OR c.author_pinyin LIKE %(q_pinyin)s OR c.author_initials LIKE %(q_pinyin)s)",
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
    """The copies matching every filter given, a page of them, and their titles.

    ``{"total": N, "items": [copy, ...], "titles_total": T, "titles": [title, ...]}``:
    ``items`` a page of the copies in shelf order, ``titles`` a page (the same
    ``limit`` and ``offset``) of the titles those copies are of, one line per
    ISBN (``isbn``, ``title``, ``author``, ``classification``), its copies still
    held (weeded ones only when ``status`` asks for them).

    ``q`` matches a title or author by case-insensitive substring, an ISBN exactly
    (hyphens ignored), a classification code by prefix (``I24`` finds I247.5),
    and, when it is pinyin as typed (``pinyin.pinyin_query``: ``hongloumeng``,
    ``hong lou meng``, ``hlm``), the pinyin or initials of a title or author by
    substring; ``classification`` matches a code by prefix.
    """
    text = query.get("q")
    typed = pinyin_query(text) if text else None
    code = text.strip().upper() if text else None
    params = {
        **query,
        "q_like": f"%{_escape_like(text)}%" if text else None,
        "q_isbn": normalise_isbn(text) if text else None,
        "q_classification": (
            f"{_escape_like(code)}%" if code and CLASSIFICATION_PATTERN.fullmatch(code) else None
        ),
        "q_pinyin": f"%{_escape_like(typed)}%" if typed else None,
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
    held = chosen if query.get("status") is not None else [*chosen, HELD]
    where = f" WHERE {' AND '.join(held)}"
    cursor.execute(COUNT_TITLES + where, params)
    titles_total = cursor.fetchone()[0]
    cursor.execute(SELECT_TITLES + where + TITLES_IN_ORDER, params)
    titles = [dict(zip(TITLE_FIELDS, row, strict=True)) for row in cursor.fetchall()]
    return {"total": total, "items": items, "titles_total": titles_total, "titles": titles}


def _escape_like(text: str) -> str:
    """``text`` matched literally by LIKE (whose default escape character is backslash)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# The MARC export: one record per title and campus (its copies still held), in a stable
# order to page through by (campus, isbn_key): a keyset, not an offset.
MARC_TITLES = """
    SELECT c.campus, c.isbn_key, min(c.isbn), min(c.title), min(c.author),
           min(c.classification), max(c.price)::text, max(c.publisher), min(c.shelf),
           array_agg(c.barcode ORDER BY c.barcode)
    FROM copies c
    WHERE c.status <> 'weeded'
      AND (%(campus)s::text IS NULL OR c.campus = %(campus)s)
      AND (c.campus, c.isbn_key) > (%(after_campus)s, %(after_isbn)s)
    GROUP BY c.campus, c.isbn_key
    ORDER BY c.campus, c.isbn_key
    LIMIT %(limit)s
"""
MARC_FIELDS = ("isbn", "title", "author", "classification", "price", "publisher", "shelf")
# Where a page ends: "<campus>/<isbn_key>" (the key is digits and X, the campus a word).
PAGE_MARK = "/"


def marc_titles(
    cursor: Cursor, campus: str | None, after: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the titles held, per campus, with their copies' barcodes (for the MARC
    export), and the mark to ask for the next page with (None after the last)."""
    after_campus, _, after_isbn = (after or "").partition(PAGE_MARK)
    cursor.execute(
        MARC_TITLES,
        {
            "campus": campus,
            "after_campus": after_campus,
            "after_isbn": after_isbn,
            "limit": limit,
        },
    )
    rows = cursor.fetchall()
    titles = [
        {"campus": row[0], **dict(zip(MARC_FIELDS, row[2:9], strict=True)), "barcodes": row[9]}
        for row in rows
    ]
    following = f"{rows[-1][0]}{PAGE_MARK}{rows[-1][1]}" if len(rows) == limit else None
    return titles, following
