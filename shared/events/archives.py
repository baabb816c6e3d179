"""Events published by the archives service: the books of record."""

from marshmallow import Schema, fields, validate

from shared.events.registry import CATALOGUE

SOURCE = "archives"


class TermClosed(Schema):
    """A term was closed; its report (acquisitions, weeding, loans, top titles) is frozen in it."""

    term = fields.String(
        required=True,
        validate=validate.Regexp(r"^\d{4}-(spring|autumn)$", error="e.g. 2026-autumn"),
    )
    closed_on = fields.Date(required=True)
    report = fields.Dict(required=True)


CATALOGUE.register(SOURCE, "TermClosed", TermClosed)
