"""Commands and queries the reading programme accepts, validated at the RPC edge."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from shared.events import fields as f
from shared.events.activities import COMPETITION_KINDS, MAX_SCORE

PATRON_ID = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9\-]{0,31}$", error="Not a valid card number.")
MONTH = validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$", error="Not a month like 2026-10.")
SCOPES = ("student", "class", "campus")
PERIODS = ("week", "month", "term")
MAX_LIMIT = 500


def patron_id(**kwargs: object) -> fields.String:
    return fields.String(required=True, validate=PATRON_ID, **kwargs)


def campus() -> fields.String:
    return f.campus(required=False, load_default=None, allow_none=True)


def day() -> fields.Date:
    """A school day; today (at the school) when left out."""
    return fields.Date(load_default=None, allow_none=True)


def limit(default: int) -> fields.Integer:
    return fields.Integer(load_default=default, validate=validate.Range(min=1, max=MAX_LIMIT))


class Command(Schema):
    """Every command may carry an id; sending it again is then answered, not redone."""

    command_id = fields.UUID(load_default=None)
    on = day()


class SubmitNote(Command):
    patron_id = patron_id()
    loan_id = f.identifier()
    text = f.text(20000)
    word_count = fields.Integer(load_default=None, validate=validate.Range(min=1))


class AwardNote(Command):
    note_id = f.identifier()
    award = f.text(100)
    awarded_by = patron_id()


class OpenCompetition(Command):
    title = f.text(200)
    kind = f.choice(COMPETITION_KINDS)
    campus = campus()
    closes_on = fields.Date(required=True)


class EnterCompetition(Command):
    competition_id = f.identifier()
    patron_id = patron_id()
    title = f.text(300)
    text = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=20000))


class ScoreEntry(Command):
    competition_id = f.identifier()
    entry_id = f.identifier()
    score = fields.Integer(required=True, validate=validate.Range(min=0, max=MAX_SCORE))
    scored_by = patron_id()


class CloseCompetition(Command):
    competition_id = f.identifier()


class NotesQuery(Schema):
    patron_id = patron_id()


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
    on = day()
    campus = campus()
    limit = limit(10)


class TopTitlesQuery(Schema):
    period = f.choice(PERIODS)
    on = day()
    campus = campus()
    limit = limit(10)


class TermTargetsQuery(Schema):
    on = day()
    class_name = f.class_name(load_default=None, allow_none=True)
    campus = campus()


class BulletinQuery(Schema):
    on = day()
    campus = campus()
