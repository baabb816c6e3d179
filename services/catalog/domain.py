"""The life of one physical copy, as a pure Decider (no I/O).

A copy is added, may be damaged and repaired, moved between campuses, made
reference-only or lendable again, and finally weeded (written off). Streams are
``copy-<barcode>``.

Whether a copy is out on loan is circulation's fact, not the catalog's: the
service reads it from its read model and hands it in as part of the command, so
``decide`` stays a pure function of (state, command).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, assert_never

from shared.domain import Event, Refused
from shared.exceptions import NotFound

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


Command = AddCopy | MarkDamaged | Repair | Weed | Transfer | SetReferenceOnly


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
    if command.on_loan:
        raise Refused(
            f"Copy {command.barcode} is out on loan; transfer it once it has been returned.",
            "copy_on_loan",
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
    return [Event("Transferred", data)]


def set_reference_only(state: Copy, command: SetReferenceOnly) -> list[Event]:
    if command.reference_only == state.reference_only:
        already = "reference-only" if state.reference_only else "lendable (not reference-only)"
        raise Refused(f"Copy {command.barcode} is already {already}.", "reference_unchanged")
    data = {"barcode": command.barcode, "reference_only": command.reference_only}
    return [Event("ReferenceStatusChanged", data)]


def _in_stock(state: Copy, command: Command) -> Copy:
    """The copy, if it was catalogued and not written off; otherwise why not."""
    if state.status == ABSENT:
        raise NotFound(f"No copy has barcode {command.barcode}.")
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
            return replace(state, status=WEEDED, weed_reason=data["reason"])
        case "Transferred":
            return replace(state, campus=data["to_campus"], shelf=data["shelf"])
        case "ReferenceStatusChanged":
            return replace(state, reference_only=data["reference_only"])
    raise ValueError(f"a copy's stream cannot hold a {event.type} event")
