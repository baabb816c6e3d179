"""Queries and commands the archives accept, validated at the RPC edge.

The HTTP gateway validates its requests with these same schemas (and documents
them from here).
"""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.archives.projections import SOURCES
from services.archives.queries import REGISTERS
from shared.events import fields as f

MAX_PAGE = 5000
MAX_POSITION = 10**15
FORMATS = ("json", "csv")
TERM_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9\-]{0,39}$"


def term() -> fields.String:
    """A term's name, e.g. 2026-autumn."""
    return fields.String(
        required=True,
        validate=f.Pattern(TERM_PATTERN, error="Not a term name like 2026-autumn."),
        metadata={"description": "The term, e.g. 2026-autumn."},
    )


def page(default: int = 500) -> fields.Integer:
    return f.whole(1, MAX_PAGE, load_default=default)


class ArchiveQuery(Schema):
    source = fields.String(required=True, validate=validate.OneOf(SOURCES))
    after = f.whole(
        0,
        MAX_POSITION,
        load_default=0,
        metadata={"description": "Events after this position (0 when left out)."},
    )
    limit = page()


class TimelineQuery(Schema):
    """Page through every source by time: pass back the last event's three keys."""

    after_recorded_at = fields.AwareDateTime(load_default=None)
    after_source = fields.String(load_default="", validate=validate.Length(max=50))
    after_position = f.whole(0, MAX_POSITION, load_default=0)
    limit = page()


class Period(Schema):
    campus = f.campus(load_default=None, required=False)
    since = f.day(load_default=None, metadata={"description": "From this day (inclusive)."})
    until = f.day(load_default=None, metadata={"description": "Up to this day (inclusive)."})

    @validates_schema
    def in_order(self, data: dict, **kwargs: object) -> None:
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise ValidationError("Must not be after 'until'.", "since")


class RegisterQuery(Period):
    name = fields.String(required=True, validate=validate.OneOf(sorted(REGISTERS)))
    format = fields.String(
        load_default="json",
        validate=validate.OneOf(FORMATS),
        metadata={"description": "csv: the same as Accept: text/csv."},
    )


class CloseTerm(Schema):
    command_id = f.command_id()
    term = term()
    on = f.backdate()


class TermReportQuery(Schema):
    term = term()
    format = fields.String(load_default="json", validate=validate.OneOf(FORMATS))
