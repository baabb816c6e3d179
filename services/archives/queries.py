"""Reading the books of record: ledgers, registers, the term report, the timeline."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from shared.eventsourcing.projection import Cursor

Table = dict[str, Any]  # {"columns": [...], "rows": [[...], ...]}

FAR_PAST, FAR_FUTURE = date(1900, 1, 1), date(9999, 12, 31)

COPY_STATE = """
    SELECT {group},
           count(*) FILTER (WHERE weeded_on IS NULL),
           coalesce(sum(price) FILTER (WHERE weeded_on IS NULL), 0),
           count(*) FILTER (WHERE weeded_on IS NULL AND on_loan),
           count(*) FILTER (WHERE weeded_on IS NULL AND in_repair),
           count(*) FILTER (WHERE lost),
           count(*) FILTER (WHERE weeded_on IS NULL AND in_transit)
    FROM ledger_copies
    WHERE added_on IS NOT NULL AND (%(campus)s IS NULL OR campus = %(campus)s)
    GROUP BY {group}
"""
MOVEMENTS = """
    SELECT {group}, entry, sum(copies), sum(value)
    FROM ledger_entries
    WHERE entry_on BETWEEN %(since)s AND %(until)s
      AND (%(campus)s IS NULL OR campus = %(campus)s)
    GROUP BY {group}, entry
"""
LEDGER_COLUMNS = (
    "held",
    "held_value",
    "on_loan",
    "in_repair",
    "lost",
    "added",
    "added_value",
    "weeded",
    "weeded_value",
    "transferred_in",
    "transferred_out",
    "in_transit",
)
WRITE_OFFS = """
    SELECT weeded_on, barcode, title, classification, campus, weed_reason, price
    FROM ledger_copies
    WHERE weeded_on BETWEEN %(since)s AND %(until)s
      AND (%(campus)s IS NULL OR campus = %(campus)s)
    ORDER BY weeded_on, barcode
"""
REGISTERS: dict[str, tuple[tuple[str, ...], str]] = {
    "staff_loans": (
        (
            "lent_on",
            "loan_id",
            "teacher",
            "barcode",
            "title",
            "campus",
            "due_on",
            "returned_on",
            "status",
        ),
        """
        SELECT l.lent_on, l.loan_id, p.name, l.barcode, l.title, l.campus, l.due_on,
               l.returned_on, l.status
        FROM archive_loans l JOIN archive_patrons p USING (patron_id)
        WHERE l.patron_kind = 'teacher' AND l.lent_on BETWEEN %(since)s AND %(until)s
          AND (%(campus)s IS NULL OR l.campus = %(campus)s)
        ORDER BY l.lent_on, l.loan_id
        """,
    ),
    "purchases": (
        ("purchased_on", "isbn", "title", "author", "campus", "copies", "unit_price", "total"),
        """
        SELECT purchased_on, isbn, title, author, campus, copies, unit_price,
               copies * unit_price
        FROM register_purchases
        WHERE purchased_on BETWEEN %(since)s AND %(until)s
          AND (%(campus)s IS NULL OR campus = %(campus)s)
        ORDER BY purchased_on, isbn, campus, unit_price
        """,
    ),
    # A repair's campus is where the copy was damaged (CatalogRegisters); the copy's
    # campus now stands in only for a damage recorded without one.
    "repairs": (
        (
            "damaged_on",
            "barcode",
            "title",
            "campus",
            "note",
            "loan_id",
            "repaired_on",
            "repair_note",
        ),
        """
        SELECT r.damaged_on, r.barcode, c.title, coalesce(r.campus, c.campus), r.note,
               r.loan_id, r.repaired_on, r.repair_note
        FROM register_repairs r LEFT JOIN ledger_copies c USING (barcode)
        WHERE r.damaged_on BETWEEN %(since)s AND %(until)s
          AND (%(campus)s IS NULL OR coalesce(r.campus, c.campus) = %(campus)s)
        ORDER BY r.damaged_on, r.barcode, r.damage_id
        """,
    ),
    "writeoffs": (
        ("weeded_on", "barcode", "title", "classification", "campus", "reason", "value"),
        WRITE_OFFS,
    ),
    "teacher_reservations": (
        ("reserved_on", "reservation_id", "teacher", "isbn", "campus", "status", "loan_id"),
        """
        SELECT r.reserved_on, r.reservation_id, p.name, r.isbn, r.campus, r.status, r.loan_id
        FROM archive_reservations r JOIN archive_patrons p USING (patron_id)
        WHERE p.kind = 'teacher' AND r.reserved_on BETWEEN %(since)s AND %(until)s
          AND (%(campus)s IS NULL OR r.campus = %(campus)s)
        ORDER BY r.reserved_on, r.reservation_id
        """,
    ),
}
TIMELINE = """
    SELECT envelope FROM archived_events
    WHERE (recorded_at, source, position) > (%s, %s, %s)
    ORDER BY recorded_at, source, position LIMIT %s
"""


def period(since: date | None, until: date | None, campus: str | None) -> dict[str, Any]:
    return {"since": since or FAR_PAST, "until": until or FAR_FUTURE, "campus": campus}


def plain(value: Any) -> Any:
    """JSON-ready: dates as ISO strings, money as strings with two places."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return value


def ledger(cursor: Cursor, group: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Copies held, moved and their states, grouped by ``campus`` or ``class_letter``."""
    assert group in ("campus", "class_letter")
    lines: dict[str, dict[str, Any]] = {}

    def line(key: str) -> dict[str, Any]:
        blank = {column: 0 for column in LEDGER_COLUMNS}
        blank.update(held_value=Decimal(0), added_value=Decimal(0), weeded_value=Decimal(0))
        return lines.setdefault(key, {group: key, **blank})

    cursor.execute(COPY_STATE.format(group=group), params)
    for key, held, value, on_loan, in_repair, lost, in_transit in cursor.fetchall():
        line(key).update(
            held=held,
            held_value=value,
            on_loan=on_loan,
            in_repair=in_repair,
            lost=lost,
            in_transit=in_transit,
        )
    cursor.execute(MOVEMENTS.format(group=group), params)
    for key, entry, copies, value in cursor.fetchall():
        target = line(key)
        if entry in ("added", "weeded"):
            target[entry] = abs(copies)
            target[f"{entry}_value"] = value
        else:
            target[entry] = abs(copies)
    rows = [lines[key] for key in sorted(lines)]
    total = {group: "all"}
    for column in LEDGER_COLUMNS:
        total[column] = sum((row[column] for row in rows), Decimal(0) if "value" in column else 0)
    return [{k: plain(v) for k, v in row.items()} for row in [*rows, total]]


def write_offs(cursor: Cursor, params: dict[str, Any]) -> dict[str, Any]:
    """Every weeded copy with reason and value, and totals by reason."""
    table = register(cursor, "writeoffs", params)
    by_reason: dict[str, dict[str, Any]] = {}
    for row in table["rows"]:
        reason = by_reason.setdefault(row[5], {"copies": 0, "value": Decimal(0)})
        reason["copies"] += 1
        reason["value"] += Decimal(row[6] or 0)
    totals = {k: {"copies": v["copies"], "value": plain(v["value"])} for k, v in by_reason.items()}
    return {**table, "by_reason": totals}


def register(cursor: Cursor, name: str, params: dict[str, Any]) -> Table:
    columns, sql = REGISTERS[name]
    cursor.execute(sql, params)
    return {"columns": list(columns), "rows": [[plain(v) for v in row] for row in cursor]}


def to_csv(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A table as CSV text (with a header), values written as plain text."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    writer.writerows([[plain(value) for value in row] for row in rows])
    return out.getvalue()


def timeline(cursor: Cursor, after: tuple[str, str, int], limit: int) -> list[dict[str, Any]]:
    """Events of every source in the order they were recorded (then by source and position)."""
    cursor.execute(TIMELINE, (*after, limit))
    return [row[0] for row in cursor.fetchall()]


SELECT_ARCHIVED = """
    SELECT envelope FROM archived_events WHERE source = %s AND position > %s
    ORDER BY position LIMIT %s
"""
SELECT_REPORT = "SELECT report FROM term_reports WHERE term = %s"


def archived(cursor: Cursor, source: str, after: int, limit: int) -> list[dict[str, Any]]:
    """The archived replay feed of one source after a position, in position order."""
    cursor.execute(SELECT_ARCHIVED, (source, after, limit))
    return [row[0] for row in cursor.fetchall()]


def frozen_report(cursor: Cursor, term: str) -> dict[str, Any] | None:
    """A closed term's report as it was frozen by ``TermClosed``; None while it is open."""
    cursor.execute(SELECT_REPORT, (term,))
    row = cursor.fetchone()
    return row[0] if row else None
