"""The school's calendar as the library keeps it: closed days and the rota, as a Decider.

The config's ``SCHOOL`` section is the default (``shared.runtime.school_calendar``);
a librarian's changes are events on one stream, ``calendar-school``, so they are
replayed, audited and the same on every instance. A holiday is known by its first
day: setting one with the config's first day replaces it, removing it reopens the
days. A class has one weekly slot: setting it replaces the config's, clearing it
takes the class off the rota. ``effective`` lays the stream over the config.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, NoReturn

from shared.eventsourcing.decider import Aggregate, Event, Refused
from shared.runtime.school_calendar import (
    CLOSED,
    CalendarError,
    ClosedDays,
    RotaSlot,
    SchoolCalendar,
    closed_days,
    rota_slot,
)

KEY = "school"  # the school's one calendar stream: calendar-school
LIBRARIAN = "librarian"  # the source of what was set through the API


@dataclass(frozen=True)
class CalendarChanges:
    """A librarian's changes to the config's calendar."""

    closed: dict[date, ClosedDays] = field(default_factory=dict)  # set, by first day
    reopened: frozenset[date] = frozenset()  # first days removed (the config's too)
    rota: dict[str, RotaSlot] = field(default_factory=dict)  # set, by class
    cleared: frozenset[str] = frozenset()  # classes taken off the rota


INITIAL = CalendarChanges()


# ---------------------------------------------------------------- commands


@dataclass(frozen=True)
class SetClosedDays:
    name: str
    starts: date
    ends: date | None = None
    kind: str = CLOSED  # or OPEN: make-up school days (调休)


@dataclass(frozen=True)
class RemoveClosedDays:
    starts: date
    calendar: SchoolCalendar  # as it stands (config and changes): what there is to remove


@dataclass(frozen=True)
class SetRotaSlot:
    class_name: str
    campus: str
    weekday: int
    period: str


@dataclass(frozen=True)
class ClearRotaSlot:
    class_name: str
    calendar: SchoolCalendar


Command = SetClosedDays | RemoveClosedDays | SetRotaSlot | ClearRotaSlot


def decide(changes: CalendarChanges, command: Command) -> list[Event]:
    """The events a librarian's change leads to, or ``Refused`` with the reason."""
    try:
        return _decide(command)
    except CalendarError as error:  # the schemas check the same: a defence, not a path
        raise Refused(str(error), "calendar_invalid") from None


def _decide(command: Command) -> list[Event]:
    match command:
        case SetClosedDays(name=name, starts=starts, ends=ends, kind=kind):
            days = closed_days(name, starts, ends, kind=kind)
            return [
                Event(
                    "ClosedDaysSet",
                    {
                        "starts": starts.isoformat(),
                        "ends": days.ends.isoformat(),
                        "name": days.name,
                        "kind": days.kind,
                    },
                )
            ]
        case RemoveClosedDays(starts=starts, calendar=calendar):
            if not any(closed.starts == starts for closed in calendar.closed):
                raise Refused(
                    f"no closed days start on {starts.isoformat()}", "no_such_closed_days"
                )
            return [Event("ClosedDaysRemoved", {"starts": starts.isoformat()})]
        case SetRotaSlot():
            slot = rota_slot(command.class_name, command.campus, command.weekday, command.period)
            return [
                Event(
                    "RotaSlotSet",
                    {
                        "class_name": slot.class_name,
                        "campus": slot.campus,
                        "weekday": slot.weekday,
                        "period": slot.period,
                    },
                )
            ]
        case ClearRotaSlot(class_name=class_name, calendar=calendar):
            if not any(slot.class_name == class_name for slot in calendar.rota):
                raise Refused(f"{class_name} has no slot on the rota", "no_such_rota_slot")
            return [Event("RotaSlotCleared", {"class_name": class_name})]
    _unknown(command)


def _unknown(command: Any) -> NoReturn:
    raise TypeError(f"the calendar cannot decide {type(command).__name__}")


def evolve(changes: CalendarChanges, event: Any) -> CalendarChanges:
    """The changes after one more of their events."""
    data = event.data
    match event.type:
        case "ClosedDaysSet":
            starts = date.fromisoformat(data["starts"])
            ends = date.fromisoformat(data["ends"])
            days = ClosedDays(data["name"], starts, ends, LIBRARIAN, data.get("kind", CLOSED))
            return replace(
                changes,
                closed={**changes.closed, starts: days},
                reopened=changes.reopened - {starts},
            )
        case "ClosedDaysRemoved":
            starts = date.fromisoformat(data["starts"])
            return replace(
                changes,
                closed={k: v for k, v in changes.closed.items() if k != starts},
                reopened=changes.reopened | {starts},
            )
        case "RotaSlotSet":
            slot = RotaSlot(
                data["class_name"], data["campus"], int(data["weekday"]), data["period"], LIBRARIAN
            )
            return replace(
                changes,
                rota={**changes.rota, slot.class_name: slot},
                cleared=changes.cleared - {slot.class_name},
            )
        case "RotaSlotCleared":
            name = data["class_name"]
            return replace(
                changes,
                rota={k: v for k, v in changes.rota.items() if k != name},
                cleared=changes.cleared | {name},
            )
    return changes


def effective(config: SchoolCalendar, changes: CalendarChanges) -> SchoolCalendar:
    """The calendar the library keeps: the config's days and rota, a librarian's over them."""
    replaced_or_removed = changes.reopened | set(changes.closed)
    closed = [days for days in config.closed if days.starts not in replaced_or_removed]
    closed += changes.closed.values()
    taken = changes.cleared | set(changes.rota)
    rota = [slot for slot in config.rota if slot.class_name not in taken]
    rota += changes.rota.values()
    return replace(
        config,
        closed=tuple(sorted(closed, key=lambda days: (days.starts, days.ends))),
        rota=tuple(sorted(rota, key=lambda slot: slot.class_name)),
    )


# The school's calendar stream; small, and read by every lend: cached (``FoldCache``).
CALENDAR = Aggregate("calendar", "calendar-", INITIAL, evolve, decide, campus=None, cached=True)
