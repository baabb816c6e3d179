"""Commands and queries the reading programme accepts, validated at the RPC edge.

The HTTP gateway validates its requests with these same schemas (and documents
them from here).
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from shared.events import fields as f
from shared.events.activities import COMPETITION_KINDS, MAX_SCORE

MONTH = f.Pattern(r"^[0-9]{4}-(0[1-9]|1[0-2])$", error="Not a month like 2026-10.")
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


class CompetitionsQuery(Schema):
    status = f.choice(("open", "closed"), required=False, load_default=None)
    campus = campus()


class MonthlyWinnersQuery(Schema):
    month = fields.String(required=True, validate=MONTH)
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
    on = day()
    class_name = f.class_name(data_key="class", load_default=None, allow_none=True)
    class_name_refused = f.renamed("class", data_key="class_name")
    campus = campus()


class BulletinQuery(Schema):
    on = day()
    campus = campus()
