"""Reading circulation's read models: for deciding at the desk and for answering queries."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from services.circulation.domain import CopyAtDesk
from shared.eventsourcing.projection import Cursor

# Days a loan due on the first date is overdue on the second (the school's policy:
# ``SchoolCalendar.days_overdue``); every day after the due date when none is given.
DaysOverdue = Callable[[date, date], int]


def every_day(due_on: date, today: date) -> int:
    return max(0, (today - due_on).days)


COPY_COLUMNS = """
    barcode, isbn, title, classification, campus, price, reference_only, status,
    loan_id IS NOT NULL, transit_from
"""
LOCK_COPIES = f"""
    SELECT {COPY_COLUMNS} FROM copy_availability
    WHERE barcode = ANY(%s) ORDER BY barcode FOR UPDATE
"""
# The same, with how many open reservations of each copy's title at its campus are
# other readers' (a copy can be held for them only if there are some): one round trip.
LOCK_COPIES_FOR = f"""
    SELECT {COPY_COLUMNS},
           (SELECT count(*) FROM reservations r
            WHERE r.isbn = c.isbn AND r.campus = c.campus AND r.status = 'open'
              AND r.patron_id <> %(patron_id)s),
           (SELECT h.patron_id FROM holds h
            WHERE h.barcode = c.barcode AND h.status = 'ready' LIMIT 1)
    FROM copy_availability c
    WHERE barcode = ANY(%(barcodes)s) ORDER BY barcode FOR UPDATE OF c
"""
SELECT_COPY = """
    SELECT barcode, isbn, title, classification, campus, price, reference_only, status,
           loan_id, patron_id, due_on, transit_from
    FROM copy_availability WHERE barcode = %s
"""
# The copies of some titles, by ISBN however each was written (the index
# copy_availability_isbn_key): their availability at north and south, for a search.
TITLE_COPIES = f"""
    SELECT {COPY_COLUMNS}, upper(regexp_replace(isbn, '[\\s-]', '', 'g'))
    FROM copy_availability
    WHERE upper(regexp_replace(isbn, '[\\s-]', '', 'g')) = ANY(%s) AND status <> 'weeded'
"""
SHELF_COPIES = """
    SELECT count(*) FROM copy_availability
    WHERE isbn = %s AND campus = %s AND status = 'on_shelf' AND loan_id IS NULL
      AND NOT reference_only AND transit_from IS NULL
"""
RESERVED_BY_OTHERS = """
    SELECT EXISTS (SELECT 1 FROM reservations
                   WHERE isbn = %s AND status = 'open' AND patron_id <> %s)
"""
ISBN_KNOWN = "SELECT EXISTS (SELECT 1 FROM copy_availability WHERE isbn = %s)"
LOAN_HOLDER = "SELECT patron_id, barcode, isbn FROM loans WHERE loan_id = %s"
LOAN_TITLE = "SELECT title FROM loans WHERE loan_id = %s"
# The readers waiting for a title at a campus, first reserved first (a copy brought
# back is held for the first of them its shelf's copies do not serve yet).
WAITING = """
    SELECT r.reservation_id, r.patron_id, p.name
    FROM reservations r JOIN patrons p USING (patron_id)
    WHERE r.isbn = %s AND r.campus = %s AND r.status = 'open'
    ORDER BY r.reserved_at, r.reservation_id
"""
LOAN_OF_COPY = """
    SELECT loan_id, patron_id, campus FROM copy_availability WHERE barcode = %s FOR UPDATE
"""
PATRON = """
    SELECT patron_id, name, kind, class_name, campus, status, owed::text
    FROM patrons WHERE patron_id = %s
"""
PATRON_FIELDS = ("patron_id", "name", "kind", "class_name", "campus", "status", "owed")
OPEN_LOANS = """
    SELECT l.loan_id, l.barcode, l.title, l.isbn, l.campus, l.lent_on, l.due_on, l.renewed,
           l.patron_id, p.name, p.class_name
    FROM loans l JOIN patrons p USING (patron_id)
    WHERE l.status = 'open' AND {where}
    ORDER BY p.class_name NULLS LAST, p.name, l.due_on, l.barcode
"""
# A reader's loans brought back since a day (the term's first), newest first.
RETURNED_LOANS = """
    SELECT loan_id, barcode, isbn, title, lent_on, returned_on
    FROM loans
    WHERE patron_id = %s AND status = 'returned' AND returned_on >= %s
    ORDER BY returned_on DESC, loan_id DESC
    LIMIT %s
"""
RETURNED_FIELDS = ("loan_id", "barcode", "isbn", "title", "lent_on", "returned_on")
# A reader's reservations still waiting, oldest first, each with its title (as catalogued).
# A copy put aside for one (``holds``): its barcode and the day to pick it up by.
OPEN_RESERVATIONS = """
    SELECT r.reservation_id, r.isbn, r.campus, r.reserved_at, r.status,
           (SELECT c.title FROM copy_availability c WHERE c.isbn = r.isbn
            ORDER BY c.barcode LIMIT 1),
           h.barcode, h.pick_up_by
    FROM reservations r
    LEFT JOIN holds h ON h.reservation_id = r.reservation_id AND h.status = 'ready'
    WHERE r.patron_id = %s AND r.status = 'open'
    ORDER BY r.reserved_at
"""
RESERVATION_FIELDS = (
    "reservation_id", "isbn", "campus", "reserved_at", "status", "title", "held_barcode",
    "pick_up_by",
)  # fmt: skip
UNPAID_LOSSES = """
    SELECT l.loan_id, l.barcode, l.title, l.replacement_cost::text, l.patron_id,
           (l.replacement_cost - l.paid_amount)::text
    FROM loans l JOIN patrons p USING (patron_id)
    WHERE l.status = 'lost' AND NOT l.paid AND {where}
    ORDER BY l.loan_id
"""
PATRONS_OF = """
    SELECT patron_id, name, kind, class_name, campus, status, owed::text
    FROM patrons WHERE {where} AND status <> 'retired'
    ORDER BY class_name, name, patron_id
"""


def lock_copies(cursor: Cursor, barcodes: list[str]) -> dict[str, CopyAtDesk]:
    """The copies at the desk, locked until the transaction ends (no two desks lend one copy)."""
    cursor.execute(LOCK_COPIES, (sorted(set(barcodes)),))
    return {row[0]: _copy_at_desk(row) for row in cursor.fetchall()}


def lock_copies_for(cursor: Cursor, barcodes: list[str], patron_id: str) -> dict[str, CopyAtDesk]:
    """``lock_copies`` for lending to ``patron_id``: each copy with how many other readers
    wait for its title at its campus and, when some do, how many copies are on that shelf
    (whether it is held for them is the domain's rule: ``CopyAtDesk.held_for_others``),
    and the reader this very copy is held for since it came back (``holds``)."""
    cursor.execute(LOCK_COPIES_FOR, {"barcodes": sorted(set(barcodes)), "patron_id": patron_id})
    copies = {}
    for row in cursor.fetchall():
        copy, waiting, held_for = _copy_at_desk(row), row[-2], row[-1]
        copy = replace(copy, held_for=held_for)
        if waiting:
            cursor.execute(SHELF_COPIES, (copy.isbn, copy.campus))
            copy = replace(copy, others_waiting=waiting, shelf_copies=cursor.fetchone()[0])
        copies[copy.barcode] = copy
    return copies


def _copy_at_desk(row: tuple[Any, ...]) -> CopyAtDesk:
    return CopyAtDesk(
        barcode=row[0],
        isbn=row[1],
        title=row[2],
        classification=row[3],
        campus=row[4],
        price=Decimal(row[5]),
        reference_only=row[6],
        status=row[7],
        on_loan=row[8],
        transit_from=row[9],
    )


def title_copies(cursor: Cursor, isbn_keys: list[str]) -> dict[str, list[CopyAtDesk]]:
    """The copies still held of each title (by normalised ISBN), unlocked: for reading."""
    cursor.execute(TITLE_COPIES, (sorted(set(isbn_keys)),))
    copies: dict[str, list[CopyAtDesk]] = {key: [] for key in isbn_keys}
    for row in cursor.fetchall():
        copies[row[-1]].append(_copy_at_desk(row))
    return copies


def reserved_by_others(cursor: Cursor, isbn: str | None, patron_id: str) -> bool:
    if isbn is None:
        return False
    cursor.execute(RESERVED_BY_OTHERS, (isbn, patron_id))
    return cursor.fetchone()[0]


def isbn_known(cursor: Cursor, isbn: str) -> bool:
    cursor.execute(ISBN_KNOWN, (isbn,))
    return cursor.fetchone()[0]


def loan_holder(cursor: Cursor, loan_id: str) -> tuple[str, str, str | None] | None:
    """(patron_id, barcode, isbn) of a loan, or None."""
    cursor.execute(LOAN_HOLDER, (loan_id,))
    return cursor.fetchone()


def loan_title(cursor: Cursor, loan_id: str) -> str | None:
    """The title a loan was lent under (None when it was recorded without one)."""
    cursor.execute(LOAN_TITLE, (loan_id,))
    row = cursor.fetchone()
    return row[0] if row else None


def copy_coming_back(cursor: Cursor, barcode: str) -> tuple[CopyAtDesk, list[dict[str, str]]]:
    """A copy brought back to the desk (locked already), as it is before it is returned,
    and the readers waiting for its title at its campus (``reservation_id``,
    ``patron_id``, ``name``), first reserved first; when some wait, the copy counts the
    lendable copies of its title on that shelf (``shelf_copies``)."""
    known = copy(cursor, barcode)
    if known is None:
        raise LookupError(f"circulation knows no copy {barcode!r}")
    coming_back = known[0]
    cursor.execute(WAITING, (coming_back.isbn, coming_back.campus))
    names = ("reservation_id", "patron_id", "name")
    waiting = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    if waiting:
        cursor.execute(SHELF_COPIES, (coming_back.isbn, coming_back.campus))
        shelf = cursor.fetchone()[0]
        coming_back = replace(coming_back, others_waiting=len(waiting), shelf_copies=shelf)
    return coming_back, waiting


def lock_loan_of_copy(cursor: Cursor, barcode: str) -> tuple[str | None, str | None, str] | None:
    """(loan_id, patron_id, home campus) of a copy, locked; None when circulation knows none."""
    cursor.execute(LOAN_OF_COPY, (barcode,))
    return cursor.fetchone()


def copy(cursor: Cursor, barcode: str) -> tuple[CopyAtDesk, dict[str, Any]] | None:
    """A copy as circulation knows it, and its loan (``loan_id``, ``patron_id``, ``due_on``:
    None when on no loan); None when circulation knows no such copy."""
    cursor.execute(SELECT_COPY, (barcode,))
    row = cursor.fetchone()
    if row is None:
        return None
    loan_id, patron_id, due_on, transit_from = row[8:]
    found = _copy_at_desk((*row[:8], loan_id is not None, transit_from))
    return found, {
        "loan_id": loan_id,
        "patron_id": patron_id,
        "due_on": due_on.isoformat() if due_on else None,
    }


def patron(cursor: Cursor, patron_id: str) -> dict[str, Any] | None:
    cursor.execute(PATRON, (patron_id,))
    row = cursor.fetchone()
    return dict(zip(PATRON_FIELDS, row, strict=True)) if row else None


def _loan(row: tuple[Any, ...], today: date, overdue: DaysOverdue = every_day) -> dict[str, Any]:
    (
        loan_id,
        barcode,
        title,
        isbn,
        campus,
        lent_on,
        due_on,
        renewed,
        patron_id,
        name,
        class_name,
    ) = row
    return {
        "loan_id": loan_id,
        "barcode": barcode,
        "title": title,
        "isbn": isbn,
        "campus": campus,
        "lent_on": lent_on.isoformat(),
        "due_on": due_on.isoformat(),
        "renewed": renewed,
        "patron_id": patron_id,
        "name": name,
        "class_name": class_name,
        "days_overdue": overdue(due_on, today),
    }


def open_reservations(cursor: Cursor, patron_id: str) -> list[dict]:
    """A reader's reservations still open, oldest first, with their titles and, when a
    copy is put aside for one, its barcode and the day to pick it up by."""
    cursor.execute(OPEN_RESERVATIONS, (patron_id,))
    return [
        {
            **dict(zip(RESERVATION_FIELDS, row, strict=True)),
            "reserved_at": row[3].isoformat(),
            "pick_up_by": row[7] and row[7].isoformat(),
        }
        for row in cursor.fetchall()
    ]


def returned_loans(cursor: Cursor, patron_id: str, since: date, limit: int) -> list[dict]:
    """A reader's loans brought back since ``since``, newest first, at most ``limit``."""
    cursor.execute(RETURNED_LOANS, (patron_id, since, limit))
    return [
        {
            **dict(zip(RETURNED_FIELDS, row, strict=True)),
            "lent_on": row[4].isoformat(),
            "returned_on": row[5].isoformat(),
        }
        for row in cursor.fetchall()
    ]


def open_loans(
    cursor: Cursor,
    where: str,
    params: tuple[Any, ...],
    today: date,
    overdue: DaysOverdue = every_day,
) -> list[dict]:
    cursor.execute(OPEN_LOANS.format(where=where), params)
    return [_loan(row, today, overdue) for row in cursor.fetchall()]


def unpaid_losses(cursor: Cursor, where: str, params: tuple[Any, ...]) -> list[dict]:
    cursor.execute(UNPAID_LOSSES.format(where=where), params)
    # ``balance``: what is still owed (a loss may be paid in parts: docs/losses.md).
    names = ("loan_id", "barcode", "title", "replacement_cost", "patron_id", "balance")
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def patrons_of(cursor: Cursor, where: str, params: tuple[Any, ...]) -> list[dict]:
    cursor.execute(PATRONS_OF.format(where=where), params)
    return [dict(zip(PATRON_FIELDS, row, strict=True)) for row in cursor.fetchall()]


def overdue_by_class(
    cursor: Cursor,
    today: date,
    class_name: str | None,
    campus: str | None,
    overdue: DaysOverdue = every_day,
) -> list[dict[str, Any]]:
    """Overdue loans grouped by class, for each class teacher to chase."""
    where, params = ["l.due_on < %s"], [today]
    if class_name:
        where.append("p.class_name = %s")
        params.append(class_name)
    if campus:
        where.append("p.campus = %s")
        params.append(campus)
    classes: dict[str, list[dict[str, Any]]] = {}
    for loan in open_loans(cursor, " AND ".join(where), tuple(params), today, overdue):
        classes.setdefault(loan["class_name"] or "(staff)", []).append(loan)
    return [{"class_name": name, "loans": loans} for name, loans in classes.items()]


def clearance(
    cursor: Cursor, column: str, value: str, today: date, overdue: DaysOverdue = every_day
) -> dict[str, Any]:
    """Who in a class or grade still holds books or owes for lost ones."""
    assert column in ("class_name", "grade")
    people = patrons_of(cursor, f"{column} = %s", (value,))
    loans = open_loans(cursor, f"p.{column} = %s", (value,), today, overdue)
    losses = unpaid_losses(cursor, f"p.{column} = %s", (value,))
    by_patron: dict[str, dict[str, Any]] = {
        person["patron_id"]: {**person, "loans": [], "unpaid": []} for person in people
    }
    for loan in loans:
        if loan["patron_id"] in by_patron:
            by_patron[loan["patron_id"]]["loans"].append(loan)
    for loss in losses:
        if loss["patron_id"] in by_patron:
            by_patron[loss["patron_id"]]["unpaid"].append(loss)
    outstanding = [p for p in by_patron.values() if p["loans"] or p["unpaid"]]
    return {
        column: value,
        "patrons": len(by_patron),
        "cleared": len(by_patron) - len(outstanding),
        "outstanding": outstanding,
    }
