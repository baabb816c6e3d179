"""Losses as schools settle them: the payments' read model and what the desk reads of a loss.

A lost copy is paid at its price in one payment or several, or replaced with a new
copy of its title (the rules: ``domain._pay`` and ``domain._replace_lost``). Each
payment has a numbered receipt (收据); ``LossPayments`` keeps one row a receipt,
inline with the events, so a receipt can be printed the moment it is taken.
"""

from __future__ import annotations

from typing import Any

from shared.events.envelope import Envelope
from shared.eventsourcing.projection import Cursor, Projection

# Receipt numbers: the year it was taken and the school's running number, 2026-000001.
RECEIPT_FORMAT = "{year}-{number:06d}"
INSERT_PAYMENT = """
    INSERT INTO loss_payments (receipt_no, loan_id, patron_id, amount, balance, paid_at,
                               taken_by, taken_by_username)
    VALUES (%(receipt_no)s, %(loan_id)s, %(patron_id)s, %(amount)s, %(balance)s,
            %(paid_at)s, %(taken_by)s, %(username)s)
    ON CONFLICT (receipt_no) DO NOTHING
"""
PAYMENT_COLUMNS = """
    p.receipt_no, p.loan_id, p.patron_id, r.name, r.class_name, l.barcode, l.title, l.isbn,
    l.campus, l.replacement_cost::text, p.amount::text, p.balance::text, p.paid_at,
    p.taken_by, p.taken_by_username
"""
PAYMENT_FIELDS = (
    "receipt_no",
    "loan_id",
    "patron_id",
    "name",
    "class_name",
    "barcode",
    "title",
    "isbn",
    "campus",
    "replacement_cost",
    "amount",
    "balance",
    "paid_at",
    "taken_by",
    "taken_by_username",
)
SELECT_RECEIPT = f"""
    SELECT {PAYMENT_COLUMNS}
    FROM loss_payments p JOIN loans l USING (loan_id) JOIN patrons r ON r.patron_id = l.patron_id
    WHERE p.receipt_no = %s
"""
SELECT_PAYMENTS = f"""
    SELECT {PAYMENT_COLUMNS}
    FROM loss_payments p JOIN loans l USING (loan_id) JOIN patrons r ON r.patron_id = l.patron_id
    WHERE p.loan_id = %s
    ORDER BY p.paid_at, p.receipt_no
"""
SELECT_LOSS = """
    SELECT l.loan_id, l.patron_id, l.barcode, l.title, l.isbn, l.campus, l.status,
           l.replacement_cost::text, l.paid_amount::text,
           (l.replacement_cost - l.paid_amount)::text, l.paid, l.replaced_by
    FROM loans l WHERE l.loan_id = %s
"""
LOSS_FIELDS = (
    "loan_id",
    "patron_id",
    "barcode",
    "title",
    "isbn",
    "campus",
    "status",
    "replacement_cost",
    "paid",
    "balance",
    "settled",
    "replaced_by",
)


def receipt_number(year: int, number: int) -> str:
    """``2026-000001``: the year and the running number of the school's receipts."""
    return RECEIPT_FORMAT.format(year=year, number=number)


class LossPayments(Projection):
    """Every payment towards a loss with its receipt number and who took it (inline)."""

    name = "loss_payments"
    sources = ("circulation",)
    writes_only = True
    tables = ("loss_payments",)

    def apply(self, cursor: Cursor, event: Envelope) -> None:
        data = event.data
        if event.type != "CompensationPaid" or "receipt_no" not in data:
            return  # payments from before receipts paid it all, and had none
        cursor.execute(
            INSERT_PAYMENT,
            {
                "taken_by": None,
                **data,
                "paid_at": event.recorded_at,
                "username": (event.actor or {}).get("username"),
            },
        )


def receipt(cursor: Cursor, receipt_no: str) -> dict[str, Any] | None:
    """One payment as its receipt shows it: the reader, the book, the amount, the balance
    still owed after it, when and by whom it was taken; None for an unknown number."""
    cursor.execute(SELECT_RECEIPT, (receipt_no,))
    row = cursor.fetchone()
    return None if row is None else _payment(row)


def loss(cursor: Cursor, loan_id: str) -> dict[str, Any] | None:
    """A loan's loss: its price, paid so far, the balance, whether settled (paid off or
    replaced: ``replaced_by``), and its payments oldest first; None for an unknown loan."""
    cursor.execute(SELECT_LOSS, (loan_id,))
    row = cursor.fetchone()
    if row is None:
        return None
    answer = dict(zip(LOSS_FIELDS, row, strict=True))
    if answer["status"] != "lost":
        answer.update(replacement_cost=None, paid=None, balance=None, settled=False)
    elif answer["settled"]:
        answer["balance"] = "0.00"
    cursor.execute(SELECT_PAYMENTS, (loan_id,))
    answer["payments"] = [_payment(row) for row in cursor.fetchall()]
    return answer


def _payment(row: tuple[Any, ...]) -> dict[str, Any]:
    payment = dict(zip(PAYMENT_FIELDS, row, strict=True))
    payment["paid_at"] = payment["paid_at"].isoformat()
    return payment
