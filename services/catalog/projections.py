"""The catalog's read models: the searchable copies, and which of them are out on loan.

``CopyIndex`` follows the catalog's own events *inline* (in the transaction that
records them), so a copy can be found the moment it was added, by its title's and
author's pinyin too (``pinyin``: the keys are computed as the copy is indexed, so a
rebuild computes them again). ``CopiesOnLoan``
follows circulation's events through the catalog's subscriber queue: lending is
circulation's business, but the catalog needs to know it to refuse moving or
weeding a copy a pupil has at home. Both are built from events alone, so either
can be emptied and replayed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from psycopg2.extras import execute_values

from services.catalog.pinyin import title_keys
from shared.events.envelope import Envelope
from shared.events.fields import normalise_isbn
from shared.eventsourcing.projection import Cursor, Projection
from shared.eventsourcing.projection_rows import BornInBulk
from shared.runtime.school_calendar import DEFAULT_TIMEZONE, local_date
from shared.storage.batched import writes

ADD_COPIES = (
    """
    INSERT INTO copies (barcode, isbn, isbn_key, title, author, classification, campus, shelf,
                        price, acquisition, reference_only, status, title_pinyin, title_initials,
                        author_pinyin, author_initials, publisher)
    VALUES %s ON CONFLICT (barcode) DO NOTHING
    """,
    """(%(barcode)s, %(isbn)s, %(isbn_key)s, %(title)s, %(author)s, %(classification)s,
        %(campus)s, %(shelf)s, %(price)s, %(acquisition)s, %(reference_only)s, 'on_shelf',
        %(title_pinyin)s, %(title_initials)s, %(author_pinyin)s, %(author_initials)s,
        %(publisher)s)""",
)
SET_STATUS = "UPDATE copies SET status = %s WHERE barcode = %s"
WEED = """
    UPDATE copies SET status = 'weeded', weed_reason = %s, transit_from = NULL,
        transit_since = NULL
    WHERE barcode = %s
"""
MOVE = """
    UPDATE copies SET campus = %s, shelf = %s, transit_from = NULL, transit_since = NULL
    WHERE barcode = %s
"""
START_TRANSIT = """
    UPDATE copies SET transit_from = %(from_campus)s, transit_since = %(since)s
    WHERE barcode = %(barcode)s
"""
END_TRANSIT = """
    UPDATE copies SET transit_from = NULL, transit_since = NULL WHERE barcode = %(barcode)s
"""
SET_REFERENCE = "UPDATE copies SET reference_only = %s WHERE barcode = %s"
# Copies indexed before the pinyin columns existed (infra/migrations/catalog/005_pinyin.sql).
WITHOUT_PINYIN = """
    SELECT barcode, title, author FROM copies WHERE title_pinyin IS NULL
    ORDER BY barcode LIMIT %s FOR UPDATE SKIP LOCKED
"""
SET_PINYIN = """
    UPDATE copies c SET title_pinyin = k.title_pinyin, title_initials = k.title_initials,
        author_pinyin = k.author_pinyin, author_initials = k.author_initials
    FROM (VALUES %s) AS k (barcode, title_pinyin, title_initials, author_pinyin, author_initials)
    WHERE c.barcode = k.barcode
"""
PINYIN_BATCH = 500

LEND = """
    INSERT INTO copies_on_loan (barcode, loan_id, patron_id, lent_on, due_on)
    VALUES (%(barcode)s, %(loan_id)s, %(patron_id)s, %(lent_on)s, %(due_on)s)
    ON CONFLICT (barcode) DO UPDATE SET loan_id = EXCLUDED.loan_id,
        patron_id = EXCLUDED.patron_id, lent_on = EXCLUDED.lent_on, due_on = EXCLUDED.due_on
"""
RENEW = "UPDATE copies_on_loan SET due_on = %(due_on)s WHERE loan_id = %(loan_id)s"
END_LOAN = "DELETE FROM copies_on_loan WHERE barcode = %(barcode)s AND loan_id = %(loan_id)s"


class CopyIndex(BornInBulk):
    """Every copy ever catalogued, with where it is and what state it is in."""

    name = "copy_index"
    sources = ("catalog",)
    tables = ("copies",)

    born_of, insert = "BookAdded", ADD_COPIES
    timezone = DEFAULT_TIMEZONE

    def configure(self, config: Mapping[str, Any]) -> None:
        """The school's timezone: a transit started by a transfer is dated by its calendar."""
        self.timezone = (config.get("SCHOOL") or {}).get("timezone") or DEFAULT_TIMEZONE

    def row_of(self, event: Envelope) -> dict[str, Any]:
        data = event.data
        return {
            **data,
            "isbn_key": normalise_isbn(data["isbn"]),
            "publisher": data.get("publisher") or "",  # optional (docs/marc.md)
            **title_keys(data["title"], data["author"]),
        }

    def apply_one(self, cursor: Cursor, event: Envelope) -> None:
        data = event.data
        match event.type:
            case "CopyDamaged":
                cursor.execute(SET_STATUS, ("damaged", data["barcode"]))
            case "Repaired":
                cursor.execute(SET_STATUS, ("on_shelf", data["barcode"]))
            case "Weeded":
                cursor.execute(WEED, (data["reason"], data["barcode"]))
            case "Transferred":
                cursor.execute(MOVE, (data["to_campus"], data["shelf"], data["barcode"]))
            case "ReferenceStatusChanged":
                cursor.execute(SET_REFERENCE, (data["reference_only"], data["barcode"]))
            case "TransitStarted":
                # Since the return that started it, or the day it was sent (a transfer).
                since = data.get("returned_on") or local_date(event.occurred_at, self.timezone)
                cursor.execute(START_TRANSIT, {**data, "since": since})
            case "ArrivedHome":
                cursor.execute(END_TRANSIT, data)


def fill_pinyin(cursor: Cursor, batch: int = PINYIN_BATCH) -> int:
    """Give up to ``batch`` copies indexed without pinyin keys theirs; how many it gave.

    Copies catalogued before the keys existed have none until this (or a rebuild)
    runs; copies indexed since get theirs from ``CopyIndex.row_of``. Several
    instances may run it at once: each takes rows the others have not locked.
    """
    cursor.execute(WITHOUT_PINYIN, (batch,))
    rows = cursor.fetchall()
    keys: dict[tuple[str, str], dict[str, str]] = {}  # a title's copies share their keys
    values = []
    for barcode, title, author in rows:
        if (title, author) not in keys:
            keys[title, author] = title_keys(title, author)
        values.append((barcode, *keys[title, author].values()))
    if values:
        execute_values(cursor, SET_PINYIN, values, page_size=batch)
    return len(values)


class CopiesOnLoan(Projection):
    """The copies circulation has lent and not yet seen back (or written off as lost)."""

    name = "copies_on_loan"
    sources = ("circulation",)
    tables = ("copies_on_loan",)

    def apply(self, cursor: Cursor, event: Envelope) -> None:
        match event.type:
            case "Lent":
                writes(cursor).execute(LEND, event.data)
            case "Renewed":
                writes(cursor).execute(RENEW, event.data)
            case "Returned" | "DeclaredLost":
                # Only the loan that ends: an older loan's late news never frees a newer one.
                writes(cursor).execute(END_LOAN, event.data)
