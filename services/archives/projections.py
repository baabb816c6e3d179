"""The books of record, built from every service's events.

* ``EventArchive``: every event verbatim, once, ordered per source.
* ``CopyLedger``: each copy's fate (on loan, in repair, in transit home, lost,
  weeded) and the dated movements of the collection, from which the general,
  classification and write-off ledgers are summed.
* ``LoanRecords``: cards, loans and reservations, for the staff-loans and
  teacher-reservations registers and the term report.
* ``CatalogRegisters``: the purchases and repairs registers. A repair is filed
  under the campus the copy was at when it was damaged (its ``CopyDamaged``
  event's campus), never where the copy went afterwards.
* ``TermReports``: the reports frozen by closing a term.

Every line of the books of record names who recorded it: the username and
role of its event's actor (``by``), None for events without one.

Catalog's facts and circulation's facts about a copy live in separate columns
and rows are upserted, so the two sources may be applied in any interleaving
(live) or one after the other (rebuild) with the same result.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from psycopg2.extras import execute_values

from shared.config import SERVICES
from shared.events.envelope import Envelope
from shared.eventsourcing.projection import Cursor, Projection
from shared.eventsourcing.projection_rows import Rows, upsert
from shared.runtime.school_calendar import DEFAULT_TIMEZONE, local_date
from shared.storage.batched import writes

SOURCES = SERVICES  # the archive and its replay feed keep every source's events

ARCHIVE = """
    INSERT INTO archived_events (source, position, event_id, type, recorded_at, envelope, actor)
    VALUES %s ON CONFLICT DO NOTHING
"""


def by(event: Envelope) -> tuple[str | None, str | None]:
    """(username, role) of who did it, or (None, None) when the event names nobody."""
    actor = event.actor
    return (actor["username"], actor["role"]) if actor else (None, None)


class EventArchive(Projection):
    """Keeps each source's events in order, for replay and for new subscribers."""

    name = "event_archive"
    sources = SOURCES
    tables = ("archived_events",)

    def apply(self, cursor: Cursor, event: Envelope) -> None:
        self.apply_many(cursor, [event])

    def apply_many(self, cursor: Cursor, events: Sequence[Envelope]) -> None:
        rows = [
            (
                e.source,
                e.position,
                e.event_id,
                e.type,
                e.recorded_at,
                json.dumps(e.to_dict()),
                None if e.actor is None else json.dumps(e.actor),
            )
            for e in events
        ]
        execute_values(writes(cursor), ARCHIVE, rows, page_size=1000)


class _Dated(Projection):
    """A projection that dates catalog events by the school's calendar."""

    timezone = DEFAULT_TIMEZONE

    def configure(self, config: Mapping[str, Any]) -> None:
        self.timezone = (config.get("SCHOOL") or {}).get("timezone") or DEFAULT_TIMEZONE

    def day(self, event: Envelope) -> str:
        return local_date(event.occurred_at, self.timezone).isoformat()


COPY_COLUMNS = (
    "barcode",
    "isbn",
    "title",
    "classification",
    "class_letter",
    "campus",
    "price",
    "acquisition",
    "added_on",
    "weeded_on",
    "weed_reason",
    "on_loan",
    "in_repair",
    "lost",
    "in_transit",
    "weeded_by",
    "weeded_by_role",
)
COPY_FLAGS = {"on_loan": False, "in_repair": False, "lost": False, "in_transit": False}
# The events whose entries take what the ledger knows of the copy (its campus,
# letter and price); the other events only set columns, so their rows need not be read.
READS_COPY = frozenset({"Weeded", "Transferred"})
ENTRY_COLUMNS = (
    "source",
    "position",
    "campus",
    "entry_on",
    "entry",
    "class_letter",
    "copies",
    "value",
)


class CopyLedger(_Dated):
    """Each copy's fate, and the dated additions, write-offs and transfers."""

    name = "copy_ledger"
    sources = ("catalog", "circulation")
    tables = ("ledger_copies", "ledger_entries")

    def apply(self, cursor: Cursor, event: Envelope) -> None:
        self.apply_many(cursor, [event])

    def apply_many(self, cursor: Cursor, events: Sequence[Envelope]) -> None:
        copies = Rows("ledger_copies", "barcode", COPY_COLUMNS)
        copies.load(cursor, (e.data["barcode"] for e in events if e.type in READS_COPY))
        entries: list[dict[str, Any]] = []
        for event in events:
            data = event.data
            if "barcode" not in data:
                continue
            copy = copies.row(data["barcode"])
            match (event.source, event.type):
                case ("catalog", "BookAdded"):
                    letter = data["classification"][0]
                    copy.update(
                        isbn=data["isbn"],
                        title=data["title"],
                        classification=data["classification"],
                        class_letter=letter,
                        campus=data["campus"],
                        price=Decimal(data["price"]),
                        acquisition=data["acquisition"],
                        added_on=self.day(event),
                    )
                    entries.append(
                        self._entry(event, data["campus"], "added", letter, 1, copy["price"])
                    )
                case ("catalog", "Weeded"):
                    who, role = by(event)
                    copy.update(
                        weeded_on=self.day(event),
                        weed_reason=data["reason"],
                        in_repair=False,
                        in_transit=False,
                        weeded_by=who,
                        weeded_by_role=role,
                    )
                    entries.append(
                        self._entry(
                            event,
                            copy["campus"],
                            "weeded",
                            data["classification"][0],
                            -1,
                            Decimal(data["value"]),
                        )
                    )
                case ("catalog", "Transferred"):
                    copy.update(campus=data["to_campus"], in_transit=False)
                    letter, value = copy["class_letter"] or "?", copy["price"] or Decimal(0)
                    entries.append(
                        self._entry(
                            event, data["from_campus"], "transferred_out", letter, -1, value
                        )
                    )
                    entries.append(
                        self._entry(event, data["to_campus"], "transferred_in", letter, 1, value)
                    )
                case ("catalog", "CopyDamaged"):
                    copy["in_repair"] = True
                case ("catalog", "Repaired"):
                    copy["in_repair"] = False
                case ("catalog", "TransitStarted"):
                    copy["in_transit"] = True
                case ("catalog", "ArrivedHome"):
                    copy["in_transit"] = False
                case ("circulation", "Lent"):
                    copy["on_loan"] = True
                case ("circulation", "Returned"):
                    copy["on_loan"] = False
                case ("circulation", "DeclaredLost"):
                    copy.update(lost=True, on_loan=False)
        copies.write(cursor, COPY_FLAGS)
        upsert(cursor, "ledger_entries", ENTRY_COLUMNS, entries)

    def _entry(
        self,
        event: Envelope,
        campus: str | None,
        entry: str,
        letter: str,
        copies: int,
        value: Decimal,
    ) -> dict[str, Any]:
        return {
            "source": event.source,
            "position": event.position,
            "campus": campus or "unknown",
            "entry_on": self.day(event),
            "entry": entry,
            "class_letter": letter,
            "copies": copies,
            "value": value,
        }


PATRON_COLUMNS = ("patron_id", "name", "kind", "class_name", "campus")
LOAN_COLUMNS = (
    "loan_id",
    "patron_id",
    "patron_kind",
    "class_name",
    "campus",
    "barcode",
    "isbn",
    "title",
    "lent_on",
    "due_on",
    "returned_on",
    "status",
    "lent_by",
    "lent_by_role",
    "returned_by",
    "returned_by_role",
)
LENT_COLUMNS = LOAN_COLUMNS[:10]  # what a Lent event's payload says of its loan
RESERVATION_COLUMNS = (
    "reservation_id",
    "patron_id",
    "isbn",
    "campus",
    "reserved_on",
    "status",
    "loan_id",
    "reserved_by",
    "reserved_by_role",
)


class LoanRecords(_Dated):
    """Cards, loans and reservations as the registers and the term report need them."""

    name = "loan_records"
    sources = ("circulation",)
    tables = ("archive_patrons", "archive_loans", "archive_reservations")

    def apply(self, cursor: Cursor, event: Envelope) -> None:
        self.apply_many(cursor, [event])

    def apply_many(self, cursor: Cursor, events: Sequence[Envelope]) -> None:
        # Only the births are read (a loan or reservation is recorded once); every
        # other event changes a record as an UPDATE would, without reading it.
        loans = Rows("archive_loans", "loan_id", LOAN_COLUMNS)
        loans.load(cursor, (e.data["loan_id"] for e in events if e.type == "Lent"))
        reservations = Rows("archive_reservations", "reservation_id", RESERVATION_COLUMNS)
        reservations.load(
            cursor, (e.data["reservation_id"] for e in events if e.type == "Reserved")
        )
        patrons, moves = [], []
        for event in events:
            data = event.data
            match event.type:
                case "CardIssued":
                    patrons.append({column: data.get(column) for column in PATRON_COLUMNS})
                case "CardClassChanged":
                    # The year's turn: a reader is counted in the class she is in now
                    # (a loan keeps the class it was made in).
                    moves.append((data["to_class"], data["patron_id"]))
                case "Lent" if loans.get(data["loan_id"]) is None:
                    loan = loans.row(data["loan_id"])
                    loan.update({column: data.get(column) for column in LENT_COLUMNS})
                    loan["status"] = "open"
                    loan["lent_by"], loan["lent_by_role"] = by(event)
                case "Renewed":
                    loans.existing(data["loan_id"])["due_on"] = data["due_on"]
                case "Returned":
                    who, role = by(event)
                    loans.existing(data["loan_id"]).update(
                        returned_on=data["returned_on"],
                        status="returned",
                        returned_by=who,
                        returned_by_role=role,
                    )
                case "DeclaredLost":
                    loans.existing(data["loan_id"])["status"] = "lost"
                case "Reserved" if reservations.get(data["reservation_id"]) is None:
                    who, role = by(event)
                    reservations.row(data["reservation_id"]).update(
                        patron_id=data["patron_id"],
                        isbn=data["isbn"],
                        campus=data["campus"],
                        reserved_on=self.day(event),
                        status="open",
                        reserved_by=who,
                        reserved_by_role=role,
                    )
                case "ReservationFulfilled":
                    reservations.existing(data["reservation_id"]).update(
                        status="fulfilled", loan_id=data["loan_id"]
                    )
                case "ReservationCancelled":
                    reservations.existing(data["reservation_id"]).update(
                        status="cancelled", loan_id=None
                    )
        upsert(cursor, "archive_patrons", PATRON_COLUMNS, patrons, "(patron_id) DO NOTHING")
        if moves:
            cursor.executemany(
                "UPDATE archive_patrons SET class_name = %s WHERE patron_id = %s", moves
            )
        loans.write(cursor)
        reservations.write(cursor)


PURCHASE_COLUMNS = (
    "purchased_on",
    "isbn",
    "title",
    "author",
    "campus",
    "unit_price",
    "copies",
    "added_by",
    "added_by_role",
)
# A line per (day, title, campus, unit price, who recorded it): the unique index
# register_purchases_line (NULLS NOT DISTINCT, so lines by no one add up too).
ADD_PURCHASES = (
    "(purchased_on, isbn, campus, unit_price, added_by, added_by_role) "
    "DO UPDATE SET copies = register_purchases.copies + EXCLUDED.copies"
)
REPAIR_COLUMNS = (
    "damage_id",
    "barcode",
    "campus",
    "damaged_on",
    "note",
    "loan_id",
    "repaired_on",
    "repair_note",
    "reported_by",
    "reported_by_role",
    "repaired_by",
    "repaired_by_role",
)
OPEN_REPAIRS = """
    SELECT damage_id::text FROM register_repairs WHERE barcode = ANY(%s) AND repaired_on IS NULL
"""


class CatalogRegisters(_Dated):
    """The purchases register and the repairs register.

    A repairs line is a damage and its repair, at the campus where the copy was
    damaged: the damage event's own campus (the copy's campus at that moment,
    which the catalog writes on every event of the copy). Taking the campus from
    the copy as it is now would move a repair done at north to south once the
    copy is transferred there.
    """

    name = "catalog_registers"
    sources = ("catalog",)
    tables = ("register_purchases", "register_repairs")

    def apply(self, cursor: Cursor, event: Envelope) -> None:
        self.apply_many(cursor, [event])

    def apply_many(self, cursor: Cursor, events: Sequence[Envelope]) -> None:
        purchases: dict[tuple[Any, ...], list[Any]] = {}
        repairs = Rows("register_repairs", "damage_id", REPAIR_COLUMNS, key_type="uuid")
        repaired = [e.data["barcode"] for e in events if e.type == "Repaired"]
        if repaired:
            cursor.execute(OPEN_REPAIRS, (repaired,))
            repairs.load(cursor, [row[0] for row in cursor.fetchall()])
        for event in events:
            data = event.data
            match event.type:
                case "BookAdded" if data["acquisition"] == "purchase":
                    price = Decimal(data["price"])
                    key = (self.day(event), data["isbn"], data["campus"], price, *by(event))
                    line = purchases.setdefault(key, [data["title"], data["author"], 0])
                    line[2] += 1
                case "CopyDamaged":
                    who, role = by(event)
                    repairs.row(event.event_id).update(
                        barcode=data["barcode"],
                        campus=event.campus,
                        damaged_on=self.day(event),
                        note=data.get("note") or "",
                        loan_id=data.get("loan_id"),
                        reported_by=who,
                        reported_by_role=role,
                    )
                case "Repaired":
                    still_open = sorted(
                        (row["damaged_on"], str(row["damage_id"]))
                        for row in repairs.rows.values()
                        if row["barcode"] == data["barcode"] and row["repaired_on"] is None
                    )
                    if still_open:
                        who, role = by(event)
                        repairs.row(still_open[0][1]).update(
                            repaired_on=self.day(event),
                            repair_note=data.get("note") or "",
                            repaired_by=who,
                            repaired_by_role=role,
                        )
        lines = [
            {
                "purchased_on": day,
                "isbn": isbn,
                "title": title,
                "author": author,
                "campus": campus,
                "unit_price": price,
                "copies": copies,
                "added_by": who,
                "added_by_role": role,
            }
            for (day, isbn, campus, price, who, role), (title, author, copies) in purchases.items()
        ]
        upsert(cursor, "register_purchases", PURCHASE_COLUMNS, lines, ADD_PURCHASES)
        repairs.write(cursor)


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


COMPENSATION_COLUMNS = (
    "event_id",
    "entry_on",
    "loan_id",
    "entry",
    "amount",
    "balance",
    "receipt_no",
    "new_barcode",
    "taken_by",
    "recorded_by",
    "recorded_by_role",
)


class CompensationRegister(_Dated):
    """The compensations register: losses declared, paid (each payment with its receipt and
    the balance after it) and settled with a new copy, each naming who recorded it."""

    name = "compensation_register"
    sources = ("circulation",)
    tables = ("register_compensations",)

    def apply(self, cursor: Cursor, event: Envelope) -> None:
        self.apply_many(cursor, [event])

    def apply_many(self, cursor: Cursor, events: Sequence[Envelope]) -> None:
        rows = [self._line(e) for e in events if e.type in COMPENSATION_ENTRIES]
        upsert(
            cursor, "register_compensations", COMPENSATION_COLUMNS, rows, "(event_id) DO NOTHING"
        )

    def _line(self, event: Envelope) -> dict[str, Any]:
        data = event.data
        who, role = by(event)
        line = dict.fromkeys(COMPENSATION_COLUMNS)
        line.update(
            event_id=event.event_id,
            entry_on=self.day(event),
            loan_id=data["loan_id"],
            entry=COMPENSATION_ENTRIES[event.type],
            recorded_by=who,
            recorded_by_role=role,
        )
        match event.type:
            case "DeclaredLost":
                line.update(amount=data["replacement_cost"], balance=data["replacement_cost"])
            case "CompensationPaid":  # one from before partial payments paid it all
                line.update(
                    amount=data["amount"],
                    balance=data.get("balance", "0.00"),
                    receipt_no=data.get("receipt_no"),
                    taken_by=data.get("taken_by"),
                )
            case "LostCopyReplaced":
                line.update(
                    amount=data["replacement_cost"], balance="0.00", new_barcode=data["new_barcode"]
                )
        return line


COMPENSATION_ENTRIES = {
    "DeclaredLost": "lost",
    "CompensationPaid": "payment",
    "LostCopyReplaced": "replacement",
}
FOLLOWED = (EventArchive(), CopyLedger(), LoanRecords(), CatalogRegisters(), CompensationRegister())
INLINE = (TermReports(),)
