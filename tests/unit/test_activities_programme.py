"""The reading programme's settings: term targets from the config, weeks, months and terms."""

from datetime import date

import pytest

from services.activities.programme import month_named, programme_from_config
from shared.config import ConfigError, load_config
from shared.errors import NotFound

SCHOOL = {
    "SCHOOL": {
        "timezone": "Asia/Shanghai",
        "terms": [{"name": "2026-autumn", "starts": "2026-09-01", "ends": "2027-01-22"}],
    }
}


def test_targets_default_to_five_books_and_five_loans():
    programme = programme_from_config(SCHOOL)
    assert (programme.books_per_student, programme.loans_per_teacher) == (5, 5)
    assert programme_from_config(load_config()).books_per_student >= 1


def test_targets_come_from_the_activities_section():
    programme = programme_from_config(
        {**SCHOOL, "ACTIVITIES": {"term_target_books": 8, "term_target_loans": "3"}}
    )
    assert (programme.books_per_student, programme.loans_per_teacher) == (8, 3)


@pytest.mark.parametrize("value", [0, "many", None])
def test_a_bad_target_is_a_configuration_error(value):
    with pytest.raises(ConfigError, match="term_target_books"):
        programme_from_config({**SCHOOL, "ACTIVITIES": {"term_target_books": value}})


def test_a_week_runs_monday_to_sunday():
    week = programme_from_config(SCHOOL).period("week", date(2026, 10, 15))
    assert (week.name, week.starts, week.ends) == (
        "2026-W42",
        date(2026, 10, 12),
        date(2026, 10, 18),
    )
    assert week.as_dict() == {
        "period": "week",
        "name": "2026-W42",
        "from": "2026-10-12",
        "to": "2026-10-18",
    }


def test_a_month_and_a_named_month():
    month = programme_from_config(SCHOOL).period("month", date(2027, 2, 14))
    assert (month.name, month.starts, month.ends) == (
        "2027-02",
        date(2027, 2, 1),
        date(2027, 2, 28),
    )
    assert month_named("2026-12").ends == date(2026, 12, 31)


def test_a_term_comes_from_the_school_calendar_and_the_holidays_have_none():
    programme = programme_from_config(SCHOOL)
    term = programme.period("term", date(2026, 12, 1))
    assert (term.name, term.starts, term.ends) == (
        "2026-autumn",
        date(2026, 9, 1),
        date(2027, 1, 22),
    )
    with pytest.raises(NotFound, match="2026-08-01 is in the school holidays"):
        programme.period("term", date(2026, 8, 1))
    with pytest.raises(ValueError, match="year"):
        programme.period("year", date(2026, 12, 1))
