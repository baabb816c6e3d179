"""Losses as schools settle them, decided without any server: paid at the copy's price in
one payment or several (never more than is owed), or replaced with a new copy."""

from decimal import Decimal

import pytest

from services.circulation import domain as d
from services.circulation.losses import receipt_number
from shared.events.envelope import NewEvent
from shared.eventsourcing.decider import Refused, fold
from tests.unit.test_circulation_domain import apply, card, copy, lend, refused

LOAN = "L-C00000001"


def owing(price: str = "12.50") -> d.Patron:
    """A student who lost the copy lent to her, priced ``price``."""
    return apply(apply(card(), lend()), d.DeclareLost(LOAN, Decimal(price)))


def pay(amount: str, receipt_no: str = "2026-000001", taken_by: str = "王丽") -> d.PayCompensation:
    return d.PayCompensation(LOAN, Decimal(amount), receipt_no=receipt_no, taken_by=taken_by)


def replace_with(new_barcode: str = "C00009001", known: bool = False) -> d.ReplaceLost:
    return d.ReplaceLost(LOAN, copy(status="weeded"), new_barcode, new_barcode_known=known)


def test_a_payment_names_the_balance_still_owed_its_receipt_and_who_took_it():
    [paid] = d.decide(owing(), pay("5"))
    assert paid.type == "CompensationPaid"
    assert paid.data == {
        "loan_id": LOAN,
        "patron_id": "P0000001",
        "amount": "5.00",
        "balance": "7.50",
        "receipt_no": "2026-000001",
        "taken_by": "王丽",
    }


def test_a_loss_paid_in_two_parts_is_settled_and_the_reader_may_borrow_again():
    patron = apply(owing(), pay("5"))
    assert patron.total_owed() == Decimal("7.50") and patron.paid == {LOAN: Decimal("5.00")}
    assert refused(patron, lend("C00000002")).code == "unpaid_loss"
    [rest] = d.decide(patron, pay("7.50", "2026-000002"))
    assert rest.data["balance"] == "0.00"
    settled = fold(d.evolve, patron, [rest])
    assert settled.owed == {} and settled.paid == {}
    assert d.decide(settled, lend("C00000002"))[0].type == "Lent"
    assert d.decide(settled, d.RetireCard("left"))[0].type == "CardRetired"
    assert refused(settled, pay("1")).code == "nothing_owed"


def test_paying_more_than_is_owed_is_refused_naming_what_is_owed():
    patron = apply(owing(), pay("10"))
    too_much = refused(patron, pay("2.51"))
    assert too_much.code == "overpayment"
    assert "¥2.50 is still owed" in str(too_much) and "¥2.51" in str(too_much)
    assert refused(owing(), pay("12.51")).code == "overpayment"


def test_a_payment_of_nothing_is_refused():
    assert refused(owing(), pay("0")).code == "payment_not_positive"


def test_the_whole_price_at_once_settles_it():
    [paid] = d.decide(owing("59.70"), pay("59.70"))
    assert paid.data["balance"] == "0.00"


def test_a_payment_recorded_before_partial_payments_paid_it_all():
    """Its event has no balance: the loss it paid is settled."""
    data = {"loan_id": LOAN, "patron_id": "P0000001", "amount": "12.50"}
    old = NewEvent("CompensationPaid", "card-P0000001", data)
    assert d.evolve(owing(), old).owed == {}


def test_a_loss_replaced_with_a_new_copy_owes_nothing():
    [replaced] = d.decide(owing(), replace_with())
    assert replaced.type == "LostCopyReplaced"
    assert replaced.data == {
        "loan_id": LOAN,
        "patron_id": "P0000001",
        "barcode": "C00000001",
        "new_barcode": "C00009001",
        "isbn": "9787020002207",
        "title": "红楼梦",
        "campus": "north",
        "replacement_cost": "12.50",
    }
    settled = fold(d.evolve, owing(), [replaced])
    assert settled.total_owed() == 0 and settled.owed == {}
    assert refused(settled, pay("1")).code == "nothing_owed"
    assert refused(settled, replace_with()).code == "nothing_owed"


def test_a_loss_part_paid_is_paid_off_not_replaced():
    part_paid = apply(owing(), pay("5"))
    error = refused(part_paid, replace_with())
    assert error.code == "loss_part_paid" and "pay the rest (¥7.50)" in str(error)


@pytest.mark.parametrize(("barcode", "known"), [("C00000001", False), ("C00000777", True)])
def test_the_new_copy_needs_a_barcode_no_copy_has(barcode, known):
    assert refused(owing(), replace_with(barcode, known)).code == "barcode_taken"


def test_nothing_owed_without_a_loss():
    assert refused(apply(card(), lend()), pay("1")).code == "nothing_owed"
    with pytest.raises(Refused):
        d.decide(d.INITIAL, pay("1"))


def test_receipts_are_numbered_by_year_and_running_number():
    assert receipt_number(2026, 1) == "2026-000001"
    assert receipt_number(2027, 123456) == "2027-123456"
