"""The year's turn, as a pure decision: every class up a grade, the top grades graduate.

One stream, ``school-year-turns``, records each turn (``SchoolYearTurned``): the
school year it opened (2027 for 2027-28), the classes moved and those that
graduated. It makes the turn idempotent however it is asked: the same year
again moves nothing and is answered with what it did; an earlier year than
the last one turned is refused (``school_year_past``).

Each card gets its own event on its own stream (``CardClassChanged`` or
``CardGraduated``, decided by ``domain.TurnYear``), so a card's history says
which class it was in when, a replay rebuilds the same classes, and other
school systems learn each student's new class from the card's stream alone.
Graduates keep their class (G9-3) and are marked with their year, so they are
never confused with the students who move up into G9-3 the same day.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from services.circulation import domain
from shared.eventsourcing.decider import Aggregate, Event, Refused
from shared.runtime.school_year import moved_classes

STREAM_KEY = "turns"


@dataclass(frozen=True)
class YearTurns:
    """The school years turned so far, each with what its turn did (its event's data)."""

    turned: dict[int, dict[str, Any]] = field(default_factory=dict)

    @property
    def last(self) -> int | None:
        return max(self.turned) if self.turned else None


NO_TURNS = YearTurns()


@dataclass(frozen=True)
class TurnSchoolYear:
    """Turn ``school_year`` for these ``cards`` (every card not retired that has a class)."""

    school_year: int
    graduating_grades: tuple[int, ...]
    starts: date
    cards: Sequence[domain.Patron] = ()


@dataclass(frozen=True)
class Turn:
    """What a turn decided: the year's event(s) and each card's."""

    year: list[Event]
    cards: dict[str, list[Event]]


def decide(turns: YearTurns, command: TurnSchoolYear) -> list[Event]:
    """The year's own event (the summary); ``turn`` decides the cards with it."""
    return turn(turns, command).year


def turn(turns: YearTurns, command: TurnSchoolYear) -> Turn:
    """Every card's move and the year's summary; nothing when the year was turned already."""
    year = command.school_year
    if year in turns.turned:
        return Turn([], {})
    if turns.last is not None and year < turns.last:
        raise Refused(
            f"the school year {turns.last} has been turned already; {year} is before it",
            "school_year_past",
        )
    cards: dict[str, list[Event]] = {}
    for card in command.cards:
        turn_card = domain.TurnYear(year, command.graduating_grades, command.starts)
        events = domain.decide(card, turn_card)
        if events:
            cards[str(card.patron_id)] = events
    moved, graduating = moved_classes(
        (c.class_name for c in command.cards if c.class_name and c.kind != "teacher"),
        command.graduating_grades,
    )
    decided = [e for events in cards.values() for e in events]
    summary = {
        "school_year": year,
        "starts": command.starts.isoformat(),
        "graduating_grades": list(command.graduating_grades),
        "moved": moved,
        "graduating": graduating,
        "cards_moved": sum(e.type == "CardClassChanged" for e in decided),
        "cards_graduated": sum(e.type == "CardGraduated" for e in decided),
    }
    return Turn([Event("SchoolYearTurned", summary)], cards)


def evolve(turns: YearTurns, event: Any) -> YearTurns:
    if event.type == "SchoolYearTurned":
        data = dict(event.data)
        return replace(turns, turned={**turns.turned, data["school_year"]: data})
    return turns


def answer(turns: YearTurns, school_year: int, already: bool) -> dict[str, Any]:
    """What the turn of ``school_year`` did, for the librarian (``already``: asked again)."""
    done = turns.turned[school_year]
    return {**done, "already_turned": already}


def retire_or_keep(
    cards: Iterable[domain.Patron], reason: str
) -> tuple[dict[str, list[Event]], list[str]]:
    """Each graduate's card retired if they hold nothing and owe nothing (``domain``'s one
    rule for retiring a card); the ones left active (holding or owing), by card number."""
    retired, kept = {}, []
    for card in cards:
        try:
            retired[str(card.patron_id)] = domain.decide(card, domain.RetireCard(reason))
        except Refused as refusal:
            if refusal.code != "not_cleared":
                raise
            kept.append(str(card.patron_id))
    return retired, kept


def who(card: domain.Patron) -> dict[str, Any]:
    """A card as a list of retired graduates names it."""
    return {"patron_id": card.patron_id, "name": card.name, "class_name": card.class_name}


# The stream of the school's year turns (one stream: two turns never race).
TURNS = Aggregate("school_year", "school-year-", NO_TURNS, evolve, decide)
