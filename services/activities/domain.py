"""The reading programme's rules, as a pure Decider (no I/O).

Two kinds of aggregate, each on its own stream:

* a reading note, ``note-<note_id>``: a reader writes one note about a book
  they borrowed, and a teacher may award it once. The note id is derived from
  the loan id, so two notes about one loan race on one stream and the second
  is refused: "one note per loan" holds without any lock.
* a competition, ``competition-<competition_id>``: opened with a closing date,
  entered at most once per student until then, each entry scored by a
  teacher, and closed only when every entry has a score. The closing event
  carries the final ranking, so the results never change afterwards.

Whatever a rule needs beyond the stream's own history (the loan as circulation
recorded it, the reader's and the teacher's cards, today's date) comes in with
the command; the service looks it up in its read models.

The leaderboards' and term targets' rule, what counts as a book read, is here
too (``books_read``), as a pure function the queries call on the loans they read.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from functools import lru_cache
from typing import Any, assert_never

from shared.events.fields import normalise_isbn
from shared.eventsourcing.decider import Aggregate, Event, Refused

COMPETITION_KINDS = ("essay", "quiz", "reading_notes")
MAX_SCORE = 100
UNSCORED_NAMED = 5  # how many unscored entries a refusal to close names

_NOTE_IDS = uuid.UUID("6f1c2b0e-4a57-4d0c-9d86-2b7f1f6e3a11")

# Chinese is counted in characters, other scripts in words.
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_WORD = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*")


def note_stream(note_id: str) -> str:
    return f"note-{note_id}"


def competition_stream(competition_id: str) -> str:
    return f"competition-{competition_id}"


def note_id_for(loan_id: str) -> str:
    """The id of the (only) note about a loan: the same loan always gives the same id."""
    return f"N{uuid.uuid5(_NOTE_IDS, loan_id).hex[:16]}"


def count_words(text: str) -> int:
    """Words in a note the way a Chinese teacher counts them: each Chinese character
    is one, each run of Latin letters or digits (``don't``, ``2026``) is one."""
    characters = len(_HAN.findall(text))
    return characters + len(_WORD.findall(_HAN.sub(" ", text)))


# ---------------------------------------------------------------- what comes with commands


@dataclass(frozen=True)
class Card:
    """A library card as activities knows it from circulation's events."""

    patron_id: str
    name: str
    kind: str  # student, teacher, class_corner
    class_name: str | None
    campus: str
    retired: bool = False


@dataclass(frozen=True)
class LoanOnRecord:
    """A loan as circulation recorded it in its ``Lent`` event."""

    loan_id: str
    patron_id: str
    patron_kind: str
    lent_on: date
    title: str | None = None
    isbn: str | None = None


# ---------------------------------------------------------------- state


@dataclass(frozen=True)
class Note:
    note_id: str | None = None
    patron_id: str | None = None
    loan_id: str | None = None
    title: str = ""
    submitted_on: date | None = None
    award: str | None = None
    awarded_by: str | None = None

    @property
    def exists(self) -> bool:
        return self.note_id is not None


NO_NOTE = Note()


@dataclass(frozen=True)
class Entry:
    entry_id: str
    patron_id: str
    title: str
    number: int  # the order of entry, from 1: ties in score are listed by it
    score: int | None = None


@dataclass(frozen=True)
class Competition:
    competition_id: str | None = None
    title: str = ""
    kind: str = ""
    campus: str | None = None
    closes_on: date | None = None
    status: str = "none"  # none -> open -> closed
    entries: dict[str, Entry] = field(default_factory=dict)  # entry_id -> entry, in entry order
    ranking: tuple[dict[str, Any], ...] = ()

    @property
    def exists(self) -> bool:
        return self.status != "none"

    def entry_of(self, patron_id: str) -> Entry | None:
        return next((e for e in self.entries.values() if e.patron_id == patron_id), None)

    def unscored(self) -> list[Entry]:
        return [entry for entry in self.entries.values() if entry.score is None]


NO_COMPETITION = Competition()


# ---------------------------------------------------------------- commands


@dataclass(frozen=True)
class SubmitNote:
    note_id: str
    patron_id: str
    loan_id: str
    loan: LoanOnRecord | None
    text: str
    word_count: int | None
    today: date


@dataclass(frozen=True)
class AwardNote:
    award: str
    awarded_by: str
    awarder: Card | None
    today: date


@dataclass(frozen=True)
class OpenCompetition:
    competition_id: str
    title: str
    kind: str
    campus: str | None
    closes_on: date
    today: date


@dataclass(frozen=True)
class EnterCompetition:
    entry_id: str
    patron_id: str
    entrant: Card | None
    title: str
    text: str | None
    today: date


@dataclass(frozen=True)
class ScoreEntry:
    entry_id: str
    score: int
    scored_by: str
    scorer: Card | None


@dataclass(frozen=True)
class CloseCompetition:
    today: date


Command = (
    SubmitNote | AwardNote | OpenCompetition | EnterCompetition | ScoreEntry | CloseCompetition
)
State = Note | Competition


# ---------------------------------------------------------------- decide


def decide(state: State, command: Command) -> list[Event]:
    """The events a command leads to, or ``Refused`` with a reason a teacher can act on."""
    match command:
        case SubmitNote():
            return _submit_note(_as(Note, state), command)
        case AwardNote():
            return _award_note(_as(Note, state), command)
        case OpenCompetition():
            return _open(_as(Competition, state), command)
        case EnterCompetition():
            return _enter(_as(Competition, state), command)
        case ScoreEntry():
            return _score(_as(Competition, state), command)
        case CloseCompetition():
            return _close(_as(Competition, state), command)
        case _:
            assert_never(command)


def _as(kind: type, state: State) -> Any:
    if not isinstance(state, kind):
        raise TypeError(f"a {kind.__name__} command was decided on a {type(state).__name__}")
    return state


def _submit_note(note: Note, command: SubmitNote) -> list[Event]:
    loan = command.loan
    if note.exists:
        raise Refused(
            f"a reading note about {note.title} was already written for loan {note.loan_id} "
            f"(note {note.note_id}); there is one note per book borrowed",
            "note_exists",
        )
    if loan is None:
        raise Refused(
            f"there is no loan {command.loan_id} on record; check the loan number on the "
            "reader's loans (a loan made a moment ago may take a few seconds to show here)",
            "unknown_loan",
        )
    if loan.patron_id != command.patron_id:
        raise Refused(
            f"loan {loan.loan_id} was not lent to {command.patron_id}; a note can only be "
            "written about a book one borrowed oneself",
            "not_your_loan",
        )
    if loan.patron_kind == "class_corner":
        raise Refused(
            f"loan {loan.loan_id} went to a class book corner; readers write notes about "
            "their own loans",
            "class_corner_loan",
        )
    if command.today < loan.lent_on:
        raise Refused(
            f"the book was lent on {loan.lent_on.isoformat()}; a note about it cannot be "
            f"dated {command.today.isoformat()}",
            "before_loan",
        )
    if not loan.title or not loan.isbn:
        raise Refused(
            f"loan {loan.loan_id} has no title or ISBN on record; ask the librarian",
            "loan_without_title",
        )
    words = command.word_count or count_words(command.text)
    if words < 1:
        raise Refused("the note has no words in it", "empty_note")
    return [
        Event(
            "ReadingNoteSubmitted",
            {
                "note_id": command.note_id,
                "patron_id": command.patron_id,
                "loan_id": loan.loan_id,
                "isbn": loan.isbn,
                "title": loan.title,
                "text": command.text,
                "word_count": words,
                "submitted_on": command.today.isoformat(),
            },
        )
    ]


def _refuse_unless_teacher(card: Card | None, patron_id: str, task: str) -> Card:
    """The reasons a card may not ``task`` (award a note, score an entry)."""
    if card is None:
        raise Refused(f"{patron_id} has no library card; only a teacher can {task}", "no_card")
    if card.kind != "teacher":
        raise Refused(f"{card.name} is not a teacher; only a teacher can {task}", "not_a_teacher")
    if card.retired:
        raise Refused(f"{card.name}'s card is retired; they can no longer {task}", "card_retired")
    return card


def _award_note(note: Note, command: AwardNote) -> list[Event]:
    if not note.exists:
        raise Refused("there is no such reading note", "no_note")
    teacher = _refuse_unless_teacher(command.awarder, command.awarded_by, "award a reading note")
    if teacher.patron_id == note.patron_id:
        raise Refused(f"{teacher.name} cannot award their own reading note", "own_note")
    if note.award is not None:
        raise Refused(
            f"this note about {note.title} already has an award ({note.award}, from "
            f"{note.awarded_by}); a note is awarded once",
            "already_awarded",
        )
    return [
        Event(
            "NoteAwarded",
            {
                "note_id": note.note_id,
                "award": command.award,
                "awarded_by": teacher.patron_id,
                "patron_id": note.patron_id,
                "awarded_on": command.today.isoformat(),
            },
        )
    ]


def _open(competition: Competition, command: OpenCompetition) -> list[Event]:
    if competition.exists:
        raise Refused(
            f"competition {competition.competition_id} ({competition.title}) is already open",
            "competition_exists",
        )
    if command.kind not in COMPETITION_KINDS:
        raise Refused(
            f"a competition is one of {', '.join(COMPETITION_KINDS)}, not {command.kind}",
            "unknown_kind",
        )
    if command.closes_on < command.today:
        raise Refused(
            f"the closing date {command.closes_on.isoformat()} is already past (today is "
            f"{command.today.isoformat()}); choose a later one",
            "closes_in_the_past",
        )
    return [
        Event(
            "CompetitionOpened",
            {
                "competition_id": command.competition_id,
                "title": command.title,
                "kind": command.kind,
                "campus": command.campus,
                "opened_on": command.today.isoformat(),
                "closes_on": command.closes_on.isoformat(),
            },
        )
    ]


def _refuse_unless_open(competition: Competition, what: str) -> None:
    if not competition.exists:
        raise Refused("there is no such competition", "no_competition")
    if competition.status == "closed":
        raise Refused(
            f"{competition.title} is closed and its results are final; {what}",
            "competition_closed",
        )


def _enter(competition: Competition, command: EnterCompetition) -> list[Event]:
    _refuse_unless_open(competition, "entries are no longer accepted")
    assert competition.closes_on is not None
    if command.today > competition.closes_on:
        raise Refused(
            f"entries for {competition.title} closed on {competition.closes_on.isoformat()}",
            "entries_closed",
        )
    reader = command.entrant
    if reader is None:
        raise Refused(f"{command.patron_id} has no library card", "no_card")
    if reader.retired:
        raise Refused(f"{reader.name}'s card is retired", "card_retired")
    if reader.kind != "student":
        raise Refused(
            f"{reader.name} is not a student; competitions are for students", "not_a_student"
        )
    if competition.campus is not None and reader.campus != competition.campus:
        raise Refused(
            f"{competition.title} is for the {competition.campus} campus; {reader.name} is at "
            f"the {reader.campus} campus",
            "wrong_campus",
        )
    earlier = competition.entry_of(reader.patron_id)
    if earlier is not None:
        raise Refused(
            f"{reader.name} has already entered {competition.title} (entry {earlier.entry_id}); "
            "each student enters once",
            "already_entered",
        )
    return [
        Event(
            "CompetitionEntered",
            {
                "competition_id": competition.competition_id,
                "entry_id": command.entry_id,
                "patron_id": reader.patron_id,
                "title": command.title,
                "text": command.text,
                "entered_on": command.today.isoformat(),
            },
        )
    ]


def _score(competition: Competition, command: ScoreEntry) -> list[Event]:
    _refuse_unless_open(competition, "scores can no longer change")
    entry = competition.entries.get(command.entry_id)
    if entry is None:
        raise Refused(f"{competition.title} has no entry {command.entry_id}", "no_such_entry")
    if not 0 <= command.score <= MAX_SCORE:
        raise Refused(
            f"a score is from 0 to {MAX_SCORE}, not {command.score}", "score_out_of_range"
        )
    teacher = _refuse_unless_teacher(command.scorer, command.scored_by, "score an entry")
    return [
        Event(
            "EntryScored",
            {
                "competition_id": competition.competition_id,
                "entry_id": entry.entry_id,
                "patron_id": entry.patron_id,
                "score": command.score,
                "scored_by": teacher.patron_id,
            },
        )
    ]


def _close(competition: Competition, command: CloseCompetition) -> list[Event]:
    if not competition.exists:
        raise Refused("there is no such competition", "no_competition")
    if competition.status == "closed":
        raise Refused(f"{competition.title} is already closed", "already_closed")
    unscored = competition.unscored()
    if unscored:
        named = ", ".join(f"{e.entry_id} ({e.patron_id})" for e in unscored[:UNSCORED_NAMED])
        more = (
            f" and {len(unscored) - UNSCORED_NAMED} more" if len(unscored) > UNSCORED_NAMED else ""
        )
        raise Refused(
            f"{len(unscored)} entr{'y' if len(unscored) == 1 else 'ies'} of {competition.title} "
            f"still need a score before it can close: {named}{more}",
            "unscored_entries",
        )
    return [
        Event(
            "CompetitionClosed",
            {
                "competition_id": competition.competition_id,
                "closed_on": command.today.isoformat(),
                "ranking": rank(competition.entries.values()),
            },
        )
    ]


def rank(entries: Iterable[Entry]) -> list[dict[str, Any]]:
    """Scored entries, best first. Equal scores share a rank (1, 1, 3) and are
    listed in the order they were entered, then by card number."""
    scored = sorted(
        (e for e in entries if e.score is not None),
        key=lambda e: (-(e.score or 0), e.number, e.patron_id),
    )
    ranking: list[dict[str, Any]] = []
    for place, entry in enumerate(scored, start=1):
        shared = ranking and ranking[-1]["score"] == entry.score
        ranking.append(
            {
                "rank": ranking[-1]["rank"] if shared else place,
                "entry_id": entry.entry_id,
                "patron_id": entry.patron_id,
                "title": entry.title,
                "score": entry.score,
            }
        )
    return ranking


# ---------------------------------------------------------------- evolve


def evolve(state: State, event: Any) -> State:
    """A note or a competition after one more of its events."""
    data = event.data
    match event.type:
        case "ReadingNoteSubmitted":
            return Note(
                note_id=data["note_id"],
                patron_id=data["patron_id"],
                loan_id=data.get("loan_id"),
                title=data["title"],
                submitted_on=_day(data.get("submitted_on")),
            )
        case "NoteAwarded":
            return replace(_as(Note, state), award=data["award"], awarded_by=data["awarded_by"])
        case "CompetitionOpened":
            return Competition(
                competition_id=data["competition_id"],
                title=data["title"],
                kind=data["kind"],
                campus=data.get("campus"),
                closes_on=_day(data["closes_on"]),
                status="open",
            )
        case "CompetitionEntered":
            competition = _as(Competition, state)
            entry = Entry(
                data["entry_id"], data["patron_id"], data["title"], len(competition.entries) + 1
            )
            return replace(competition, entries={**competition.entries, entry.entry_id: entry})
        case "EntryScored":
            competition = _as(Competition, state)
            entry = replace(competition.entries[data["entry_id"]], score=data["score"])
            return replace(competition, entries={**competition.entries, entry.entry_id: entry})
        case "CompetitionClosed":
            return replace(_as(Competition, state), status="closed", ranking=tuple(data["ranking"]))
    return state


def _day(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


# ---------------------------------------------------------------- books read


@lru_cache(maxsize=65536)
def title_key(isbn: str | None, title: str | None) -> str | None:
    """What makes two loans the same title: the ISBN (hyphens aside), else the title."""
    if isbn:
        return normalise_isbn(isbn)
    return title or None


@dataclass(frozen=True)
class Borrowing:
    """A loan as the reading figures see it: whose it was, which title, how it ended.

    ``returned_on`` is the day circulation took it back (its ``Returned``), ``lost``
    whether it was declared lost (``DeclaredLost``); ``title_key`` as ``title_key``.
    """

    loan_id: str
    patron_id: str
    title_key: str | None
    returned_on: date | None = None
    lost: bool = False


def read_on(borrowing: Borrowing) -> date | None:
    """The day a loan became a book read, or None if it is not one (yet).

    A book is read when it comes back: a loan still out is not read yet, and a
    loan declared lost is never read, whatever else was recorded about it. The
    return day (not the lending day) places it in a week, month or term, so a
    period's count only grows with returns made in it, and a book taken out on
    the last day of a week and brought back the next counts in the next.
    """
    if borrowing.lost or borrowing.returned_on is None:
        return None
    return borrowing.returned_on


def books_read(borrowings: Iterable[Borrowing], starts: date, ends: date) -> dict[str, int]:
    """Books each reader read from ``starts`` to ``ends`` (both included): the
    leaderboards' and the students' term targets' count.

    A reader's books read in a period are the distinct titles they borrowed and
    brought back in it (``read_on``): borrowing the same title again in the period
    counts once (in another period it counts there too), a lost book never counts.
    A loan recorded with neither ISBN nor title is a title of its own, since there
    is no telling it from another. Readers with no book read are left out.
    """
    titles: dict[str, set[str]] = {}
    for borrowing in borrowings:
        day = read_on(borrowing)
        if day is None or not starts <= day <= ends:
            continue
        titles.setdefault(borrowing.patron_id, set()).add(
            borrowing.title_key or f"loan:{borrowing.loan_id}"
        )
    return {patron_id: len(read) for patron_id, read in titles.items()}


# ---------------------------------------------------------------- the streams

NOTE = Aggregate("note", "note-", NO_NOTE, evolve, decide, missing="no reading note {key!r}")
NEW_NOTE = replace(NOTE, missing=None)  # submitting: one note per loan, not there yet
COMPETITION = Aggregate(
    "competition", "competition-", NO_COMPETITION, evolve, decide, missing="no competition {key!r}"
)
NEW_COMPETITION = replace(COMPETITION, missing=None)
