"""The books of record, built from every service's events.

* ``EventArchive``: every event verbatim, once, ordered per source.
* ``CopyLedger``: each copy's fate and the dated movements of the collection,
  from which the general, classification and write-off ledgers are summed.
* ``LoanRecords``: cards, loans and reservations, for the staff-loans and
  teacher-reservations registers and the term report.
* ``CatalogRegisters``: the purchases and repairs registers.
* ``TermReports``: the reports frozen by closing a term.

Catalog's facts and circulation's facts about a copy live in separate columns
and rows are upserted, so the two sources may be applied in any interleaving
(live) or one after the other (rebuild) with the same result.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from psycopg2.extras import execute_values

from shared.calendar import DEFAULT_TIMEZONE, local_date
from shared.consumer import Cursor, Projection
from shared.envelope import Envelope

SOURCES = ("catalog", "circulation", "activities", "archives")

ARCHIVE = """
    INSERT INTO archived_events (source, position, event_id, type, recorded_at, envelope)
    VALUES %s ON CONFLICT DO NOTHING
"""


class EventArchive(Projection):
    """Keeps each source's events in order, for replay and for new subscribers."""

    name = "event_archive"
    sources = SOURCES
    tables = ("archived_events",)

    def apply(self, cursor: Cursor, event: Envelope) -> None:
        self.apply_many(cursor, [event])

    def apply_many(self, cursor: Cursor, events: Sequence[Envelope]) -> None:
        rows = [
            (e.source, e.position, e.event_id, e.type, e.recorded_at, json.dumps(e.to_dict()))
            for e in events
        ]
        execute_values(cursor, ARCHIVE, rows, page_size=1000)


class _Dated(Projection):
    """A projection that dates catalog events by the school's calendar."""

    timezone = DEFAULT_TIMEZONE

    def configure(self, config: Mapping[str, Any]) -> None:
        self.timezone = (config.get("SCHOOL") or {}).get("timezone") or DEFAULT_TIMEZONE

    def day(self, event: Envelope) -> str:
        return local_date(event.occurred_at, self.timezone).isoformat()


ADD_COPY = """
    INSERT INTO ledger_copies (barcode, isbn, title, classification, class_letter, campus, price,
                               acquisition, added_on)
    VALUES (%(barcode)s, %(isbn)s, %(title)s, %(classification)s, %(class_letter)s, %(campus)s,
            %(price)s, %(acquisition)s, %(day)s)
    ON CONFLICT (barcode) DO UPDATE SET isbn = EXCLUDED.isbn, title = EXCLUDED.title,
        classification = EXCLUDED.classification, class_letter = EXCLUDED.class_letter,
        campus = EXCLUDED.campus, price = EXCLUDED.price, acquisition = EXCLUDED.acquisition,
        added_on = EXCLUDED.added_on
"""
COPY_FLAG = """
    INSERT INTO ledger_copies (barcode, {column}) VALUES (%s, %s)
    ON CONFLICT (barcode) DO UPDATE SET {column} = EXCLUDED.{column}
"""
WEED_COPY = """
    INSERT INTO ledger_copies (barcode, weeded_on, weed_reason) VALUES (%s, %s, %s)
    ON CONFLICT (barcode) DO UPDATE SET weeded_on = EXCLUDED.weeded_on,
        weed_reason = EXCLUDED.weed_reason, in_repair = false
"""
MOVE_COPY = "UPDATE ledger_copies SET campus = %s WHERE barcode = %s"
LOSE_COPY = """
    INSERT INTO ledger_copies (barcode, lost, on_loan) VALUES (%s, true, false)
    ON CONFLICT (barcode) DO UPDATE SET lost = true, on_loan = false
"""
ENTRY = """
    INSERT INTO ledger_entries (source, position, campus, entry_on, entry, class_letter, copies,
                                value)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING
"""
COPY_VALUE = "SELECT price FROM ledger_copies WHERE barcode = %s"


class CopyLedger(_Dated):
    """Each copy's fate, and the dated additions, write-offs and transfers."""

    name = "copy_ledger"
    sources = ("catalog", "circulation")
    tables = ("ledger_copies", "ledger_entries")

    def apply(self, cursor: Cursor, event: Envelope) -> None:
        data = event.data
        match (event.source, event.type):
            case ("catalog", "BookAdded"):
                letter = data["classification"][0]
                day = self.day(event)
                cursor.execute(ADD_COPY, {**data, "class_letter": letter, "day": day})
                self._entry(cursor, event, data["campus"], "added", letter, 1, data["price"])
            case ("catalog", "Weeded"):
                cursor.execute(WEED_COPY, (data["barcode"], self.day(event), data["reason"]))
                campus = self._campus(cursor, data["barcode"])
                letter = data["classification"][0]
                self._entry(cursor, event, campus, "weeded", letter, -1, data["value"])
            case ("catalog", "Transferred"):
                cursor.execute(MOVE_COPY, (data["to_campus"], data["barcode"]))
                letter, value = self._letter_and_value(cursor, data["barcode"])
                self._entry(
                    cursor, event, data["from_campus"], "transferred_out", letter, -1, value
                )
                self._entry(cursor, event, data["to_campus"], "transferred_in", letter, 1, value)
            case ("catalog", "CopyDamaged"):
                cursor.execute(COPY_FLAG.format(column="in_repair"), (data["barcode"], True))
            case ("catalog", "Repaired"):
                cursor.execute(COPY_FLAG.format(column="in_repair"), (data["barcode"], False))
            case ("circulation", "Lent"):
                cursor.execute(COPY_FLAG.format(column="on_loan"), (data["barcode"], True))
            case ("circulation", "Returned"):
                cursor.execute(COPY_FLAG.format(column="on_loan"), (data["barcode"], False))
            case ("circulation", "DeclaredLost"):
                cursor.execute(LOSE_COPY, (data["barcode"],))

    def _entry(
        self,
        cursor: Cursor,
        event: Envelope,
        campus: str | None,
        entry: str,
        letter: str,
        copies: int,
        value: Any,
    ) -> None:
        cursor.execute(
            ENTRY,
            (
                event.source,
                event.position,
                campus or "unknown",
                self.day(event),
                entry,
                letter,
                copies,
                value or 0,
            ),
        )

    def _campus(self, cursor: Cursor, barcode: str) -> str | None:
        cursor.execute("SELECT campus FROM ledger_copies WHERE barcode = %s", (barcode,))
        row = cursor.fetchone()
        return row[0] if row else None

    def _letter_and_value(self, cursor: Cursor, barcode: str) -> tuple[str, Any]:
        cursor.execute(
            "SELECT class_letter, price FROM ledger_copies WHERE barcode = %s", (barcode,)
        )
        row = cursor.fetchone()
        return (row[0] or "?", row[1] or 0) if row else ("?", 0)


ADD_PATRON = """
    INSERT INTO archive_patrons (patron_id, name, kind, class_name, campus)
    VALUES (%(patron_id)s, %(name)s, %(kind)s, %(class_name)s, %(campus)s)
    ON CONFLICT (patron_id) DO NOTHING
"""
ADD_LOAN = """
    INSERT INTO archive_loans (loan_id, patron_id, patron_kind, class_name, campus, barcode, isbn,
                               title, lent_on, due_on)
    VALUES (%(loan_id)s, %(patron_id)s, %(patron_kind)s, %(class_name)s, %(campus)s, %(barcode)s,
            %(isbn)s, %(title)s, %(lent_on)s, %(due_on)s)
    ON CONFLICT (loan_id) DO NOTHING
"""
RENEW_LOAN = "UPDATE archive_loans SET due_on = %(due_on)s WHERE loan_id = %(loan_id)s"
RETURN_LOAN = """
    UPDATE archive_loans SET returned_on = %(returned_on)s, status = 'returned'
    WHERE loan_id = %(loan_id)s
"""
LOSE_LOAN = "UPDATE archive_loans SET status = 'lost' WHERE loan_id = %(loan_id)s"
ADD_RESERVATION = """
    INSERT INTO archive_reservations (reservation_id, patron_id, isbn, campus, reserved_on)
    VALUES (%(reservation_id)s, %(patron_id)s, %(isbn)s, %(campus)s, %(day)s)
    ON CONFLICT (reservation_id) DO NOTHING
"""
CLOSE_RESERVATION = """
    UPDATE archive_reservations SET status = %(status)s, loan_id = %(loan_id)s
    WHERE reservation_id = %(reservation_id)s
"""


class LoanRecords(_Dated):
    """Cards, loans and reservations as the registers and the term report need them."""

    name = "loan_records"
    sources = ("circulation",)
    tables = ("archive_patrons", "archive_loans", "archive_reservations")

    def apply(self, cursor: Cursor, event: Envelope) -> None:
        data = event.data
        match event.type:
            case "CardIssued":
                cursor.execute(ADD_PATRON, {"class_name": None, **data})
            case "Lent":
                cursor.execute(ADD_LOAN, {"isbn": None, "title": None, "class_name": None, **data})
            case "Renewed":
                cursor.execute(RENEW_LOAN, data)
            case "Returned":
                cursor.execute(RETURN_LOAN, data)
            case "DeclaredLost":
                cursor.execute(LOSE_LOAN, data)
            case "Reserved":
                cursor.execute(ADD_RESERVATION, {**data, "day": self.day(event)})
            case "ReservationFulfilled":
                cursor.execute(CLOSE_RESERVATION, {**data, "status": "fulfilled"})
            case "ReservationCancelled":
                cursor.execute(CLOSE_RESERVATION, {**data, "status": "cancelled", "loan_id": None})


ADD_PURCHASE = """
    INSERT INTO register_purchases (purchased_on, isbn, title, author, campus, unit_price, copies)
    VALUES (%(day)s, %(isbn)s, %(title)s, %(author)s, %(campus)s, %(price)s, 1)
    ON CONFLICT (purchased_on, isbn, campus, unit_price)
    DO UPDATE SET copies = register_purchases.copies + 1
"""
OPEN_REPAIR = """
    INSERT INTO register_repairs (damage_id, barcode, damaged_on, note, loan_id)
    VALUES (%(event_id)s, %(barcode)s, %(day)s, %(note)s, %(loan_id)s)
    ON CONFLICT (damage_id) DO NOTHING
"""
CLOSE_REPAIR = """
    UPDATE register_repairs SET repaired_on = %(day)s, repair_note = %(note)s
    WHERE damage_id = (SELECT damage_id FROM register_repairs
                       WHERE barcode = %(barcode)s AND repaired_on IS NULL
                       ORDER BY damaged_on, damage_id LIMIT 1)
"""


class CatalogRegisters(_Dated):
    """The purchases register and the repairs register."""

    name = "catalog_registers"
    sources = ("catalog",)
    tables = ("register_purchases", "register_repairs")

    def apply(self, cursor: Cursor, event: Envelope) -> None:
        data = event.data
        day = self.day(event)
        match event.type:
            case "BookAdded" if data["acquisition"] == "purchase":
                cursor.execute(ADD_PURCHASE, {**data, "day": day})
            case "CopyDamaged":
                cursor.execute(
                    OPEN_REPAIR,
                    {"note": "", "loan_id": None, **data, "event_id": event.event_id, "day": day},
                )
            case "Repaired":
                cursor.execute(CLOSE_REPAIR, {"note": "", **data, "day": day})


STORE_REPORT = """
    INSERT INTO term_reports (term, closed_on, report) VALUES (%s, %s, %s)
    ON CONFLICT (term) DO NOTHING
"""


class TermReports(Projection):
    """Closed terms and the reports frozen in their ``TermClosed`` events (inline)."""

    name = "term_reports"
    sources = ("archives",)
    tables = ("term_reports",)

    def apply(self, cursor: Cursor, event: Envelope) -> None:
        if event.type == "TermClosed":
            data = event.data
            cursor.execute(
                STORE_REPORT, (data["term"], data["closed_on"], json.dumps(data["report"]))
            )


FOLLOWED = (EventArchive(), CopyLedger(), LoanRecords(), CatalogRegisters())
INLINE = (TermReports(),)
