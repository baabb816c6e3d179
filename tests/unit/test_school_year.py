"""The school year's rules: the next class, the graduating grades, one turn per year."""

from datetime import date
from decimal import Decimal

import pytest

from services.circulation import domain as d
from services.circulation import school_year as y
from shared.eventsourcing.decider import Refused, fold
from shared.runtime.school_year import (
    class_order,
    graduates,
    graduating_grades_from_config,
    moved_classes,
    next_class,
    teacher_classes,
)

GRADES = (9, 12)
TODAY = date(2027, 8, 25)
STARTS = date(2027, 8, 30)


def card(class_name="G7-3", kind="student", patron_id="P0000001", name="李雷"):
    issued = d.decide(d.INITIAL, d.IssueCard(patron_id, name, kind, class_name, "north"))
    return fold(d.evolve, d.INITIAL, issued)


def apply(patron, command):
    return fold(d.evolve, patron, d.decide(patron, command))


def lend_to(patron):
    copy = d.CopyAtDesk(
        "C00000001", "9787020002207", "红楼梦", "I242.4", "north", "on_shelf", False, False,
        Decimal("59.70"),
    )  # fmt: skip
    return apply(patron, d.Lend("L1", copy, "north", TODAY, d.Policy(3, 14)))


# ---------------------------------------------------------------- the one class rule


@pytest.mark.parametrize(
    ("now", "then"),
    [("G7-3", "G8-3"), ("G8-10", "G9-10"), ("G10-1", "G11-1"), ("G11-5", "G12-5"),
     ("G1-2", "G2-2"), ("G6-4", "G7-4")],
)  # fmt: skip
def test_a_class_moves_up_one_grade_keeping_its_number(now, then):
    assert next_class(now, GRADES) == then


@pytest.mark.parametrize("leaving", ["G9-3", "G12-5", "G9-10"])
def test_the_top_grades_of_each_stage_graduate_and_do_not_move(leaving):
    assert graduates(leaving, GRADES)
    assert next_class(leaving, GRADES) is None


def test_a_school_without_a_junior_stage_moves_g9_up_and_g12_always_graduates():
    assert next_class("G9-3", (12,)) == "G10-3"
    assert next_class("G12-1", (9,)) is None  # there is no G13


def test_what_is_no_class_is_an_error_not_a_guess():
    with pytest.raises(ValueError, match="G7-3"):
        next_class("初一(3)班", GRADES)


def test_the_classes_moved_and_those_graduating_in_school_order():
    moved, leaving = moved_classes(["G8-3", "G7-10", "G7-3", "G9-1", "G12-2", "G7-3"], GRADES)
    assert list(moved.items()) == [("G7-3", "G8-3"), ("G7-10", "G8-10"), ("G8-3", "G9-3")]
    assert leaving == ["G9-1", "G12-2"]
    assert sorted(["G8-1", "G7-10", "G7-2"], key=class_order) == ["G7-2", "G7-10", "G8-1"]


def test_a_class_teacher_follows_her_class_and_loses_one_that_graduated():
    assert teacher_classes(("G8-1", "G7-3"), GRADES) == ["G8-3", "G9-1"]
    assert teacher_classes(("G9-3",), GRADES) == []


def test_the_graduating_grades_come_from_the_config():
    assert graduating_grades_from_config({}) == (9, 12)
    assert graduating_grades_from_config({"SCHOOL": {"graduating_grades": [6, 12]}}) == (6, 12)
    with pytest.raises(ValueError, match="graduating_grades"):
        graduating_grades_from_config({"SCHOOL": {"graduating_grades": [13]}})


# ---------------------------------------------------------------- one card


def test_a_students_card_moves_up_with_one_event_naming_both_classes():
    events = d.decide(card(), d.TurnYear(2027, GRADES, STARTS))
    assert [(e.type, dict(e.data)) for e in events] == [
        (
            "CardClassChanged",
            {"patron_id": "P0000001", "kind": "student", "from_class": "G7-3",
             "to_class": "G8-3", "school_year": 2027, "starts": "2027-08-30"},
        )
    ]  # fmt: skip
    assert fold(d.evolve, card(), events).class_name == "G8-3"


def test_a_graduate_keeps_the_class_and_is_marked_with_the_year():
    graduate = apply(card("G9-3"), d.TurnYear(2027, GRADES, STARTS))
    assert (graduate.class_name, graduate.graduated, graduate.status) == ("G9-3", 2027, "active")
    assert d.decide(graduate, d.TurnYear(2028, GRADES, STARTS)) == []  # a graduate moves no more


def test_a_teacher_whose_class_graduated_has_no_class():
    teacher = apply(card("G12-1", kind="teacher"), d.TurnYear(2027, GRADES, STARTS))
    assert (teacher.class_name, teacher.graduated) == (None, None)


def test_turning_the_same_year_twice_moves_a_card_once():
    moved = apply(card(), d.TurnYear(2027, GRADES, STARTS))
    assert d.decide(moved, d.TurnYear(2027, GRADES, STARTS)) == []
    assert apply(moved, d.TurnYear(2028, GRADES, STARTS)).class_name == "G9-3"


def test_retired_cards_and_cards_without_a_class_do_not_move():
    retired = apply(card(), d.RetireCard("left"))
    assert d.decide(retired, d.TurnYear(2027, GRADES, STARTS)) == []
    assert d.decide(card(None, kind="teacher"), d.TurnYear(2027, GRADES, STARTS)) == []


# ---------------------------------------------------------------- the whole school


def turn(turns, year, cards):
    return y.turn(turns, y.TurnSchoolYear(year, GRADES, STARTS, cards))


def test_a_turn_decides_every_card_and_one_summary():
    cards = [card("G7-3", patron_id="P1"), card("G9-3", patron_id="P2"),
             card("G9-3", kind="class_corner", patron_id="P3")]  # fmt: skip
    decided = turn(y.NO_TURNS, 2027, cards)
    assert {k: [e.type for e in v] for k, v in decided.cards.items()} == {
        "P1": ["CardClassChanged"],
        "P2": ["CardGraduated"],
        "P3": ["CardGraduated"],
    }
    [summary] = decided.year
    assert summary.type == "SchoolYearTurned"
    assert summary.data["moved"] == {"G7-3": "G8-3"}
    assert summary.data["graduating"] == ["G9-3"]
    assert (summary.data["cards_moved"], summary.data["cards_graduated"]) == (1, 2)


def test_a_year_turned_already_moves_nothing_and_an_earlier_one_is_refused():
    turns = fold(y.evolve, y.NO_TURNS, turn(y.NO_TURNS, 2027, [card()]).year)
    assert turn(turns, 2027, [card()]) == y.Turn([], {})
    assert y.answer(turns, 2027, already=True)["already_turned"] is True
    with pytest.raises(Refused) as refused:
        turn(turns, 2026, [card()])
    assert refused.value.code == "school_year_past"


def test_graduates_holding_nothing_are_retired_the_others_kept():
    clear = apply(card("G9-3", patron_id="P1"), d.TurnYear(2027, GRADES, STARTS))
    holding = lend_to(apply(card("G9-3", patron_id="P2"), d.TurnYear(2027, GRADES, STARTS)))
    retired, kept = y.retire_or_keep([clear, holding], "graduated (2027)")
    assert [e.type for e in retired["P1"]] == ["CardRetired"]
    assert kept == ["P2"]
