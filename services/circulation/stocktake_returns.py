"""What circulation does when a stock-take (清点) finds a copy that is out on loan.

The catalog's ``CopyCounted`` names the loan the copy was on when it was
scanned; the copy is evidently back in the library, so it is returned for its
borrower at the stock-take's campus, on the day it was counted, the
``Returned`` event naming the stock-take (``stocktake_id``: "found in
stock-take"). It is an ordinary return, decided by the card's rules, recorded in
the consumer's transaction with ids derived from the catalog's event: a
redelivered event returns nothing twice, and a loan that ended meanwhile (the
borrower brought it to the desk) is left as it is. Taken back as at the desk
(``taking_back``): its days overdue by the school's calendar, and held for the
next reader waiting for its title, who is told.
"""

from __future__ import annotations

from collections.abc import Mapping
from logging import getLogger
from typing import Any

from services.circulation import calendar as cal
from services.circulation import domain, queries
from services.circulation.mailer import settings_from_config
from services.circulation.policies import LendingRules, rules_from_config
from services.circulation.taking_back import take_back
from shared.events.envelope import Envelope
from shared.eventsourcing.decider import Refused
from shared.eventsourcing.projection import Reaction
from shared.eventsourcing.unit_of_work import UnitOfWork
from shared.runtime.school_calendar import local_date

_log = getLogger(__name__)


class FoundInStocktake(Reaction):
    """A copy a stock-take found while on loan is returned, noting the stock-take."""

    name = "found_in_stocktake"
    sources = ("catalog",)
    rules: LendingRules | None = None  # set by ``configure``, before any event
    pick_up_days = settings_from_config({}).hold_pick_up_days

    def configure(self, config: Mapping[str, Any]) -> None:
        """The school's calendar (the return's day, days overdue) and how long a hold lasts."""
        self.rules = rules_from_config(dict(config))
        self.pick_up_days = settings_from_config(dict(config)).hold_pick_up_days

    def react(self, uow: UnitOfWork, event: Envelope) -> None:
        data = event.data
        if event.type != "CopyCounted" or not data.get("loan_id"):
            return
        if uow.earlier():  # reacted to already: nothing is returned twice
            return
        holder = queries.lock_loan_of_copy(uow.cursor, data["barcode"])
        if holder is None or holder[0] != data["loan_id"]:
            return  # that loan ended meanwhile: returned at the desk, or declared lost
        _, patron_id, home_campus = holder
        assert self.rules is not None, "configure() gives the reaction the school's rules"
        school = self.rules.calendar
        calendar = cal.effective(school, uow.get(cal.CALENDAR, cal.KEY).state)
        back = domain.ReturnCopy(
            data["barcode"],
            data["campus"],
            local_date(event.occurred_at, school.timezone),
            home_campus=home_campus,
            stocktake_id=data["stocktake_id"],
            calendar=calendar,
        )
        try:
            take_back(uow, patron_id, back, calendar, self.pick_up_days)
        except Refused as refusal:
            _log.info(
                "CopyCounted #%d returns nothing for copy %s: %s",
                event.position,
                data["barcode"],
                refusal,
                extra={"correlation_id": event.correlation_id},
            )
