"""Events published by the activities service: the reading programme.

Two kinds of stream: a reading note (``note-<note_id>``: written, then maybe
awarded) and a competition (``competition-<competition_id>``: opened, entered,
scored, closed with its final ranking). Dates are the school's calendar days,
carried in the payload so that a month or a term never depends on a server's
clock or time zone.
"""

from marshmallow import INCLUDE, Schema, fields, validate

from shared.events import fields as f
from shared.events.registry import CATALOGUE

SOURCE = "activities"

COMPETITION_KINDS = ("essay", "quiz", "reading_notes")
MAX_SCORE = 100


class ReadingNoteSubmitted(Schema):
    """A reader wrote a note about a book they borrowed."""

    note_id = f.identifier()
    patron_id = f.personal(f.identifier())
    loan_id = f.identifier(required=False, allow_none=True)
    isbn = f.isbn()
    title = f.text(300)
    text = f.text(20000)
    word_count = fields.Integer(required=True, validate=validate.Range(min=1))
    submitted_on = fields.Date(required=False)


class NoteAwarded(Schema):
    """A teacher gave a reading note an award."""

    note_id = f.identifier()
    award = f.text(100)
    awarded_by = f.personal(f.identifier())
    patron_id = f.personal(f.identifier(required=False))
    awarded_on = fields.Date(required=False)


class CompetitionOpened(Schema):
    """An essay, knowledge-quiz or reading-notes competition was opened for entries."""

    competition_id = f.identifier()
    title = f.text(200)
    kind = f.choice(COMPETITION_KINDS)
    campus = f.campus(required=True, allow_none=True)  # None: open to both campuses
    opened_on = fields.Date(required=True)
    closes_on = fields.Date(required=True)


class CompetitionEntered(Schema):
    """A student entered a competition (at most once)."""

    competition_id = f.identifier()
    entry_id = f.identifier()
    patron_id = f.personal(f.identifier())
    title = f.text(300)
    text = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=20000))
    entered_on = fields.Date(required=True)


class EntryScored(Schema):
    """A teacher scored an entry (0-100); scoring again before the close replaces the score."""

    competition_id = f.identifier()
    entry_id = f.identifier()
    patron_id = f.personal(f.identifier())
    score = fields.Integer(required=True, validate=validate.Range(min=0, max=MAX_SCORE))
    scored_by = f.personal(f.identifier())


class RankedEntry(Schema):
    """One line of a final ranking: tied scores share a rank (1, 1, 3).

    Extra fields are let through: the catalogue's leniency for consumers stops
    at the top level of a payload, so a nested line must say it itself, or a
    field added here later would break every older reader.
    """

    class Meta:
        unknown = INCLUDE

    rank = fields.Integer(required=True, validate=validate.Range(min=1))
    entry_id = f.identifier()
    patron_id = f.personal(f.identifier())
    title = f.text(300)
    score = fields.Integer(required=True, validate=validate.Range(min=0, max=MAX_SCORE))


class CompetitionClosed(Schema):
    """A competition was closed with every entry scored; its final ranking is in the event."""

    competition_id = f.identifier()
    closed_on = fields.Date(required=True)
    ranking = fields.List(fields.Nested(RankedEntry), required=True)


for _schema in (
    ReadingNoteSubmitted,
    NoteAwarded,
    CompetitionOpened,
    CompetitionEntered,
    EntryScored,
    CompetitionClosed,
):
    CATALOGUE.register(SOURCE, _schema.__name__, _schema)
