"""The school calendar's rules, without any server: closed days move due dates, days
overdue count open days unless the school says otherwise, a librarian's days and rota
lie over the config's, and lend, renew and return use them."""

from dataclasses import replace
from datetime import date

import pytest

from services.circulation import calendar as cal
from services.circulation import domain as d
from shared.eventsourcing.decider import Refused, fold
from shared.runtime.school_calendar import (
    WEEKEND,
    CalendarError,
    calendar_from_config,
)
from tests.unit.test_circulation_domain import STUDENT, apply, card, lend

CONFIG = {
    "SCHOOL": {
        "timezone": "Asia/Shanghai",
        "terms": [
            {"name": "2026-autumn", "starts": "2026-09-01", "ends": "2027-01-22"},
            {"name": "2027-spring", "starts": "2027-02-22", "ends": "2027-07-09"},
        ],
        "closed": [
            {"name": "国庆节", "starts": "2026-10-01", "ends": "2026-10-07"},
            {"name": "元旦", "starts": "2027-01-01"},
            {"name": "寒假", "starts": "2027-01-23", "ends": "2027-02-21"},
        ],
        "rota": [
            {"class": "G7-3", "campus": "north", "weekday": 2, "period": "3"},
            {"class": "G8-1", "campus": "south", "weekday": 2, "period": "12:00-12:50"},
        ],
    }
}
SCHOOL = calendar_from_config(CONFIG)


def test_an_open_weekday_stays_and_a_weekend_moves_to_monday():
    assert SCHOOL.next_open_day(date(2026, 10, 14)) == date(2026, 10, 14)  # a Wednesday
    assert SCHOOL.closed_reason(date(2026, 10, 17)) == WEEKEND
    assert SCHOOL.next_open_day(date(2026, 10, 17)) == date(2026, 10, 19)  # Saturday -> Monday
    assert SCHOOL.next_open_day(date(2026, 10, 18)) == date(2026, 10, 19)


def test_weekends_open_when_the_school_says_so():
    open_weekends = calendar_from_config({"SCHOOL": {**CONFIG["SCHOOL"], "weekends_closed": False}})
    assert open_weekends.next_open_day(date(2026, 10, 17)) == date(2026, 10, 17)


def test_a_due_date_in_the_national_day_week_moves_to_the_first_day_back():
    assert SCHOOL.closed_reason(date(2026, 10, 3)) == "国庆节"
    assert SCHOOL.next_open_day(date(2026, 10, 1)) == date(2026, 10, 8)


def test_a_due_date_in_the_winter_break_moves_to_the_first_day_of_next_term():
    assert SCHOOL.next_open_day(date(2027, 2, 1)) == date(2027, 2, 22)
    assert SCHOOL.term_of(date(2027, 2, 22)).name == "2027-spring"
    assert SCHOOL.next_open_day(date(2027, 1, 1)) == date(2027, 1, 4)  # 元旦, then a weekend


def test_days_overdue_count_open_days_only_by_default():
    due = date(2026, 9, 30)  # the day before the national-day week
    assert SCHOOL.days_overdue(due, date(2026, 9, 30)) == 0
    assert SCHOOL.days_overdue(due, date(2026, 10, 8)) == 1  # the holiday does not count
    assert SCHOOL.days_overdue(due, date(2026, 10, 12)) == 3  # Oct 8, 9, 12: no weekend
    counting = replace(SCHOOL, overdue_counts_closed_days=True)
    assert counting.days_overdue(due, date(2026, 10, 12)) == 12


def test_a_make_up_school_day_opens_a_weekend_and_counts_as_overdue():
    make_up = {"name": "国庆调休", "starts": "2026-10-10"}  # a Saturday
    school = calendar_from_config({"SCHOOL": {**CONFIG["SCHOOL"], "open": [make_up]}})
    assert school.is_open(date(2026, 10, 10)) and school.closed_reason(date(2026, 10, 11))
    assert school.next_open_day(date(2026, 10, 10)) == date(2026, 10, 10)
    assert school.days_overdue(date(2026, 9, 30), date(2026, 10, 12)) == 4  # Oct 8, 9, 10, 12
    inside = {"name": "开放日", "starts": "2026-10-05"}  # opens a day of a holiday too
    school = calendar_from_config({"SCHOOL": {**CONFIG["SCHOOL"], "open": [inside]}})
    assert school.next_open_day(date(2026, 10, 1)) == date(2026, 10, 5)


def test_the_config_is_checked():
    bad = {"SCHOOL": {"closed": [{"name": "x", "starts": "2026-10-07", "ends": "2026-10-01"}]}}
    with pytest.raises(CalendarError, match="ends"):
        calendar_from_config(bad)
    with pytest.raises(CalendarError, match="G7-3"):
        calendar_from_config({"SCHOOL": {"rota": [{"class": "七年级", "campus": "north",
                                                    "weekday": 1, "period": "3"}]}})  # fmt: skip
    same_day = {"open": [{"name": "x", "starts": "2026-10-01"}]}
    with pytest.raises(CalendarError, match="same day"):
        calendar_from_config({"SCHOOL": {**CONFIG["SCHOOL"], **same_day}})
    twice = [{"class": "G7-3", "campus": "north", "weekday": d, "period": "3"} for d in (1, 2)]
    with pytest.raises(CalendarError, match="two slots"):
        calendar_from_config({"SCHOOL": {"rota": twice}})


def test_the_rota_of_a_day_and_a_campus():
    tuesday = date(2026, 10, 13)
    assert [s.class_name for s in SCHOOL.rota_on(tuesday)] == ["G7-3", "G8-1"]
    assert [s.class_name for s in SCHOOL.rota_on(tuesday, "north")] == ["G7-3"]
    assert SCHOOL.rota_on(date(2026, 10, 6)) == []  # a Tuesday in the national-day week


# ---------------------------------------------------------------- a librarian's changes


def changed(*commands, base=SCHOOL):
    """The calendar after a librarian's commands, each decided on the calendar as it stands."""
    changes = cal.INITIAL
    for command in commands:
        if isinstance(command, cal.RemoveClosedDays | cal.ClearRotaSlot):
            command = replace(command, calendar=cal.effective(base, changes))
        events = cal.decide(changes, command)
        changes = fold(cal.evolve, changes, events)
    return cal.effective(base, changes)


def test_a_librarian_adds_closed_days_over_the_config():
    sports_day = cal.SetClosedDays("运动会", date(2026, 10, 21), None)
    school = changed(sports_day)
    assert school.next_open_day(date(2026, 10, 21)) == date(2026, 10, 22)
    assert [c.source for c in school.closed_between(date(2026, 10, 1), date(2026, 10, 31))] == [
        "config",
        "librarian",
    ]


def test_a_librarian_opens_a_make_up_day():
    school = changed(cal.SetClosedDays("调休上课", date(2026, 10, 17), None, kind="open"))
    assert school.next_open_day(date(2026, 10, 17)) == date(2026, 10, 17)
    [entry] = [e for e in school.closed if e.starts == date(2026, 10, 17)]
    assert (entry.kind, entry.source) == ("open", "librarian")


def test_the_same_first_day_replaces_and_removing_reopens_the_config_days():
    shorter = cal.SetClosedDays("国庆节", date(2026, 10, 1), date(2026, 10, 3))
    school = changed(shorter)
    assert school.next_open_day(date(2026, 10, 1)) == date(2026, 10, 5)
    reopened = changed(cal.RemoveClosedDays(date(2026, 10, 1), SCHOOL))
    assert reopened.is_open(date(2026, 10, 6))
    with pytest.raises(Refused) as caught:
        changed(cal.RemoveClosedDays(date(2026, 10, 2), SCHOOL))
    assert caught.value.code == "no_such_closed_days"


def test_a_librarian_sets_and_clears_rota_slots():
    moved = changed(cal.SetRotaSlot("G7-3", "south", 4, "12:00-12:50"))
    assert [(s.campus, s.weekday, s.source) for s in moved.rota_of() if s.class_name == "G7-3"] == [
        ("south", 4, "librarian")
    ]
    cleared = changed(cal.ClearRotaSlot("G8-1", SCHOOL))
    assert [s.class_name for s in cleared.rota_of()] == ["G7-3"]
    with pytest.raises(Refused) as caught:
        changed(cal.ClearRotaSlot("G8-1", SCHOOL), cal.ClearRotaSlot("G8-1", SCHOOL))
    assert caught.value.code == "no_such_rota_slot"


# ---------------------------------------------------------------- lend, renew, return


def test_lending_and_renewing_move_a_due_date_off_a_closed_day():
    patron = card()
    lent = d.decide(patron, replace(lend(today=date(2026, 9, 22)), calendar=SCHOOL))
    assert lent[0].data["due_on"] == "2026-10-08"  # Oct 6 is in the national-day week
    on_saturday = d.decide(patron, replace(lend(today=date(2026, 10, 3)), calendar=SCHOOL))
    assert on_saturday[0].data["due_on"] == "2026-10-19"  # Oct 17 is a Saturday
    without = d.decide(patron, lend(today=date(2026, 9, 22)))
    assert without[0].data["due_on"] == "2026-10-06"

    holding = apply(patron, replace(lend(today=date(2027, 1, 4)), calendar=SCHOOL))
    loan_id = next(iter(holding.loans))
    assert holding.loans[loan_id].due_on == date(2027, 1, 18)
    renewed = d.decide(holding, d.Renew(loan_id, date(2027, 1, 18), STUDENT, calendar=SCHOOL))
    assert renewed[0].data["due_on"] == "2027-02-22"  # Feb 1 is in the winter break


def test_a_return_counts_days_overdue_as_the_policy_says():
    holding = apply(card(), lend(today=date(2026, 9, 16)))  # due Sep 30
    back = d.ReturnCopy("C00000001", "north", date(2026, 10, 12), calendar=SCHOOL)
    assert d.decide(holding, back)[0].data["overdue_days"] == 3
    counting = replace(back, calendar=replace(SCHOOL, overdue_counts_closed_days=True))
    assert d.decide(holding, counting)[0].data["overdue_days"] == 12
