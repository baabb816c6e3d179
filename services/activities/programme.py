"""The reading programme's settings: the school calendar and the term targets.

Read once from the config and handed to workers by the ``Programme``
DependencyProvider, as circulation's ``Rules`` hands out its lending policies.
The terms and the school's time zone come from ``SCHOOL`` (shared by every
service); the targets from ``ACTIVITIES``, which may be left out::

    ACTIVITIES:
      term_target_books: 5   # books each student reads in a term
      term_target_loans: 5   # loans each teacher takes out in a term

Both default to 5, the figure in the school's library plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from nameko.extensions import DependencyProvider

from shared.config import ConfigError
from shared.errors import NotFound
from shared.runtime.school_calendar import (
    SchoolCalendar,
    Term,
    calendar_from_config,
    month_of,
    week_of,
)

DEFAULT_TERM_TARGET = 5
PERIODS = ("week", "month", "term")


@dataclass(frozen=True)
class Period:
    """A stretch of school days figures are counted over: a week, a month or a term."""

    kind: str  # week, month, term
    name: str  # 2026-W42, 2026-10, 2026-autumn
    starts: date
    ends: date

    def as_dict(self) -> dict[str, str]:
        return {
            "period": self.kind,
            "name": self.name,
            "from": self.starts.isoformat(),
            "to": self.ends.isoformat(),
        }


def week(on: date) -> Period:
    monday, sunday = week_of(on)
    year, number, _ = monday.isocalendar()
    return Period("week", f"{year}-W{number:02d}", monday, sunday)


def month(on: date) -> Period:
    first, last = month_of(on)
    return Period("month", f"{first:%Y-%m}", first, last)


def month_named(name: str) -> Period:
    """The month ``2026-10``."""
    return month(date.fromisoformat(f"{name}-01"))


@dataclass(frozen=True)
class ReadingProgramme:
    calendar: SchoolCalendar
    books_per_student: int = DEFAULT_TERM_TARGET
    loans_per_teacher: int = DEFAULT_TERM_TARGET

    def today(self) -> date:
        """Today at the school, not at the server."""
        return self.calendar.today()

    def term(self, on: date) -> Term:
        """The term ``on`` falls in; ``NotFound`` in the holidays."""
        term = self.calendar.term_of(on)
        if term is None:
            raise NotFound(
                f"{on.isoformat()} is in the school holidays: it is in no term of the "
                "school calendar"
            )
        return term

    def period(self, kind: str, on: date) -> Period:
        """The week, month or term ``on`` falls in."""
        if kind == "week":
            return week(on)
        if kind == "month":
            return month(on)
        if kind == "term":
            term = self.term(on)
            return Period("term", term.name, term.starts, term.ends)
        raise ValueError(f"a period is one of {', '.join(PERIODS)}, not {kind!r}")


def _target(section: dict[str, Any], key: str) -> int:
    value = section.get(key, DEFAULT_TERM_TARGET)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"ACTIVITIES.{key} must be a whole number, not {value!r}") from None
    if number < 1:
        raise ConfigError(f"ACTIVITIES.{key} must be at least 1, not {number}")
    return number


def programme_from_config(config: dict[str, Any]) -> ReadingProgramme:
    """Read ``SCHOOL`` and ``ACTIVITIES`` (optional; the targets default to 5)."""
    section = config.get("ACTIVITIES") or {}
    return ReadingProgramme(
        calendar_from_config(config),
        books_per_student=_target(section, "term_target_books"),
        loans_per_teacher=_target(section, "term_target_loans"),
    )


class Programme(DependencyProvider):
    """Gives workers the reading programme read once from the config."""

    def setup(self) -> None:
        self.programme = programme_from_config(self.container.config)

    def get_dependency(self, worker_ctx: Any) -> ReadingProgramme:
        return self.programme
