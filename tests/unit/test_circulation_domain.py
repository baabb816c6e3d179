"""Circulation's rules, decided without any server: cards, loans, returns, debts, holds."""

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

from services.circulation import domain as d
from services.circulation.policies import rules_from_config
from shared.events.envelope import NewEvent
from shared.eventsourcing.decider import Refused, fold

TODAY = date(2026, 10, 12)
STUDENT = d.Policy(max_loans=3, loan_days=14)
TEACHER = d.Policy(max_loans=10, loan_days=30)
CORNER = d.Policy(max_loans=60, loan_days=120, until_term_end=True)
TERM_END = date(2027, 1, 22)


def copy(barcode="C00000001", **overrides):
    fields = dict(
        barcode=barcode,
        isbn="9787020002207",
        title="红楼梦",
        classification="I242.4",
        campus="north",
        status="on_shelf",
        reference_only=False,
        on_loan=False,
        price=Decimal("59.70"),
    )
    fields.update(overrides)
    return d.CopyAtDesk(**fields)


def card(kind="student", class_name="G7-3", patron_id="P0000001", name="李雷"):
    return apply(d.INITIAL, d.IssueCard(patron_id, name, kind, class_name, "north"))


def apply(patron, command):
    """Decide and fold: the card after a command."""
    return fold(d.evolve, patron, d.decide(patron, command))


def lend(barcode="C00000001", today=TODAY, policy=STUDENT, loan_id=None, **copy_overrides):
    return d.Lend(
        loan_id=loan_id or f"L-{barcode}",
        copy=copy(barcode, **copy_overrides),
        desk_campus="north",
        today=today,
        policy=policy,
        term_end=TERM_END,
    )


def refused(patron, command):
    with pytest.raises(Refused) as caught:
        d.decide(patron, command)
    return caught.value


# ---------------------------------------------------------------- cards


def test_issuing_a_card_records_who_holds_it():
    [event] = d.decide(d.INITIAL, d.IssueCard("P1", "韩梅梅", "student", "G8-1", "south"))
    assert event.type == "CardIssued"
    assert event.data == {
        "patron_id": "P1",
        "name": "韩梅梅",
        "kind": "student",
        "class_name": "G8-1",
        "campus": "south",
    }
    NewEvent(event.type, "card-P1", dict(event.data)).validated()


def test_a_card_is_issued_once():
    error = refused(card(), d.IssueCard("P0000001", "李雷", "student", "G7-3", "north"))
    assert error.code == "card_exists" and "already has a library card" in str(error)


def test_students_and_class_corners_need_a_class_teachers_do_not():
    error = refused(d.INITIAL, d.IssueCard("P1", "李雷", "student", None, "north"))
    assert error.code == "class_required" and "G7-3" in str(error)
    assert (
        refused(d.INITIAL, d.IssueCard("P2", "G7-3 角", "class_corner", None, "north")).code
        == "class_required"
    )
    assert card(kind="teacher", class_name=None).status == "active"


def test_block_and_unblock():
    blocked = apply(card(), d.BlockCard("damaged three books"))
    assert blocked.status == "blocked"
    assert refused(blocked, d.BlockCard("again")).code == "already_blocked"
    assert apply(blocked, d.UnblockCard()).status == "active"
    assert "is not blocked" in str(refused(card(), d.UnblockCard()))


def test_a_retired_card_stays_retired():
    retired = apply(card(), d.RetireCard("graduated"))
    assert retired.status == "retired"
    assert "already retired" in str(refused(retired, d.RetireCard("again")))
    assert "cannot be blocked" in str(refused(retired, d.BlockCard("x")))
    assert "cannot be unblocked" in str(refused(retired, d.UnblockCard()))


def test_a_card_with_loans_or_debts_cannot_be_retired():
    holding = apply(card(), lend())
    error = refused(holding, d.RetireCard("graduated"))
    assert error.code == "not_cleared" and "return 1 book(s)" in str(error)
    owing = apply(holding, d.DeclareLost("L-C00000001", Decimal("59.70")))
    assert "pay ¥59.70" in str(refused(owing, d.RetireCard("graduated")))


def test_commands_on_a_card_that_does_not_exist_are_refused():
    assert refused(d.INITIAL, lend()).code == "no_card"
    assert refused(d.INITIAL, d.BlockCard("x")).code == "no_card"


# ---------------------------------------------------------------- lending


def test_lending_records_the_loan_with_its_due_date():
    [event] = d.decide(card(), lend())
    assert event.type == "Lent"
    assert event.data["due_on"] == (TODAY + timedelta(days=14)).isoformat()
    assert event.data["patron_kind"] == "student" and event.data["class_name"] == "G7-3"
    assert event.data["isbn"] == "9787020002207" and event.data["campus"] == "north"
    NewEvent("Lent", "card-P0000001", dict(event.data)).validated()


def test_teachers_borrow_for_thirty_days_and_class_corners_until_the_term_ends():
    [teacher_loan] = d.decide(card(kind="teacher", class_name=None), lend(policy=TEACHER))
    assert teacher_loan.data["due_on"] == (TODAY + timedelta(days=30)).isoformat()
    [corner_loan] = d.decide(card(kind="class_corner"), lend(policy=CORNER))
    assert corner_loan.data["due_on"] == TERM_END.isoformat()


def test_in_the_holidays_a_class_corner_loan_runs_its_days():
    assert CORNER.due_on(date(2027, 8, 1), None) == date(2027, 8, 1) + timedelta(days=120)


def test_reference_books_are_never_lent():
    error = refused(card(), lend(reference_only=True))
    assert error.code == "reference_only" and "reference book and is never lent" in str(error)


@pytest.mark.parametrize(
    "overrides, code, words",
    [
        ({"on_loan": True}, "copy_on_loan", "already on loan"),
        ({"status": "damaged"}, "copy_damaged", "damaged and waiting for repair"),
        ({"status": "weeded"}, "copy_weeded", "written off"),
        ({"campus": "south"}, "wrong_campus", "shelved at the south campus"),
    ],
)
def test_a_copy_must_be_on_the_shelf_at_the_desks_campus(overrides, code, words):
    error = refused(card(), lend(**overrides))
    assert error.code == code and words in str(error)


def test_a_copy_shelved_at_the_other_campus_is_refused_at_this_desk_with_its_campus():
    error = refused(card(), lend(campus="south"))
    assert error.code == "wrong_campus"
    assert str(error) == (
        "C00000001 is shelved at the south campus; it cannot be lent at the north desk"
    )


@pytest.mark.parametrize(
    "desk, todo",
    [("north", "receive it at the north desk first"), ("south", "send it to north")],
)
def test_a_copy_in_transit_home_is_lent_nowhere_until_it_is_back(desk, todo):
    in_transit = copy(transit_from="south")  # a north copy returned at the south desk
    command = d.Lend("L1", in_transit, desk, TODAY, STUDENT, TERM_END)
    error = refused(card(), command)
    assert error.code == "copy_in_transit"
    assert "in transit from the south campus to north, where it belongs" in str(error)
    assert todo in str(error)
    back_home = copy(transit_from=None)
    assert d.decide(card(), d.Lend("L1", back_home, "north", TODAY, STUDENT))[0].type == "Lent"


def test_a_student_may_hold_three_books():
    patron = card()
    for number in range(1, 4):
        patron = apply(patron, lend(f"C0000000{number}"))
    error = refused(patron, lend("C00000004"))
    assert error.code == "loan_limit"
    assert "already has 3 book(s), the limit for a student card is 3" in str(error)


def test_an_overdue_book_stops_all_borrowing():
    patron = apply(card(), lend(today=TODAY - timedelta(days=20)))
    error = refused(patron, lend("C00000002"))
    assert error.code == "overdue"
    assert "1 overdue book(s) (oldest: C00000001, due 2026-10-06)" in str(error)


def test_an_unpaid_loss_stops_borrowing_until_paid():
    patron = apply(apply(card(), lend()), d.DeclareLost("L-C00000001", Decimal("59.70")))
    error = refused(patron, lend("C00000002"))
    assert error.code == "unpaid_loss" and "owes ¥59.70" in str(error)
    paid = apply(patron, d.PayCompensation("L-C00000001", Decimal("59.70")))
    assert d.decide(paid, lend("C00000002"))[0].type == "Lent"


def test_blocked_and_retired_cards_cannot_borrow():
    assert refused(apply(card(), d.BlockCard("lost card")), lend()).code == "card_blocked"
    assert "(lost card)" in str(refused(apply(card(), d.BlockCard("lost card")), lend()))
    retired = apply(card(), d.RetireCard("left"))
    assert "retired and cannot borrow" in str(refused(retired, lend()))


def test_the_last_copies_are_held_for_readers_who_reserved_them():
    error = refused(card(), lend(others_waiting=2, shelf_copies=2))
    assert error.code == "held_for_reservation" and "held for readers" in str(error)


def test_a_copy_held_for_one_reader_goes_to_her_alone():
    """Another reader waiting for the same title may not take the copy put aside for
    the first: her reservation entitles her to the next copy, not this one."""
    second = apply(card(patron_id="P0000002"), d.Reserve("R2", "9787020002207", "north"))
    error = refused(second, lend(held_for="P0000001", others_waiting=1, shelf_copies=1))
    assert error.code == "held_for_reservation" and "C00000001" in str(error)
    first = apply(card(), d.Reserve("R1", "9787020002207", "north"))
    events = d.decide(first, lend(held_for="P0000001", others_waiting=1, shelf_copies=1))
    assert [e.type for e in events] == ["Lent", "ReservationFulfilled"]


def test_a_copy_is_held_only_while_others_wait_for_every_copy_left_on_the_shelf():
    assert not copy(others_waiting=0, shelf_copies=0).held_for_others
    assert not copy(others_waiting=1, shelf_copies=2).held_for_others
    assert copy(others_waiting=2, shelf_copies=2).held_for_others
    assert copy(others_waiting=3, shelf_copies=1).held_for_others
    assert d.decide(card(), lend(others_waiting=1, shelf_copies=2))[0].type == "Lent"


def test_one_rule_says_whether_a_copy_can_leave_the_desk():
    assert d.lendable(copy())
    assert not d.lendable(copy(reference_only=True))
    assert d.copy_refusal(copy(reference_only=True), "north").code == "reference_only"
    assert not d.lendable(copy(on_loan=True))
    assert not d.lendable(copy(status="damaged"))
    assert not d.lendable(copy(transit_from="south"))
    assert d.lendable(copy()) and not d.lendable(copy(), "south")  # a north copy at south


def test_a_copy_transferred_to_south_is_lent_nowhere_until_the_south_desk_receives_it():
    """A transfer leaves the copy south's, in transit from north: refused at both desks."""
    sent = copy(campus="south", transit_from="north")
    for desk, todo in (("south", "receive it at the south desk first"), ("north", "send it")):
        error = d.copy_refusal(sent, desk)
        assert error.code == "copy_in_transit" and todo in str(error)
    assert d.availability(sent, {})["status"] == "in_transit"
    assert d.availability(sent, {})["transit"] == {"from_campus": "north", "to_campus": "south"}
    assert d.availability(sent, {})["available"] is False
    received = copy(campus="south", transit_from=None)
    assert d.lendable(received, "south") and not d.lendable(received, "north")


def test_a_titles_copies_are_counted_where_they_belong():
    copies = [
        copy("C1"),  # on the north shelf
        copy("C2", on_loan=True),
        copy("C3", reference_only=True),
        copy("C4", status="damaged"),
        copy("C5", status="weeded"),  # written off: not held
        copy("C6", campus="south"),
        copy("C7", campus="south", transit_from="north"),  # transferred, not yet received
    ]
    assert d.title_availability(copies) == {
        "copies": {"north": 4, "south": 2},
        "available": {"north": 1, "south": 1},
        "on_loan": {"north": 1, "south": 0},
        "in_transit": {"north": 0, "south": 1},
    }
    assert d.title_availability([]) == {
        what: {"north": 0, "south": 0} for what in ("copies", "available", "on_loan", "in_transit")
    }


def test_the_desk_status_of_a_copy_on_loan_is_on_loan_not_on_shelf():
    assert copy(on_loan=True).desk_status == "on_loan"
    assert copy(transit_from="south").desk_status == "in_transit"
    assert copy(status="damaged", on_loan=False).desk_status == "damaged"
    assert copy().desk_status == "on_shelf"


def test_a_copy_on_no_loan_cannot_be_returned():
    with pytest.raises(Refused) as caught:
        d.borrower_returning("C00000001", None)
    assert caught.value.code == "not_on_loan"
    assert d.borrower_returning("C00000001", "P0000001") == "P0000001"


def test_lending_a_reserved_title_to_its_reserver_fulfils_the_reservation():
    patron = apply(card(kind="teacher", class_name=None), d.Reserve("R1", "9787020002207", "north"))
    events = d.decide(patron, lend(policy=TEACHER, others_waiting=1, shelf_copies=1))
    assert [e.type for e in events] == ["Lent", "ReservationFulfilled"]
    assert events[1].data == {
        "reservation_id": "R1",
        "patron_id": "P0000001",
        "loan_id": "L-C00000001",
    }
    assert fold(d.evolve, patron, events).reservations == {}


# ---------------------------------------------------------------- returning


def test_returning_on_time_and_late():
    patron = apply(card(), lend())
    [on_time] = d.decide(patron, d.ReturnCopy("C00000001", "north", TODAY + timedelta(days=3)))
    assert on_time.data["overdue_days"] == 0 and on_time.data["condition"] == "ok"
    [late] = d.decide(
        patron, d.ReturnCopy("C00000001", "south", TODAY + timedelta(days=20), "damaged")
    )
    assert late.data["overdue_days"] == 6 and late.data["campus"] == "south"
    assert late.data["condition"] == "damaged"
    assert fold(d.evolve, patron, [late]).loans == {}


def test_a_copy_is_taken_back_at_either_campus_and_the_return_names_its_home():
    patron = apply(card(), lend())
    [elsewhere] = d.decide(patron, d.ReturnCopy("C00000001", "south", TODAY, home_campus="north"))
    assert (elsewhere.data["campus"], elsewhere.data["home_campus"]) == ("south", "north")
    NewEvent(elsewhere.type, "card-P0000001", dict(elsewhere.data)).validated()
    [at_home] = d.decide(patron, d.ReturnCopy("C00000001", "north", TODAY, home_campus="north"))
    assert (at_home.data["campus"], at_home.data["home_campus"]) == ("north", "north")


def test_returning_a_copy_the_card_does_not_hold_is_refused():
    error = refused(card(), d.ReturnCopy("C00000009", "north", TODAY))
    assert error.code == "not_on_loan" and "C00000009 is not on loan to P0000001" in str(error)


WAITING = ["王芳", "陈老师", "赵老师"]  # readers who reserved the title there, first first


def test_a_copy_back_on_its_shelf_is_held_for_the_first_reader_its_shelf_does_not_serve():
    back = d.ReturnCopy("C00000001", "north", TODAY)
    out = copy(on_loan=True)
    # No copy on the shelf: it is held for the first who reserved; one there: the second.
    assert d.held_on_return(replace(out, shelf_copies=0), back, WAITING) == "王芳"
    assert d.held_on_return(replace(out, shelf_copies=1), back, WAITING) == "陈老师"
    # As many copies on the shelf as readers wait: this one is held for nobody.
    assert d.held_on_return(replace(out, shelf_copies=3), back, WAITING) is None
    assert d.held_on_return(out, back, []) is None


@pytest.mark.parametrize(
    ("back", "overrides"),
    [
        (d.ReturnCopy("C00000001", "north", TODAY, "damaged"), {}),  # off to be repaired
        (d.ReturnCopy("C00000001", "south", TODAY, home_campus="north"), {}),  # in transit
        (d.ReturnCopy("C00000001", "north", TODAY), {"status": "weeded"}),
    ],
)
def test_a_copy_not_back_on_its_shelf_is_held_for_nobody_yet(back, overrides):
    assert d.held_on_return(copy(on_loan=True, **overrides), back, WAITING) is None


# ---------------------------------------------------------------- renewing


def test_a_loan_is_renewed_once():
    patron = apply(card(), lend())
    renew = d.Renew("L-C00000001", TODAY + timedelta(days=10), STUDENT)
    [event] = d.decide(patron, renew)
    assert event.data["due_on"] == (TODAY + timedelta(days=28)).isoformat()
    renewed = fold(d.evolve, patron, [event])
    assert renewed.loans["L-C00000001"].renewed
    error = refused(renewed, renew)
    assert error.code == "already_renewed" and "already been renewed once" in str(error)


def test_overdue_reserved_unknown_and_class_corner_loans_are_not_renewed():
    patron = apply(card(), lend())
    late = d.Renew("L-C00000001", TODAY + timedelta(days=15), STUDENT)
    assert "1 day(s) overdue: it must be returned" in str(refused(patron, late))
    wanted = d.Renew("L-C00000001", TODAY, STUDENT, reserved_by_others=True)
    assert refused(patron, wanted).code == "reserved_by_others"
    assert refused(patron, d.Renew("L-nope", TODAY, STUDENT)).code == "no_such_loan"
    corner = apply(card(kind="class_corner"), lend(policy=CORNER))
    assert "whole term" in str(refused(corner, d.Renew("L-C00000001", TODAY, CORNER)))


# ---------------------------------------------------------------- reservations


def test_reservations_open_and_cancel():
    patron = apply(card(), d.Reserve("R1", "9787020002207", "north"))
    assert patron.reservations == {"R1": "9787020002207"}
    again = refused(patron, d.Reserve("R2", "9787020002207", "north"))
    assert again.code == "already_reserved"
    cancelled = apply(patron, d.CancelReservation("R1"))
    assert cancelled.reservations == {}
    assert refused(cancelled, d.CancelReservation("R1")).code == "no_such_reservation"


def test_reservations_are_limited_and_need_an_active_card():
    patron = card()
    for number in range(d.MAX_OPEN_RESERVATIONS):
        patron = apply(patron, d.Reserve(f"R{number}", f"isbn-{number}", "north"))
    assert refused(patron, d.Reserve("R9", "isbn-9", "north")).code == "reservation_limit"
    blocked = apply(card(), d.BlockCard("x"))
    assert "blocked and cannot reserve" in str(refused(blocked, d.Reserve("R1", "i", "north")))


# ---------------------------------------------------------------- losses


def test_a_lost_copy_is_owed_at_its_price():
    patron = apply(card(), lend())
    [lost] = d.decide(patron, d.DeclareLost("L-C00000001", Decimal("59.7")))
    assert lost.data["replacement_cost"] == "59.70"
    owing = fold(d.evolve, patron, [lost])
    assert owing.loans == {} and owing.total_owed() == Decimal("59.70")
    # paying it in parts, more than is owed, replacing it: tests/unit/test_losses.py
    assert refused(owing, d.PayCompensation("L-x", Decimal("1"))).code == "nothing_owed"
    assert refused(card(), d.DeclareLost("L-x", Decimal("1"))).code == "no_such_loan"


def test_an_unknown_command_fails_loudly():
    with pytest.raises(TypeError, match="cannot decide"):
        d.decide(card(), object())


# ---------------------------------------------------------------- policies


def test_policies_and_terms_come_from_the_config():
    from shared.config import load_config

    rules = rules_from_config(load_config())
    assert rules.policy("student") == STUDENT
    assert rules.policy("teacher") == TEACHER
    assert rules.policy("class_corner") == CORNER
    assert rules.term_end(date(2026, 11, 1)) == TERM_END
    assert rules.term_end(date(2027, 8, 1)) is None
    # This term's first day; in the holidays, the first day of the term just ended.
    assert rules.term_start(date(2026, 11, 1)) == date(2026, 9, 1)
    assert rules.term_start(date(2027, 2, 1)) == date(2026, 9, 1)
    assert rules.term_start(date(2027, 3, 1)) == date(2027, 2, 22)
    assert rules.term_start(date(2026, 8, 1)) is None


def test_a_config_without_a_kinds_policy_is_refused():
    from shared.config import ConfigError

    with pytest.raises(ConfigError, match="class_corner"):
        rules_from_config({"CIRCULATION": {"policies": {"student": {}, "teacher": {}}}})
