"""Queries and commands the archives accept, validated at the RPC edge.

The HTTP gateway validates its requests with these same schemas (and documents
them from here).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.archives.projections import SOURCES
from services.archives.queries import REGISTERS, parse_audit_cursor
from shared.events import fields as f
from shared.events.envelope import MAX_ACTOR_ID, MAX_ACTOR_USERNAME

MAX_PAGE = 5000
MAX_AUDIT_PAGE = 1000
REGISTER_PAGE = 200
MAX_REGISTER_PAGE = 1000
MAX_REGISTER_OFFSET = 10_000_000
DAY_PATTERN = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
MAX_POSITION = 10**15
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
    limit = f.whole(
        1,
        MAX_REGISTER_PAGE,
        load_default=REGISTER_PAGE,
        metadata={
            "description": "Rows in the page (a file, format=csv or xlsx, is the whole register)."
        },
    )
    offset = f.whole(
        0,
        MAX_REGISTER_OFFSET,
        load_default=0,
        metadata={"description": "Rows to skip: the next page's is offset + limit."},
    )


class CloseTerm(Schema):
    command_id = f.command_id()
    term = term()
    on = f.backdate()


class TermReportQuery(Schema):
    term = term()


class Moment(fields.String):
    """A day at the school (``2026-10-12``: the whole day) or an ISO-8601 moment with its
    offset (``2026-10-12T08:30:00+08:00``); loaded as a ``date`` or an aware ``datetime``."""

    default_error_messages = {
        "moment": "Not a day like 2026-10-12 or a time with its offset like "
        "2026-10-12T08:30:00+08:00.",
        "naive": "A time needs its offset (+08:00, Z...): which zone is it in?",
        "range": f"Must be from {f.EARLIEST_DAY} to {f.LATEST_DAY}.",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            if len(text) > 40:
                raise ValueError(text)
            moment: date = (
                date.fromisoformat(text)
                if DAY_PATTERN.fullmatch(text)
                else datetime.fromisoformat(text)
            )
        except ValueError:
            raise self.make_error("moment") from None
        if isinstance(moment, datetime) and moment.tzinfo is None:
            raise self.make_error("naive")
        day = moment.date() if isinstance(moment, datetime) else moment
        if not f.EARLIEST_DAY <= day <= f.LATEST_DAY:
            raise self.make_error("range")
        return moment


class AuditAfter(fields.String):
    """The ``next_after`` of the page before: where the next page begins."""

    default_error_messages = {"cursor": "Not a next_after this query answered."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            after = parse_audit_cursor(text) if len(text) <= 200 else None
        except ValueError:
            after = None
        if after is None or after[1] not in SOURCES or after[2] > MAX_POSITION:
            raise self.make_error("cursor")
        return after


class AuditQuery(Schema):
    """Who did what: archived events of every source, newest first, a page at a time."""

    actor = f.text(
        max(MAX_ACTOR_ID, MAX_ACTOR_USERNAME),
        required=False,
        load_default=None,
        metadata={"description": "Only this actor's events: a username (or key:<name>) or id."},
    )
    since = Moment(
        data_key="from",
        load_default=None,
        metadata={"description": "Recorded from this day at the school or moment (inclusive)."},
    )
    until = Moment(
        data_key="to",
        load_default=None,
        metadata={"description": "Recorded up to this day at the school or moment (inclusive)."},
    )
    after = AuditAfter(
        load_default=None,
        metadata={"description": "The next_after of the page before (left out: the newest)."},
    )
    limit = f.whole(1, MAX_AUDIT_PAGE, load_default=100)

    @validates_schema
    def in_order(self, data: dict, **kwargs: object) -> None:
        # Two days or two moments; a day against a moment depends on the school's zone,
        # and a period that ends before it begins only finds nothing.
        since, until = data.get("since"), data.get("until")
        comparable = isinstance(since, datetime) == isinstance(until, datetime)
        if since and until and comparable and since > until:
            raise ValidationError("Must not be after 'to'.", "from")


class CopyHistoryQuery(Schema):
    barcode = f.barcode()


class DeskTodayQuery(Schema):
    """What a campus desk did on a day: its lends, returns, renewals and payments."""

    campus = f.campus(
        required=False,
        load_default=None,
        metadata={"description": "The desk's campus (both campuses when left out)."},
    )
    on = f.day(
        load_default=None, metadata={"description": "The day at the school (today when left out)."}
    )
