"""Commands and queries the reading programme accepts, validated at the RPC edge.

The HTTP gateway validates its requests with these same schemas (and documents
them from here).
"""

from __future__ import annotations

from datetime import date

from marshmallow import Schema, ValidationError, fields, validate

from shared.events import fields as f
from shared.events.activities import COMPETITION_KINDS, MAX_SCORE

MONTH = f.Pattern(r"^[0-9]{4}-(0[1-9]|1[0-2])$", error="Not a month like 2026-10.")
WEEK = f.Pattern(r"^[0-9]{4}-W(0[1-9]|[1-4][0-9]|5[0-3])$", error="Not a week like 2026-W42.")


def week_exists(value: str) -> None:
    """2026-W53 is a week; 2027-W53 is not (ISO weeks: a year has 52 or 53)."""
    year, _, number = value.partition("-W")
    if not (year.isdigit() and number.isdigit()):
        return  # not a week at all: WEEK says so
    try:
        date.fromisocalendar(int(year), int(number), 1)
    except ValueError:
        raise ValidationError(f"{year} has no week {number}.") from None


TERM = f.Pattern(r"^[A-Za-z0-9][A-Za-z0-9\-]{0,39}$", error="Not a term name like 2026-autumn.")
NOTE_STATUSES = ("pending", "awarded")
SCOPES = ("student", "class", "campus")
PERIODS = ("week", "month", "term")
MAX_LIMIT = 500
MAX_WORDS = 1_000_000


def campus() -> fields.String:
    return f.campus(required=False, load_default=None, allow_none=True)


def day(description: str = "A school day; today (at the school) when left out.") -> fields.Date:
    """A school day; today (at the school) when left out."""
    return f.day(load_default=None, metadata={"description": description})


def limit(default: int) -> fields.Integer:
    return f.whole(1, MAX_LIMIT, load_default=default)


class Command(Schema):
    """Every command may carry an id; sending it again is then answered, not redone."""

    command_id = f.command_id()
    on = f.backdate()


class SubmitNote(Command):
    patron_id = f.patron_id()
    loan_id = f.identifier()
    text = f.text(20000)
    word_count = f.whole(1, MAX_WORDS, load_default=None)


class AwardNote(Command):
    note_id = f.identifier()
    award = f.text(100)
    awarded_by = f.patron_id(metadata={"description": "The teacher's card number."})


class OpenCompetition(Command):
    title = f.text(200)
    kind = f.choice(COMPETITION_KINDS)
    campus = campus()
    closes_on = f.day(required=True)


class EnterCompetition(Command):
    competition_id = f.identifier()
    patron_id = f.patron_id()
    title = f.text(300)
    text = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=20000))


class ScoreEntry(Command):
    competition_id = f.identifier()
    entry_id = f.identifier()
    score = f.whole(0, MAX_SCORE, required=True)
    scored_by = f.patron_id()


class CloseCompetition(Command):
    competition_id = f.identifier()


class NotesQuery(Schema):
    patron_id = f.patron_id()


class NoteListQuery(Schema):
    """Notes of a class, a campus or a reader, newest first (teachers award from it)."""

    class_name = f.class_name(data_key="class", load_default=None, allow_none=True)
    class_name_refused = f.renamed("class", data_key="class_name")
    campus = campus()
    status = f.choice(
        NOTE_STATUSES,
        required=False,
        load_default=None,
        metadata={"description": "pending: not awarded yet; awarded: with an award."},
    )
    patron_id = f.patron_id(required=False, load_default=None)
    limit = limit(200)


class CompetitionsQuery(Schema):
    status = f.choice(("open", "closed"), required=False, load_default=None)
    campus = campus()


class MonthlyWinnersQuery(Schema):
    month = fields.String(
        load_default=None,
        validate=MONTH,
        metadata={"description": "A month like 2026-10; this month (at the school) when left out."},
    )
    campus = campus()
    limit = limit(3)


class LeaderboardQuery(Schema):
    scope = f.choice(SCOPES)
    period = f.choice(PERIODS)
    on = day("The week, month or term containing this day (today when left out).")
    campus = campus()
    limit = limit(10)


class TopTitlesQuery(Schema):
    period = f.choice(PERIODS)
    on = day()
    campus = campus()
    limit = limit(10)


class TermTargetsQuery(Schema):
    on = day("Progress as of this day (today when left out).")
    term = fields.String(
        load_default=None,
        validate=TERM,
        metadata={"description": "A term like 2026-autumn; the term of `on` when left out."},
    )
    class_name = f.class_name(data_key="class", load_default=None, allow_none=True)
    class_name_refused = f.renamed("class", data_key="class_name")
    campus = campus()


class BulletinQuery(Schema):
    on = day("The week containing this day (this week when left out).")
    week = fields.String(
        load_default=None,
        validate=[WEEK, week_exists],
        metadata={"description": "An ISO week like 2026-W42 (instead of `on`)."},
    )
    campus = campus()
