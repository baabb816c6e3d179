"""Closing a term, as a pure Decider: one stream per term, ``term-<name>``.

A term is closed once, not before it has started; its report is computed by the
service from the books of record and frozen in the ``TermClosed`` event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from shared.eventsourcing.decider import Aggregate, Event, Refused


def stream_id(term: str) -> str:
    return f"term-{term}"


@dataclass(frozen=True)
class TermState:
    closed_on: date | None = None


INITIAL = TermState()


@dataclass(frozen=True)
class CloseTerm:
    term: str
    starts: date
    on: date
    report: dict[str, Any]


def decide(state: TermState, command: CloseTerm) -> list[Event]:
    match command:
        case CloseTerm():
            if state.closed_on is not None:
                raise Refused(
                    f"term {command.term} was already closed on {state.closed_on.isoformat()}",
                    "term_closed",
                )
            if command.on < command.starts:
                raise Refused(
                    f"term {command.term} starts on {command.starts.isoformat()}; "
                    "it cannot be closed before it has begun",
                    "term_not_started",
                )
            return [
                Event(
                    "TermClosed",
                    {
                        "term": command.term,
                        "closed_on": command.on.isoformat(),
                        "report": command.report,
                    },
                )
            ]
    raise TypeError(f"archives cannot decide {type(command).__name__}")


def evolve(state: TermState, event: Any) -> TermState:
    if event.type == "TermClosed":
        return TermState(closed_on=date.fromisoformat(event.data["closed_on"]))
    return state


# A school term's stream: closed once, with its report frozen in the event.
TERM = Aggregate("term", "term-", INITIAL, evolve, decide)
