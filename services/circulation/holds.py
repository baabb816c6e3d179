"""Reserved books ready at the desk (预约到书), and the ones nobody came for: pure rules.

A copy brought back that a reader reserved is held for them (``domain.held_on_return``);
``HoldReady`` on the reader's card says which copy and the day it must be picked up
by: ``pick_up_by``, the N-th day the library is open after the day it came back
(``CIRCULATION.hold_pick_up_days`` in the config). A hold not picked up by then
expires (``HoldExpired``, which also closes the reservation) and its copy passes
to the next reader waiting for the title at that campus who has no copy held yet
(``next_reader``), who gets a ``HoldReady`` of their own, or back to the shelf.

The holds share the card's stream (``card-<patron_id>``) and its history with
``domain``; this module decides only the two hold commands, on a state that is the
card (folded by ``domain.evolve``) plus its ready holds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any, TypeVar

from services.circulation import domain
from shared.eventsourcing.decider import Aggregate, Event, Refused

T = TypeVar("T", bound=Mapping[str, Any])
DEFAULT_PICK_UP_DAYS = 3
MAX_LOOK_AHEAD = 400  # days looked through for open ones: a calendar closed longer is wrong


@dataclass(frozen=True)
class Hold:
    reservation_id: str
    barcode: str
    campus: str
    isbn: str
    title: str
    ready_on: date
    pick_up_by: date


@dataclass(frozen=True)
class CardHolds:
    """A card as ``domain`` folds it, with the holds ready for it (by reservation)."""

    card: domain.Patron = domain.INITIAL
    holds: dict[str, Hold] = field(default_factory=dict)


@dataclass(frozen=True)
class MarkReady:
    reservation_id: str
    barcode: str
    campus: str
    isbn: str
    title: str
    ready_on: date
    pick_up_by: date


@dataclass(frozen=True)
class Expire:
    reservation_id: str
    today: date


def pick_up_by(ready_on: date, open_days: int, is_open: Callable[[date], bool]) -> date:
    """The last day a reader may collect a book ready on ``ready_on``: the ``open_days``-th
    day after it that the library is open (a Friday's book, 3 open days, by Wednesday)."""
    if open_days < 1:
        raise ValueError("a hold is kept at least one open day")
    day, counted = ready_on, 0
    for _ in range(MAX_LOOK_AHEAD):
        day += timedelta(days=1)
        counted += is_open(day)
        if counted == open_days:
            return day
    return ready_on + timedelta(days=open_days)


def is_expired(hold: Hold, today: date) -> bool:
    """Not picked up by its day: the day after ``pick_up_by`` it is released."""
    return today > hold.pick_up_by


def expired(holds: Iterable[Hold], today: date) -> list[Hold]:
    """The holds to release ``today``, first due first."""
    return sorted((h for h in holds if is_expired(h, today)), key=lambda h: h.pick_up_by)


def next_reader(waiting: Sequence[T], released_by: str) -> T | None:
    """Whom a released copy passes to: of the readers ``waiting`` for its title at its
    campus (first reserved first, each with ``patron_id`` and ``held``: a copy is ready
    for them already), the first who has none and is not the one it was released by;
    None: the copy goes back to the shelf."""
    return next(
        (w for w in waiting if not w["held"] and w["patron_id"] != released_by),
        None,
    )


def shelf_copy_for(free: Sequence[str], waiting_before: int) -> str | None:
    """A title reserved while copies are on the shelf: the copy held for the new reader,
    of the ``free`` ones (lendable, held for nobody yet), after the ``waiting_before``
    readers still waiting unserved have theirs; None when the shelf has none left."""
    return free[waiting_before] if waiting_before < len(free) else None


def decide(state: CardHolds, command: MarkReady | Expire) -> list[Event]:
    card = state.card
    match command:
        case MarkReady():
            if command.reservation_id not in card.reservations:
                raise Refused(
                    f"{card.patron_id} has no open reservation {command.reservation_id}",
                    "no_such_reservation",
                )
            if command.reservation_id in state.holds:
                raise Refused(
                    f"a copy is ready for reservation {command.reservation_id} already",
                    "hold_ready_already",
                )
            return [
                Event(
                    "HoldReady",
                    {
                        "reservation_id": command.reservation_id,
                        "patron_id": card.patron_id,
                        "barcode": command.barcode,
                        "campus": command.campus,
                        "isbn": command.isbn,
                        "title": command.title,
                        "ready_on": command.ready_on.isoformat(),
                        "pick_up_by": command.pick_up_by.isoformat(),
                    },
                )
            ]
        case Expire():
            hold = state.holds.get(command.reservation_id)
            if hold is None:
                raise Refused(
                    f"no copy is held for reservation {command.reservation_id}", "no_hold"
                )
            if not is_expired(hold, command.today):
                raise Refused(
                    f"{hold.barcode} is held until {hold.pick_up_by.isoformat()}", "hold_not_due"
                )
            return [
                Event(
                    "HoldExpired",
                    {
                        "reservation_id": hold.reservation_id,
                        "patron_id": card.patron_id,
                        "barcode": hold.barcode,
                        "campus": hold.campus,
                        "isbn": hold.isbn,
                        "pick_up_by": hold.pick_up_by.isoformat(),
                        "expired_on": command.today.isoformat(),
                    },
                )
            ]
    raise TypeError(f"holds cannot decide {type(command).__name__}")


def evolve(state: CardHolds, event: Any) -> CardHolds:
    """The card after one more event (``domain.evolve``), and its ready holds."""
    card = domain.evolve(state.card, event)
    data = event.data
    holds = state.holds
    if event.type == "HoldReady":
        hold = Hold(
            data["reservation_id"],
            data["barcode"],
            data["campus"],
            data["isbn"],
            data["title"],
            date.fromisoformat(data["ready_on"]),
            date.fromisoformat(data["pick_up_by"]),
        )
        holds = {**holds, hold.reservation_id: hold}
    elif event.type in ("HoldExpired", "ReservationFulfilled", "ReservationCancelled"):
        holds = {k: v for k, v in holds.items() if k != data["reservation_id"]}
    return replace(state, card=card, holds=holds)


# The card's stream again, folded with its holds (not cached: ``domain.CARD`` is).
HOLDS = Aggregate("card", "card-", CardHolds(), evolve, decide, missing="no library card {key!r}")
