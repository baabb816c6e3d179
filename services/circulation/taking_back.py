"""Taking a copy back, wherever it comes from: the desk, or a stock-take that found it.

A copy back in the library is returned for its borrower (``domain.ReturnCopy``)
and, when readers wait for its title at its campus, put aside for the next of
them (``domain.held_on_return``) with the day to pick it up by (``holds``), so a
copy found on the shelf in a stock-take is held for its reserver exactly as one
brought to the desk is.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from logging import getLogger
from typing import Any, NamedTuple

from services.circulation import domain, holds, queries
from shared.eventsourcing.decider import Refused
from shared.eventsourcing.store import Appended
from shared.eventsourcing.unit_of_work import UnitOfWork
from shared.runtime.school_calendar import SchoolCalendar

_log = getLogger(__name__)


def mark_ready(
    uow: UnitOfWork,
    reader: Mapping[str, Any],
    copy: domain.CopyAtDesk,
    today: date,
    calendar: SchoolCalendar,
    pick_up_days: int,
) -> None:
    """Hold ``copy`` for ``reader`` (``reservation_id``, ``patron_id``) from ``today``."""
    by = holds.pick_up_by(today, pick_up_days, calendar.is_open)
    ready = holds.MarkReady(
        reader["reservation_id"], copy.barcode, copy.campus, copy.isbn, copy.title, today, by
    )
    try:
        uow.execute(holds.HOLDS, reader["patron_id"], ready)
    except Refused as refusal:  # a copy is ready for that reservation already
        _log.info("no hold for %s: %s", reader["reservation_id"], refusal)


class TakenBack(NamedTuple):
    """A return as recorded: the stored ``Returned``, the copy and the borrower's card as
    they were before it, and whom the copy is now held for (None: nobody)."""

    stored: Appended
    copy: domain.CopyAtDesk
    card: domain.Patron
    held_for: dict[str, Any] | None


def take_back(
    uow: UnitOfWork,
    borrower: str,
    back: domain.ReturnCopy,
    calendar: SchoolCalendar,
    pick_up_days: int,
) -> TakenBack:
    """Return the copy for ``borrower``; hold it for the next reader waiting, if any."""
    copy, waiting = queries.copy_coming_back(uow.cursor, back.barcode)
    card = uow.get(domain.CARD, borrower)
    stored = uow.record(card, domain.CARD.decide(card.state, back))
    held = domain.held_on_return(copy, back, waiting)
    if held is not None:
        mark_ready(uow, held, copy, back.today, calendar, pick_up_days)
    return TakenBack(stored, copy, card.state, held)
