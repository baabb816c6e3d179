"""Circulation's read models.

``CopyAvailability`` follows catalog's events: where each copy is and whether
catalog has it on the shelf (circulation never reads catalog's database). The
others follow circulation's own events *inline*, in the transaction that
records them, so the desk never lends on a stale picture: the loan columns of
the copy model, the cards, the loans and the reservations. Catalog's status and
circulation's loan live in separate columns, so the two sources can be applied
in any interleaving and a rebuild gives the same table.
"""

from __future__ import annotations

from services.circulation.losses import LossPayments
from shared.events.envelope import Envelope
from shared.eventsourcing.projection import Cursor, Projection
from shared.eventsourcing.projection_rows import BornInBulk

ADD_COPIES = (
    """
    INSERT INTO copy_availability (barcode, isbn, title, classification, campus, price,
                                   reference_only, status)
    VALUES %s ON CONFLICT (barcode) DO NOTHING
    """,
    """(%(barcode)s, %(isbn)s, %(title)s, %(classification)s, %(campus)s, %(price)s,
        %(reference_only)s, 'on_shelf')""",
)
SET_STATUS = "UPDATE copy_availability SET status = %s WHERE barcode = %s"
SET_CAMPUS = "UPDATE copy_availability SET campus = %s, transit_from = NULL WHERE barcode = %s"
SET_TRANSIT = "UPDATE copy_availability SET transit_from = %s WHERE barcode = %s"
SET_REFERENCE = "UPDATE copy_availability SET reference_only = %s WHERE barcode = %s"


class CopyAvailability(BornInBulk):
    """Every copy circulation may lend: campus, catalog status, reference-only, in transit."""

    name = "copy_availability"
    sources = ("catalog",)
    tables = ()  # shares copy_availability with CopyLoans; reset clears only its columns

    born_of, insert = "BookAdded", ADD_COPIES

    def apply_one(self, cursor: Cursor, event: Envelope) -> None:
        data = event.data
        match event.type:
            case "CopyDamaged":
                cursor.execute(SET_STATUS, ("damaged", data["barcode"]))
            case "Repaired":
                cursor.execute(SET_STATUS, ("on_shelf", data["barcode"]))
            case "Weeded":
                cursor.execute(SET_STATUS, ("weeded", data["barcode"]))
            case "Transferred":
                cursor.execute(SET_CAMPUS, (data["to_campus"], data["barcode"]))
            case "ReferenceStatusChanged":
                cursor.execute(SET_REFERENCE, (data["reference_only"], data["barcode"]))
            case "TransitStarted":
                cursor.execute(SET_TRANSIT, (data["from_campus"], data["barcode"]))
            case "ArrivedHome":
                cursor.execute(SET_TRANSIT, (None, data["barcode"]))

    def reset(self, cursor: Cursor) -> None:
        cursor.execute("DELETE FROM copy_availability")


SET_LOAN = """
    UPDATE copy_availability SET loan_id = %(loan_id)s, patron_id = %(patron_id)s,
        due_on = %(due_on)s
    WHERE barcode = %(barcode)s
"""
CLEAR_LOAN = """
    UPDATE copy_availability SET loan_id = NULL, patron_id = NULL, due_on = NULL
    WHERE barcode = %(barcode)s AND loan_id = %(loan_id)s
"""
SET_DUE = "UPDATE copy_availability SET due_on = %(due_on)s WHERE loan_id = %(loan_id)s"


class CopyLoans(Projection):
    """Which copies are out, to whom, until when (inline)."""

    name = "copy_loans"
    sources = ("circulation",)
    writes_only = True

    def apply(self, cursor: Cursor, event: Envelope) -> None:
        match event.type:
            case "Lent":
                cursor.execute(SET_LOAN, event.data)
            case "Renewed":
                cursor.execute(SET_DUE, event.data)
            case "Returned" | "DeclaredLost":
                cursor.execute(CLEAR_LOAN, event.data)

    def reset(self, cursor: Cursor) -> None:
        cursor.execute(
            "UPDATE copy_availability SET loan_id = NULL, patron_id = NULL, due_on = NULL"
        )


INSERT_PATRON = """
    INSERT INTO patrons (patron_id, name, kind, class_name, grade, campus, status)
    VALUES (%(patron_id)s, %(name)s, %(kind)s, %(class_name)s, %(grade)s, %(campus)s, 'active')
"""
SET_PATRON_STATUS = "UPDATE patrons SET status = %s WHERE patron_id = %s"
ADD_OWED = "UPDATE patrons SET owed = owed + %s WHERE patron_id = %s"
MOVE_CLASS = "UPDATE patrons SET class_name = %s, grade = %s WHERE patron_id = %s"
GRADUATE = "UPDATE patrons SET graduated = %s WHERE patron_id = %s"


def grade_of(class_name: str | None) -> str | None:
    """``G9`` for class ``G9-3``."""
    return class_name.split("-", 1)[0] if class_name else None


class Patrons(Projection):
    """Every card: holder, class, campus, status, what they owe (inline)."""

    name = "patrons"
    sources = ("circulation",)
    writes_only = True
    tables = ("patrons",)

    def apply(self, cursor: Cursor, event: Envelope) -> None:
        data = event.data
        match event.type:
            case "CardIssued":
                cursor.execute(INSERT_PATRON, {**data, "grade": grade_of(data.get("class_name"))})
            case "CardBlocked":
                cursor.execute(SET_PATRON_STATUS, ("blocked", data["patron_id"]))
            case "CardUnblocked":
                cursor.execute(SET_PATRON_STATUS, ("active", data["patron_id"]))
            case "CardRetired":
                cursor.execute(SET_PATRON_STATUS, ("retired", data["patron_id"]))
            case "CardClassChanged":
                to_class = data["to_class"]
                cursor.execute(MOVE_CLASS, (to_class, grade_of(to_class), data["patron_id"]))
            case "CardGraduated":
                cursor.execute(GRADUATE, (data["school_year"], data["patron_id"]))
            case "DeclaredLost":
                cursor.execute(ADD_OWED, (data["replacement_cost"], data["patron_id"]))
            case "CompensationPaid":
                cursor.execute(ADD_OWED, (f"-{data['amount']}", data["patron_id"]))
            case "LostCopyReplaced":
                cursor.execute(ADD_OWED, (f"-{data['replacement_cost']}", data["patron_id"]))


INSERT_LOAN = """
    INSERT INTO loans (loan_id, patron_id, barcode, isbn, title, classification, patron_kind,
                       class_name, campus, lent_on, due_on)
    VALUES (%(loan_id)s, %(patron_id)s, %(barcode)s, %(isbn)s, %(title)s, %(classification)s,
            %(patron_kind)s, %(class_name)s, %(campus)s, %(lent_on)s, %(due_on)s)
"""
RENEW_LOAN = "UPDATE loans SET due_on = %(due_on)s, renewed = true WHERE loan_id = %(loan_id)s"
CLOSE_LOAN = """
    UPDATE loans SET status = 'returned', returned_on = %(returned_on)s,
        returned_campus = %(campus)s, condition = %(condition)s, overdue_days = %(overdue_days)s
    WHERE loan_id = %(loan_id)s
"""
LOSE_LOAN = """
    UPDATE loans SET status = 'lost', replacement_cost = %(replacement_cost)s
    WHERE loan_id = %(loan_id)s
"""
# A loss is ``paid`` (settled) once nothing is owed: paid off (a payment from before
# partial payments has no balance and paid it all) or replaced with a new copy.
PAY_LOAN = """
    UPDATE loans SET paid = coalesce(%(balance)s::numeric, 0) = 0,
        paid_amount = paid_amount + %(amount)s::numeric
    WHERE loan_id = %(loan_id)s
"""
REPLACE_LOAN = """
    UPDATE loans SET paid = true, replaced_by = %(new_barcode)s WHERE loan_id = %(loan_id)s
"""


class Loans(Projection):
    """Every loan, open or closed: for overdue lists, clearance and the registers (inline)."""

    name = "loans"
    sources = ("circulation",)
    writes_only = True
    tables = ("loans",)

    def apply(self, cursor: Cursor, event: Envelope) -> None:
        data = event.data
        match event.type:
            case "Lent":
                cursor.execute(
                    INSERT_LOAN,
                    {"isbn": None, "title": None, "classification": None, **data},
                )
            case "Renewed":
                cursor.execute(RENEW_LOAN, data)
            case "Returned":
                cursor.execute(CLOSE_LOAN, data)
            case "DeclaredLost":
                cursor.execute(LOSE_LOAN, data)
            case "CompensationPaid":
                cursor.execute(PAY_LOAN, {"balance": None, **data})
            case "LostCopyReplaced":
                cursor.execute(REPLACE_LOAN, data)


INSERT_RESERVATION = """
    INSERT INTO reservations (reservation_id, patron_id, isbn, campus, reserved_at)
    VALUES (%(reservation_id)s, %(patron_id)s, %(isbn)s, %(campus)s, %(recorded_at)s)
"""
CLOSE_RESERVATION = """
    UPDATE reservations SET status = %(status)s, loan_id = %(loan_id)s
    WHERE reservation_id = %(reservation_id)s
"""


class Reservations(Projection):
    """Open and closed reservations, for holds at the desk and the register (inline)."""

    name = "reservations"
    sources = ("circulation",)
    writes_only = True
    tables = ("reservations",)

    def apply(self, cursor: Cursor, event: Envelope) -> None:
        data = event.data
        match event.type:
            case "Reserved":
                cursor.execute(INSERT_RESERVATION, {**data, "recorded_at": event.recorded_at})
            case "ReservationFulfilled":
                cursor.execute(CLOSE_RESERVATION, {**data, "status": "fulfilled"})
            case "ReservationCancelled":
                cursor.execute(CLOSE_RESERVATION, {**data, "status": "cancelled", "loan_id": None})
            case "HoldExpired":  # held, not picked up by its day (holds.py)
                cursor.execute(CLOSE_RESERVATION, {**data, "status": "expired", "loan_id": None})


INLINE = (CopyLoans(), Patrons(), Loans(), Reservations(), LossPayments())
