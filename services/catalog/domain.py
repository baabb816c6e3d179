"""The life of one physical copy, as a pure Decider (no I/O).

A copy is added, may be damaged and repaired, moved between campuses, made
reference-only or lendable again, and finally weeded (written off). Streams are
``copy-<barcode>``.

A copy belongs to one campus (``campus``). Returned at the other campus's desk,
it is *in transit* home (``transit_from`` is where it is now) until its home
desk receives it, or a librarian transfers it to the campus where it is.
Transferred to the other campus, it belongs there at once and is in transit
there the same way, lent nowhere until that campus's desk receives it.

Whether a copy is out on loan is circulation's fact, not the catalog's: the
service reads it from its read model and hands it in as part of the command, so
``decide`` stays a pure function of (state, command).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, assert_never

from shared.eventsourcing.decider import Aggregate, Event, Refused

ABSENT = "absent"
ON_SHELF = "on_shelf"
DAMAGED = "damaged"
WEEDED = "weeded"
LOST = "lost"


def stream_id(barcode: str) -> str:
    return f"copy-{barcode}"


@dataclass(frozen=True)
class Copy:
    """What the catalog knows about one copy, folded from its events."""

    barcode: str | None = None
    status: str = ABSENT  # absent -> on_shelf <-> damaged; on_shelf or damaged -> weeded
    campus: str | None = None
    shelf: str | None = None
    reference_only: bool = False
    price: str | None = None
    classification: str | None = None
    weed_reason: str | None = None
    details: dict[str, Any] | None = None
    transit_from: str | None = None  # in transit home from this campus (returned or sent there)

    @property
    def in_transit(self) -> bool:
        return self.transit_from is not None

    @property
    def where(self) -> str | None:
        """The campus the copy is at now: where it was returned or sent from while in
        transit, else its own."""
        return self.transit_from or self.campus


INITIAL = Copy()


@dataclass(frozen=True)
class AddCopy:
    barcode: str
    details: dict[str, Any]  # isbn, title, author, classification, campus, shelf, price, ...


@dataclass(frozen=True)
class MarkDamaged:
    barcode: str
    note: str = ""
    loan_id: str | None = None  # set when the copy came back damaged from a loan


@dataclass(frozen=True)
class Repair:
    barcode: str
    note: str = ""


@dataclass(frozen=True)
class Weed:
    barcode: str
    reason: str  # outdated, damaged_beyond_repair, lost, duplicate
    note: str = ""
    on_loan: bool = False


@dataclass(frozen=True)
class Transfer:
    barcode: str
    to_campus: str
    shelf: str
    on_loan: bool = False


@dataclass(frozen=True)
class SetReferenceOnly:
    barcode: str
    reference_only: bool


@dataclass(frozen=True)
class TakenBack:
    """Circulation took the copy back at a campus desk (the catalog's reaction to ``Returned``)."""

    barcode: str
    campus: str
    loan_id: str | None = None
    returned_on: str | None = None


@dataclass(frozen=True)
class Receive:
    """A desk received a copy that was on its way home from the other campus."""

    barcode: str
    campus: str


Command = AddCopy | MarkDamaged | Repair | Weed | Transfer | SetReferenceOnly | TakenBack | Receive


def decide(state: Copy, command: Command) -> list[Event]:
    """The events a command leads to, or ``Refused`` with a reason a librarian can act on."""
    match command:
        case AddCopy():
            return add_copy(state, command)
        case MarkDamaged():
            return mark_damaged(_in_stock(state, command), command)
        case Repair():
            return repair(_in_stock(state, command), command)
        case Weed():
            return weed(_in_stock(state, command), command)
        case Transfer():
            return transfer(_in_stock(state, command), command)
        case SetReferenceOnly():
            return set_reference_only(_in_stock(state, command), command)
        case TakenBack():
            return taken_back(_in_stock(state, command), command)
        case Receive():
            return receive(_in_stock(state, command), command)
        case _:
            assert_never(command)


def add_copy(state: Copy, command: AddCopy) -> list[Event]:
    if state.status != ABSENT:
        raise Refused(f"Copy {command.barcode} is already catalogued.", "copy_exists")
    return [Event("BookAdded", {"barcode": command.barcode, **command.details})]


def mark_damaged(state: Copy, command: MarkDamaged) -> list[Event]:
    if state.status == DAMAGED:
        raise Refused(
            f"Copy {command.barcode} is already marked damaged; repair it or weed it.",
            "copy_already_damaged",
        )
    data: dict[str, Any] = {"barcode": command.barcode, "note": command.note}
    if command.loan_id is not None:
        data["loan_id"] = command.loan_id
    return [Event("CopyDamaged", data)]


def repair(state: Copy, command: Repair) -> list[Event]:
    if state.status != DAMAGED:
        raise Refused(
            f"Copy {command.barcode} is not marked damaged, so there is nothing to repair.",
            "copy_not_damaged",
        )
    return [Event("Repaired", {"barcode": command.barcode, "note": command.note})]


def weed(state: Copy, command: Weed) -> list[Event]:
    """Write a copy off; its price and classification go into the write-off register."""
    if command.on_loan and command.reason != LOST:
        raise Refused(
            f"Copy {command.barcode} is out on loan; weed it once it has been returned, "
            "or when it is declared lost.",
            "copy_on_loan",
        )
    data = {
        "barcode": command.barcode,
        "reason": command.reason,
        "value": state.price,
        "classification": state.classification,
        "note": command.note,
    }
    return [Event("Weeded", data)]


def transfer(state: Copy, command: Transfer) -> list[Event]:
    """Make the copy the other campus's: ``Transferred``, then ``TransitStarted`` from
    where it is to its new home, which receives it (``receive``). Transferred to the
    campus where it already is (it was returned there, on its way home), it belongs
    there from now on and its transit ends: nothing travels."""
    if command.on_loan:
        raise Refused(
            f"Copy {command.barcode} is out on loan; transfer it once it has been returned.",
            "copy_on_loan",
        )
    if state.in_transit and command.to_campus == state.campus:
        raise Refused(
            f"Copy {command.barcode} is on its way home to the {state.campus} campus from "
            f"{state.transit_from}; receive it at the {state.campus} desk when it arrives.",
            "copy_in_transit",
        )
    if command.to_campus == state.campus:
        raise Refused(
            f"Copy {command.barcode} is already at the {command.to_campus} campus.",
            "same_campus",
        )
    data = {
        "barcode": command.barcode,
        "from_campus": state.campus,
        "to_campus": command.to_campus,
        "shelf": command.shelf,
    }
    transferred = Event("Transferred", data)
    if command.to_campus == state.where:
        return [transferred]
    on_its_way = {
        "barcode": command.barcode,
        "from_campus": state.where,
        "to_campus": command.to_campus,
    }
    return [transferred, Event("TransitStarted", on_its_way)]


def set_reference_only(state: Copy, command: SetReferenceOnly) -> list[Event]:
    if command.reference_only == state.reference_only:
        already = "reference-only" if state.reference_only else "lendable (not reference-only)"
        raise Refused(f"Copy {command.barcode} is already {already}.", "reference_unchanged")
    data = {"barcode": command.barcode, "reference_only": command.reference_only}
    return [Event("ReferenceStatusChanged", data)]


def taken_back(state: Copy, command: TakenBack) -> list[Event]:
    """A copy returned at another campus's desk goes into transit home; at home, nothing to do.

    (A copy the catalog had in transit that comes back at its home desk has
    evidently arrived; that cannot happen while circulation refuses to lend a
    copy in transit, but the record would then say so.)
    """
    if command.campus == state.campus:
        if state.in_transit:
            return [_arrived(state, command.barcode)]
        return []
    if state.transit_from == command.campus:
        return []
    data: dict[str, Any] = {
        "barcode": command.barcode,
        "from_campus": command.campus,
        "to_campus": state.campus,
    }
    if command.loan_id is not None:
        data["loan_id"] = command.loan_id
    if command.returned_on is not None:
        data["returned_on"] = command.returned_on
    return [Event("TransitStarted", data)]


def receive(state: Copy, command: Receive) -> list[Event]:
    """The copy in transit arrived at the desk of its (new) home: its transit ends there;
    any other desk is refused (``not_home_campus``), a copy not in transit too."""
    if not state.in_transit:
        raise Refused(
            f"Copy {command.barcode} is not in transit; it belongs to the {state.campus} campus.",
            "not_in_transit",
        )
    if command.campus != state.campus:
        raise Refused(
            f"Copy {command.barcode} belongs to the {state.campus} campus and is on its way "
            f"there from {state.transit_from}; receive it at the {state.campus} desk, or "
            f"transfer it to {command.campus} to keep it here.",
            "not_home_campus",
        )
    return [_arrived(state, command.barcode)]


def _arrived(state: Copy, barcode: str) -> Event:
    return Event(
        "ArrivedHome",
        {"barcode": barcode, "campus": state.campus, "from_campus": state.transit_from},
    )


def _in_stock(state: Copy, command: Command) -> Copy:
    """The copy, if it was not written off; otherwise why not (a copy never catalogued
    is not found: ``COPY.missing``)."""
    if state.status != WEEDED:
        return state
    gone = f"Copy {command.barcode} was weeded ({state.weed_reason})"
    if isinstance(command, Weed):
        raise Refused(f"{gone} already; it cannot be weeded twice.", "copy_already_weeded")
    doing = {
        MarkDamaged: "marked damaged",
        Repair: "repaired",
        Transfer: "transferred",
        SetReferenceOnly: "made reference-only or lendable",
        TakenBack: "sent home",
        Receive: "received",
    }[type(command)]
    raise Refused(f"{gone}; a weeded copy cannot be {doing}.", "copy_weeded")


def evolve(state: Copy, event: Any) -> Copy:
    """The copy after one of its events (``event`` has ``type`` and ``data``)."""
    data = event.data
    match event.type:
        case "BookAdded":
            return replace(
                state,
                barcode=data["barcode"],
                status=ON_SHELF,
                campus=data["campus"],
                shelf=data["shelf"],
                reference_only=data["reference_only"],
                price=data["price"],
                classification=data["classification"],
                details=dict(data),
            )
        case "CopyDamaged":
            return replace(state, status=DAMAGED)
        case "Repaired":
            return replace(state, status=ON_SHELF)
        case "Weeded":
            return replace(state, status=WEEDED, weed_reason=data["reason"], transit_from=None)
        case "Transferred":
            return replace(state, campus=data["to_campus"], shelf=data["shelf"], transit_from=None)
        case "ReferenceStatusChanged":
            return replace(state, reference_only=data["reference_only"])
        case "TransitStarted":
            return replace(state, transit_from=data["from_campus"])
        case "ArrivedHome":
            return replace(state, transit_from=None)
    raise ValueError(f"a copy's stream cannot hold a {event.type} event")


# ---------------------------------------------------------------- the stream

# One physical copy's stream; its events belong to the campus it is shelved at.
COPY = Aggregate(
    "copy",
    "copy-",
    INITIAL,
    evolve,
    decide,
    missing="No copy has barcode {key}.",
    campus=lambda copy: copy.campus,
)
NEW_COPY = replace(COPY, missing=None)  # cataloguing: the copy does not exist yet
