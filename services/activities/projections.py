"""The reading programme's read models, each built from events alone.

Following circulation (through ``activities.from.circulation``):

* ``Readers``: every card, its class and campus, retired or not: names on
  the leaderboards, class sizes, who must reach a term target, who is a teacher.
* ``Borrowings``: every loan and how it ended (the day it was returned, or
  that it was declared lost), so a note is only accepted about one's own loan,
  the most borrowed titles (of a week, a month, a term, of each class in the
  weekly bulletin) can be counted, and so can the books each student read:
  the leaderboards and the students' term targets apply ``domain.books_read``
  (distinct titles returned in the period, never a lost one) to these rows.
* ``Leaderboard``: loans per card per day, every ``Lent`` counted on its
  ``lent_on`` date: the teachers' term target is loans taken out, so a week,
  a month or a term is a sum over one row per card per day.

Kept inline, from activities' own events, in the transaction that records
them (so a note just written can be awarded at once):

* ``Notes``: reading notes and their awards.
* ``Competitions``: competitions, their entries, scores and final rankings.

Every projection is written so that applying a batch (a rebuild) and applying
the same events one at a time (live) leave the same rows: batches are folded
in memory in position order, then written in a few statements.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from psycopg2.extras import Json

from services.activities.bulk import merge
from services.activities.domain import title_key
from shared.events.envelope import Envelope
from shared.eventsourcing.projection import Cursor, Projection
from shared.runtime.school_calendar import DEFAULT_TIMEZONE, local_date
from shared.storage.batched import writes

CARD_COLUMNS = (
    ("patron_id", "text"),
    ("name", "text"),
    ("kind", "text"),
    ("class_name", "text"),
    ("campus", "text"),
)
RETIRE_CARDS = "UPDATE readers SET retired = true WHERE patron_id = ANY(%s)"
# A card moved up a grade at the school year's turn: its class now, and the class it left
# with the day the move counts from (``queries.class_as_of`` reads a past period with it).
MOVE_CLASS = "UPDATE readers SET class_name = %s WHERE patron_id = %s"
KEEP_MOVE = """
    INSERT INTO class_moves (patron_id, school_year, from_class, to_class, moved_on)
    VALUES (%s, %s, %s, %s, %s) ON CONFLICT (patron_id, school_year) DO NOTHING
"""


class Readers(Projection):
    """Every library card: holder, kind, class (now, and the classes it moved out of at
    the school year's turns), campus, and whether it was retired."""

    name = "readers"
    sources = ("circulation",)
    tables = ("readers", "class_moves")

    def apply(self, cursor: Cursor, event: Envelope) -> None:
        self.apply_many(cursor, [event])

    def apply_many(self, cursor: Cursor, events: Sequence[Envelope]) -> None:
        issued, retired, moved = [], [], []
        for event in events:
            data = event.data
            if event.type == "CardIssued":
                issued.append(
                    (
                        data["patron_id"],
                        data["name"],
                        data["kind"],
                        data.get("class_name"),
                        data["campus"],
                    )
                )
            elif event.type == "CardRetired":
                retired.append(data["patron_id"])
            elif event.type == "CardClassChanged":
                moved.append(data)
        # A card is issued before it is retired, so issuing the batch first keeps the order.
        merge(cursor, "readers", CARD_COLUMNS, issued, "ON CONFLICT (patron_id) DO NOTHING")
        for move in moved:  # in order: a rebuild may move one card up several years
            cursor.execute(
                KEEP_MOVE,
                (move["patron_id"], move["school_year"], move["from_class"], move["to_class"],
                 move["starts"]),
            )  # fmt: skip
            cursor.execute(MOVE_CLASS, (move["to_class"], move["patron_id"]))
        if retired:
            cursor.execute(RETIRE_CARDS, (retired,))


LOAN_COLUMNS = (
    ("loan_id", "text"),
    ("patron_id", "text"),
    ("patron_kind", "text"),
    ("class_name", "text"),
    ("campus", "text"),
    ("lent_on", "date"),
    ("title", "text"),
    ("isbn", "text"),
    ("title_key", "text"),
)


RETURN_LOANS = """
    UPDATE borrowings b SET returned_on = back.returned_on
    FROM unnest(%s::text[], %s::date[]) AS back (loan_id, returned_on)
    WHERE b.loan_id = back.loan_id
"""
LOSE_LOANS = "UPDATE borrowings SET lost = true WHERE loan_id = ANY(%s)"


class Borrowings(Projection):
    """Every loan circulation made, with its borrower and title, and how it ended."""

    name = "borrowings"
    sources = ("circulation",)
    tables = ("borrowings",)

    def apply(self, cursor: Cursor, event: Envelope) -> None:
        self.apply_many(cursor, [event])

    def apply_many(self, cursor: Cursor, events: Sequence[Envelope]) -> None:
        lent, returned, lost = [], {}, []
        for event in events:
            data = event.data
            if event.type == "Lent":
                lent.append(
                    (
                        data["loan_id"],
                        data["patron_id"],
                        data["patron_kind"],
                        data.get("class_name"),
                        data["campus"],
                        data["lent_on"],
                        data.get("title"),
                        data.get("isbn"),
                        title_key(data.get("isbn"), data.get("title")),
                    )
                )
            elif event.type == "Returned":
                returned[data["loan_id"]] = data["returned_on"]
            elif event.type == "DeclaredLost":
                lost.append(data["loan_id"])
        # A loan is lent before it ends, so the batch's loans go in before its endings
        # (which only set columns): one at a time or in a batch, the same rows.
        merge(cursor, "borrowings", LOAN_COLUMNS, lent, "ON CONFLICT (loan_id) DO NOTHING")
        if returned:
            writes(cursor).execute(RETURN_LOANS, (list(returned), list(returned.values())))
        if lost:
            writes(cursor).execute(LOSE_LOANS, (lost,))


DAY_COLUMNS = (
    ("lent_on", "date"),
    ("patron_id", "text"),
    ("patron_kind", "text"),
    ("class_name", "text"),
    ("campus", "text"),
    ("loans", "integer"),
)
ADD_LOANS = (
    "ON CONFLICT (lent_on, patron_id) DO UPDATE SET loans = loans_by_day.loans + EXCLUDED.loans"
)


class Leaderboard(Projection):
    """Loans per card per day: each teacher's loans toward the term target.

    (Books read, which the leaderboards rank, are not loans: a title borrowed
    twice is one book, a lost one none. They are counted from ``borrowings`` by
    ``domain.books_read``.)

    Each row is a counter. A batch is first summed in memory (the first loan
    of a row gives its class and campus, in live and rebuilt alike), then
    added to the table in one statement; so a rebuild of a million events is
    a few hundred statements, not a million.
    """

    name = "leaderboard"
    sources = ("circulation",)
    tables = ("loans_by_day",)

    def apply(self, cursor: Cursor, event: Envelope) -> None:
        self.apply_many(cursor, [event])

    def apply_many(self, cursor: Cursor, events: Sequence[Envelope]) -> None:
        loans: dict[tuple[str, str], list[Any]] = {}
        for event in events:
            if event.type != "Lent":
                continue
            data = event.data
            day, patron_id = data["lent_on"], data["patron_id"]
            row = loans.get((day, patron_id))
            if row is None:
                loans[(day, patron_id)] = [
                    data["patron_kind"],
                    data.get("class_name"),
                    data["campus"],
                    1,
                ]
            else:
                row[3] += 1
        merge(
            cursor,
            "loans_by_day",
            DAY_COLUMNS,
            [(day, patron, *row) for (day, patron), row in loans.items()],
            ADD_LOANS,
        )


FOLLOWING_CIRCULATION = (Readers(), Borrowings(), Leaderboard())


class _SchoolDays(Projection):
    """Dates events by the school's calendar when a payload does not carry the day."""

    timezone = DEFAULT_TIMEZONE

    def configure(self, config: Mapping[str, Any]) -> None:
        self.timezone = (config.get("SCHOOL") or {}).get("timezone") or DEFAULT_TIMEZONE

    def day(self, event: Envelope, field: str) -> str:
        return event.data.get(field) or local_date(event.occurred_at, self.timezone).isoformat()


WRITE_NOTE = """
    INSERT INTO reading_notes (note_id, patron_id, loan_id, isbn, title, text, word_count,
                               submitted_on)
    VALUES (%(note_id)s, %(patron_id)s, %(loan_id)s, %(isbn)s, %(title)s, %(text)s,
            %(word_count)s, %(submitted_on)s)
    ON CONFLICT (note_id) DO NOTHING
"""
AWARD_NOTE = """
    UPDATE reading_notes SET award = %(award)s, awarded_by = %(awarded_by)s,
        awarded_on = %(awarded_on)s
    WHERE note_id = %(note_id)s
"""


class Notes(_SchoolDays):
    """Every reading note, with its award once a teacher gave one (inline)."""

    name = "reading_notes"
    sources = ("activities",)
    tables = ("reading_notes",)

    def apply(self, cursor: Cursor, event: Envelope) -> None:
        data = event.data
        match event.type:
            case "ReadingNoteSubmitted":
                cursor.execute(
                    WRITE_NOTE,
                    {
                        "loan_id": None,
                        **data,
                        "submitted_on": self.day(event, "submitted_on"),
                    },
                )
            case "NoteAwarded":
                cursor.execute(AWARD_NOTE, {**data, "awarded_on": self.day(event, "awarded_on")})


OPEN_COMPETITION = """
    INSERT INTO competitions (competition_id, title, kind, campus, opened_on, closes_on)
    VALUES (%(competition_id)s, %(title)s, %(kind)s, %(campus)s, %(opened_on)s, %(closes_on)s)
    ON CONFLICT (competition_id) DO NOTHING
"""
ENTER = """
    INSERT INTO competition_entries (entry_id, competition_id, entry_order, patron_id, title,
                                     text, entered_on)
    VALUES (%(entry_id)s, %(competition_id)s, %(entry_order)s, %(patron_id)s, %(title)s,
            %(text)s, %(entered_on)s)
    ON CONFLICT (entry_id) DO NOTHING
"""
SCORE = """
    UPDATE competition_entries SET score = %(score)s, scored_by = %(scored_by)s
    WHERE entry_id = %(entry_id)s
"""
CLOSE_COMPETITION = """
    UPDATE competitions SET status = 'closed', closed_on = %(closed_on)s, ranking = %(ranking)s
    WHERE competition_id = %(competition_id)s
"""


class Competitions(_SchoolDays):
    """Competitions, their entries and scores, and the final ranking once closed (inline)."""

    name = "competitions"
    sources = ("activities",)
    tables = ("competitions", "competition_entries")

    def apply(self, cursor: Cursor, event: Envelope) -> None:
        data = event.data
        match event.type:
            case "CompetitionOpened":
                cursor.execute(OPEN_COMPETITION, data)
            case "CompetitionEntered":
                cursor.execute(ENTER, {"text": None, **data, "entry_order": event.stream_version})
            case "EntryScored":
                cursor.execute(SCORE, data)
            case "CompetitionClosed":
                cursor.execute(CLOSE_COMPETITION, {**data, "ranking": Json(data["ranking"])})


INLINE = (Notes(), Competitions())
