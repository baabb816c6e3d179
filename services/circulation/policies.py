"""The lending rules from the config: a policy per kind of card, with the school calendar
(its closed days move due dates; a librarian's changes over it: ``calendar.py``).

Kept out of the domain (which receives a ``Policy`` and dates with each command)
and out of code: the school changes them in ``infra/config.yml``::

    CIRCULATION:
      policies: {student: {max_loans: 3, loan_days: 14}, ...}
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from nameko.extensions import DependencyProvider

from services.circulation.domain import PATRON_KINDS, Policy
from shared.config import ConfigError
from shared.runtime.school_calendar import CalendarError, SchoolCalendar, calendar_from_config


@dataclass(frozen=True)
class LendingRules:
    policies: dict[str, Policy]
    calendar: SchoolCalendar

    def policy(self, kind: str) -> Policy:
        return self.policies[kind]

    def term_end(self, on: date) -> date | None:
        """The last day of the term ``on`` falls in, or None in the holidays."""
        term = self.calendar.term_of(on)
        return term.ends if term else None

    def term_start(self, on: date) -> date | None:
        """The first day of the term ``on`` falls in; in the holidays, of the term just
        ended; None before the calendar's first term."""
        begun = [term for term in self.calendar.terms if term.starts <= on]
        return max(term.starts for term in begun) if begun else None

    def today(self) -> date:
        return self.calendar.today()


def rules_from_config(config: dict[str, Any]) -> LendingRules:
    """Read ``CIRCULATION`` and ``SCHOOL``; a kind without a policy is a configuration error."""
    raw = (config.get("CIRCULATION") or {}).get("policies") or {}
    missing = [kind for kind in PATRON_KINDS if kind not in raw]
    if missing:
        raise ConfigError(f"CIRCULATION.policies lacks {', '.join(missing)}")
    policies = {
        kind: Policy(
            max_loans=int(raw[kind]["max_loans"]),
            loan_days=int(raw[kind]["loan_days"]),
            until_term_end=bool(raw[kind].get("until_term_end", False)),
        )
        for kind in PATRON_KINDS
    }
    try:
        calendar = calendar_from_config(config)
    except CalendarError as error:
        raise ConfigError(str(error)) from None
    return LendingRules(policies, calendar)


class Rules(DependencyProvider):
    """Gives workers the lending rules read once from the config."""

    def setup(self) -> None:
        self.rules = rules_from_config(self.container.config)

    def get_dependency(self, worker_ctx: Any) -> LendingRules:
        return self.rules
