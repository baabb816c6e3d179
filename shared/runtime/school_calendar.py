"""The school calendar from the config: terms, closed days, the rota and today's date.

Circulation lends class corners until the end of a term and moves a due date off
a closed day; activities counts term targets; archives closes terms. All read
the same ``SCHOOL`` section::

    SCHOOL:
      timezone: Asia/Shanghai
      terms:
        - {name: 2026-autumn, starts: 2026-09-01, ends: 2027-01-22}
      weekends_closed: true              # Saturday and Sunday: the library is shut
      overdue_counts_closed_days: false  # days overdue count open days only
      closed:                            # holidays: one day or a range, each named
        - {name: 国庆节, starts: 2026-10-01, ends: 2026-10-07}
        - {name: 元旦, starts: 2027-01-01}
      open:                              # make-up school days (调休): open on a weekend
        - {name: 国庆调休, starts: 2026-10-10}
      rota:                              # each class's weekly borrowing slot
        - {class: G7-3, campus: north, weekday: 2, period: "3"}

The rules (``is_open``, ``next_open_day``, ``days_overdue``) are pure: the
calendar is a frozen value, the config's days layered with a librarian's
(circulation's calendar stream, ``services/circulation/calendar.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from shared.events.fields import CAMPUSES, CLASS_NAME_PATTERN

DEFAULT_TIMEZONE = "Asia/Shanghai"
WEEKEND = "weekend"  # why a Saturday or Sunday is closed (a code: screens word it)
CLOSED, OPEN = "closed", "open"  # a holiday; a make-up school day (调休) open although a weekend
KINDS = (CLOSED, OPEN)
# The longest run of closed days looked past for the next open one (a summer break is
# about 60): beyond it the calendar is wrong, and the day itself is kept.
MAX_CLOSED_RUN = 200
WEEKDAYS = range(1, 8)  # ISO: 1 is Monday, 7 is Sunday
CLASS_PATTERN = CLASS_NAME_PATTERN


class CalendarError(ValueError):
    """Raised when the ``SCHOOL`` section describes an impossible calendar."""


@dataclass(frozen=True)
class Term:
    name: str
    starts: date
    ends: date

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.starts <= day <= self.ends


@dataclass(frozen=True)
class ClosedDays:
    """A named holiday: one day (``starts`` == ``ends``) or a range, both days closed; or,
    of ``kind`` ``OPEN``, make-up school days (调休) the library opens on although they
    are a weekend or in a holiday.

    Known by its first day: a librarian's entry with the same ``starts`` replaces
    the config's, and removing ``starts`` removes the whole range.
    """

    name: str
    starts: date
    ends: date
    source: str = "config"  # or "librarian": set through the API
    kind: str = CLOSED

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.starts <= day <= self.ends


@dataclass(frozen=True)
class RotaSlot:
    """A class's weekly borrowing slot (借阅轮流表): a weekday (1 Monday .. 7 Sunday), a
    period as the school writes it (a lesson number "3", or a time "12:00-12:50"), at
    a campus's library."""

    class_name: str
    campus: str
    weekday: int
    period: str
    source: str = "config"


@dataclass(frozen=True)
class SchoolCalendar:
    terms: tuple[Term, ...] = ()
    timezone: str = DEFAULT_TIMEZONE
    closed: tuple[ClosedDays, ...] = ()
    weekends_closed: bool = True
    overdue_counts_closed_days: bool = False
    rota: tuple[RotaSlot, ...] = ()

    def today(self) -> date:
        """Today at the school, not at the server."""
        return datetime.now(ZoneInfo(self.timezone)).date()

    def term_of(self, day: date) -> Term | None:
        """The term ``day`` falls in, or None in the holidays."""
        return next((term for term in self.terms if day in term), None)

    def term_named(self, name: str) -> Term | None:
        return next((term for term in self.terms if term.name == name), None)

    # ------------------------------------------------------------ closed days

    def closed_reason(self, day: date) -> str | None:
        """Why the library is shut on ``day``: the holiday's name, ``WEEKEND``, or None (open,
        a make-up school day included)."""
        if any(entry.kind == OPEN and day in entry for entry in self.closed):
            return None
        holiday = next(
            (entry for entry in self.closed if entry.kind == CLOSED and day in entry), None
        )
        if holiday is not None:
            return holiday.name
        if self.weekends_closed and day.isoweekday() >= 6:
            return WEEKEND
        return None

    def is_open(self, day: date) -> bool:
        return self.closed_reason(day) is None

    def next_open_day(self, day: date) -> date:
        """``day`` when the library is open then, else the first open day after it: a due
        date on a Saturday moves to Monday, one in the winter break to the first day back."""
        for offset in range(MAX_CLOSED_RUN + 1):
            candidate = day + timedelta(days=offset)
            if self.is_open(candidate):
                return candidate
        return day

    def days_overdue(self, due_on: date, today: date) -> int:
        """Days a loan due ``due_on`` is overdue ``today``: every day after the due date, or
        (``overdue_counts_closed_days`` false, the default) only the days the library was
        open, since nobody could bring a book back to a shut library."""
        if today <= due_on:
            return 0
        if self.overdue_counts_closed_days:
            return (today - due_on).days
        return sum(
            self.is_open(due_on + timedelta(days=offset))
            for offset in range(1, (today - due_on).days + 1)
        )

    def closed_between(self, first: date, last: date) -> list[ClosedDays]:
        """The holidays and make-up days overlapping ``first``..``last``, by first day
        (weekends not listed)."""
        return sorted(
            (closed for closed in self.closed if closed.starts <= last and closed.ends >= first),
            key=lambda closed: closed.starts,
        )

    def rota_on(self, day: date, campus: str | None = None) -> list[RotaSlot]:
        """The classes whose borrowing slot falls on ``day`` (none when the library is shut)."""
        if not self.is_open(day):
            return []
        return [slot for slot in self.rota_of(campus) if slot.weekday == day.isoweekday()]

    def rota_of(self, campus: str | None = None) -> list[RotaSlot]:
        """The rota of a campus (the school's when None), by weekday and class."""
        return sorted(
            (slot for slot in self.rota if campus is None or slot.campus == campus),
            key=lambda slot: (slot.weekday, slot.class_name),
        )


def local_date(timestamp: str | datetime, timezone: str = DEFAULT_TIMEZONE) -> date:
    """The school's calendar date of a moment: an ISO-8601 timestamp (an event's
    occurred_at) or a datetime with its offset (an offline scan's time)."""
    moment = timestamp if isinstance(timestamp, datetime) else datetime.fromisoformat(timestamp)
    return moment.astimezone(ZoneInfo(timezone)).date()


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


def closed_days(
    name: str, starts: date, ends: date | None, source: str = "config", kind: str = CLOSED
) -> ClosedDays:
    """A holiday (or make-up days), checked: named, and not ending before it starts."""
    if not str(name).strip():
        raise CalendarError(f"the closed days from {starts} need a name (e.g. 国庆节)")
    ends = ends or starts
    if ends < starts:
        raise CalendarError(f"{name}: ends {ends} before it starts {starts}")
    if kind not in KINDS:
        raise CalendarError(f"{name}: kind {kind!r} is not one of {KINDS}")
    return ClosedDays(str(name).strip(), starts, ends, source, kind)


def rota_slot(
    class_name: str, campus: str, weekday: int, period: str, source: str = "config"
) -> RotaSlot:
    """A class's weekly slot, checked: a class like G7-3, a campus, a weekday 1..7."""
    if not CLASS_PATTERN.match(str(class_name)):
        raise CalendarError(f"rota: {class_name!r} is not a class like G7-3")
    if campus not in CAMPUSES:
        raise CalendarError(f"rota {class_name}: campus {campus!r} is not one of {CAMPUSES}")
    if int(weekday) not in WEEKDAYS:
        raise CalendarError(f"rota {class_name}: weekday {weekday} is not 1 (Monday) .. 7")
    if not str(period).strip():
        raise CalendarError(f"rota {class_name}: a period is needed (e.g. 3 or 12:00-12:50)")
    return RotaSlot(class_name, campus, int(weekday), str(period).strip(), source)


def calendar_from_config(config: dict[str, Any]) -> SchoolCalendar:
    """The ``SCHOOL`` section as a calendar; ``CalendarError`` naming what is wrong in it."""
    section = config.get("SCHOOL") or {}
    terms = tuple(
        Term(str(term["name"]), _date(term["starts"]), _date(term["ends"]))
        for term in section.get("terms") or ()
    )
    try:
        closed = tuple(
            closed_days(
                entry.get("name", ""),
                _date(entry["starts"]),
                _date(entry["ends"]) if entry.get("ends") else None,
                kind=kind,
            )
            for key, kind in (("closed", CLOSED), ("open", OPEN))
            for entry in section.get(key) or ()
        )
        rota = tuple(
            rota_slot(entry["class"], entry["campus"], entry["weekday"], entry["period"])
            for entry in section.get("rota") or ()
        )
    except (KeyError, TypeError, ValueError) as error:
        raise CalendarError(f"SCHOOL.closed, SCHOOL.open or SCHOOL.rota: {error}") from None
    if len({entry.starts for entry in closed}) != len(closed):
        raise CalendarError("SCHOOL.closed/open: two entries start on the same day")
    if len({slot.class_name for slot in rota}) != len(rota):
        raise CalendarError("SCHOOL.rota: a class has two slots (each class borrows once a week)")
    return SchoolCalendar(
        terms,
        str(section.get("timezone") or DEFAULT_TIMEZONE),
        closed,
        bool(section.get("weekends_closed", True)),
        bool(section.get("overdue_counts_closed_days", False)),
        rota,
    )
