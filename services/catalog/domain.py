"""The life of one physical copy, as a pure Decider (no I/O).

A copy is added, may be damaged and repaired, transferred between campuses and
finally weeded. Streams are ``copy-<barcode>``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from shared.domain import Event, Refused


def stream_id(barcode: str) -> str:
    return f"copy-{barcode}"


@dataclass(frozen=True)
class Copy:
    barcode: str | None = None
    status: str = "absent"  # absent -> on_shelf <-> damaged; any -> weeded
    campus: str | None = None
    reference_only: bool = False
    details: dict[str, Any] | None = None


INITIAL = Copy()


@dataclass(frozen=True)
class AddCopy:
    barcode: str
    details: dict[str, Any]  # isbn, title, author, classification, campus, shelf, price, ...


def decide(state: Copy, command: AddCopy) -> list[Event]:
    match command:
        case AddCopy():
            if state.status != "absent":
                raise Refused(f"copy {command.barcode} is already catalogued", "copy_exists")
            return [Event("BookAdded", {"barcode": command.barcode, **command.details})]
    raise TypeError(f"unknown command {command!r}")


def evolve(state: Copy, event: Any) -> Copy:
    match event.type:
        case "BookAdded":
            data = event.data
            return replace(
                state,
                barcode=data["barcode"],
                status="on_shelf",
                campus=data["campus"],
                reference_only=data["reference_only"],
                details=dict(data),
            )
    return state
