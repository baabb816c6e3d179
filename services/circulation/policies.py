"""The lending rules from the config: policies per kind of card, the term calendar, today.

Kept out of the domain (which receives a ``Policy`` and dates with each command)
and out of code: the school changes them in ``infra/config.yml``::

    CIRCULATION:
      policies: {student: {max_loans: 3, loan_days: 14}, ...}
      terms: [{name: 2026-autumn, starts: 2026-09-01, ends: 2027-01-22}, ...]
      timezone: Asia/Shanghai
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from nameko.extensions import DependencyProvider

from services.circulation.domain import PATRON_KINDS, Policy
from shared.config import ConfigError

DEFAULT_TIMEZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class Term:
    name: str
    starts: date
    ends: date


@dataclass(frozen=True)
class LendingRules:
    policies: dict[str, Policy]
    terms: tuple[Term, ...]
    timezone: str = DEFAULT_TIMEZONE

    def policy(self, kind: str) -> Policy:
        return self.policies[kind]

    def term_end(self, on: date) -> date | None:
        """The last day of the term ``on`` falls in, or None in the holidays."""
        for term in self.terms:
            if term.starts <= on <= term.ends:
                return term.ends
        return None

    def today(self) -> date:
        """Today at the school, not at the server."""
        return datetime.now(ZoneInfo(self.timezone)).date()


def _date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def rules_from_config(config: dict[str, Any]) -> LendingRules:
    """Read ``CIRCULATION`` from the config; a missing kind is a configuration error."""
    section = config.get("CIRCULATION") or {}
    raw = section.get("policies") or {}
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
    terms = tuple(
        Term(str(term["name"]), _date(term["starts"]), _date(term["ends"]))
        for term in section.get("terms") or ()
    )
    return LendingRules(policies, terms, str(section.get("timezone") or DEFAULT_TIMEZONE))


class Rules(DependencyProvider):
    """Gives workers the lending rules read once from the config."""

    def setup(self) -> None:
        self.rules = rules_from_config(self.container.config)

    def get_dependency(self, worker_ctx: Any) -> LendingRules:
        return self.rules
