"""Queries and commands the archives accept, validated at the RPC edge."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.archives.projections import SOURCES
from services.archives.queries import REGISTERS
from shared.events import fields as f

MAX_PAGE = 5000
FORMATS = ("json", "csv")


class ArchiveQuery(Schema):
    source = fields.String(required=True, validate=validate.OneOf(SOURCES))
    after = fields.Integer(load_default=0, validate=validate.Range(min=0, max=10**15))
    limit = fields.Integer(load_default=500, validate=validate.Range(min=1, max=MAX_PAGE))


class TimelineQuery(Schema):
    """Page through every source by time: pass back the last event's three keys."""

    after_recorded_at = fields.AwareDateTime(load_default=None)
    after_source = fields.String(load_default="", validate=validate.Length(max=50))
    after_position = fields.Integer(load_default=0, validate=validate.Range(min=0))
    limit = fields.Integer(load_default=500, validate=validate.Range(min=1, max=MAX_PAGE))


class Period(Schema):
    campus = f.campus(load_default=None, required=False)
    since = f.day(load_default=None)
    until = f.day(load_default=None)

    @validates_schema
    def in_order(self, data: dict, **kwargs: object) -> None:
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise ValidationError("must not be after 'until'", "since")


class RegisterQuery(Period):
    name = fields.String(required=True, validate=validate.OneOf(sorted(REGISTERS)))
    format = fields.String(load_default="json", validate=validate.OneOf(FORMATS))


class CloseTerm(Schema):
    command_id = fields.UUID(load_default=None)
    term = fields.String(required=True, validate=validate.Length(min=1, max=40))
    on = f.day(load_default=None)


class TermReportQuery(Schema):
    term = fields.String(required=True, validate=validate.Length(min=1, max=40))
    format = fields.String(load_default="json", validate=validate.OneOf(FORMATS))
