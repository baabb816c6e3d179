"""Events published by the activities service: the reading programme."""

from marshmallow import Schema, fields, validate

from shared.catalogue import fields as f
from shared.catalogue.registry import CATALOGUE

SOURCE = "activities"


class ReadingNoteSubmitted(Schema):
    """A reader wrote a note about a book they borrowed."""

    note_id = f.identifier()
    patron_id = f.identifier()
    loan_id = f.identifier(required=False, allow_none=True)
    isbn = f.isbn()
    title = f.text(300)
    text = f.text(20000)
    word_count = fields.Integer(required=True, validate=validate.Range(min=1))


class NoteAwarded(Schema):
    """A teacher gave a reading note an award."""

    note_id = f.identifier()
    award = f.text(100)
    awarded_by = f.identifier()


for _schema in (ReadingNoteSubmitted, NoteAwarded):
    CATALOGUE.register(SOURCE, _schema.__name__, _schema)
