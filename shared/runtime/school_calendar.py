"""The school calendar from the config: terms and today's date at the school.

Circulation lends class corners until the end of a term; activities counts
term targets; archives closes terms. All read the same ``SCHOOL`` section::

    SCHOOL:
      timezone: Asia/Shanghai
      terms:
        - {name: 2026-autumn, starts: 2026-09-01, ends: 2027-01-22}
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

DEFAULT_TIMEZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class Term:
    name: str
    starts: date
    ends: date

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.starts <= day <= self.ends


@dataclass(frozen=True)
class SchoolCalendar:
    terms: tuple[Term, ...] = ()
    timezone: str = DEFAULT_TIMEZONE

    def today(self) -> date:
        """Today at the school, not at the server."""
        return datetime.now(ZoneInfo(self.timezone)).date()

    def term_of(self, day: date) -> Term | None:
        """The term ``day`` falls in, or None in the holidays."""
        return next((term for term in self.terms if day in term), None)

    def term_named(self, name: str) -> Term | None:
        return next((term for term in self.terms if term.name == name), None)


def local_date(timestamp: str, timezone: str = DEFAULT_TIMEZONE) -> date:
    """The school's calendar date of an ISO-8601 timestamp (e.g. an event's occurred_at)."""
    return datetime.fromisoformat(timestamp).astimezone(ZoneInfo(timezone)).date()


def week_of(day: date) -> tuple[date, date]:
    """Monday and Sunday of the week ``day`` is in."""
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


def month_of(day: date) -> tuple[date, date]:
    """First and last day of the month ``day`` is in."""
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def _date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def calendar_from_config(config: dict[str, Any]) -> SchoolCalendar:
    section = config.get("SCHOOL") or {}
    terms = tuple(
        Term(str(term["name"]), _date(term["starts"]), _date(term["ends"]))
        for term in section.get("terms") or ()
    )
    return SchoolCalendar(terms, str(section.get("timezone") or DEFAULT_TIMEZONE))
