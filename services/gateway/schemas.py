"""What the HTTP API accepts: request bodies, query strings and path parameters.

Every schema refuses fields it does not know (marshmallow's default), checks
types and the formats a desk gets wrong (campus, barcode, ISBN, classification,
class names), and is the source of the OpenAPI document's request side. The
services check the rest (the library's rules) and answer with named fields too.

Optional fields have no defaults here, so only what the caller gave is sent on.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shared.config import SERVICES
from shared.events import fields as f

PATRON_ID = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9\-]{0,31}$", error="Not a valid card number.")
GRADE = validate.Regexp(r"^G(1[0-2]|[1-9])$", error="Not a grade like G9.")
TERM = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9\-]{0,39}$", error="Not a term name.")
STATUSES = ("on_shelf", "damaged", "on_loan", "in_transit", "weeded")
BOARDS = {"students": "student", "classes": "class", "campuses": "campus"}
PERIODS = ("week", "month", "term")
REGISTERS = ("purchases", "repairs", "staff_loans", "teacher_reservations", "writeoffs")
FORMATS = ("json", "csv")
MAX_COPIES = 500
MAX_TITLES = 2000
MAX_BULK_LEND = 200
MAX_SEARCH_PAGE = 500
MAX_FEED_PAGE = 5000
# Bounds that keep absurd input a 400 rather than an overflow in a service's database
# or date arithmetic (prices are numeric(10, 2); due dates are days after a loan).
MAX_MONEY = Decimal("999999.99")
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)
MAX_POSITION = 2**62
MAX_OFFSET = 10_000_000
MAX_WORDS = 1_000_000


def patron_id(**kwargs: Any) -> fields.String:
    return fields.String(validate=PATRON_ID, required=kwargs.pop("required", True), **kwargs)


def note() -> fields.String:
    return fields.String(validate=validate.Length(max=500), metadata={"description": "Free text."})


def day(description: str) -> fields.Date:
    return fields.Date(
        validate=validate.Range(min=FIRST_DAY, max=LAST_DAY), metadata={"description": description}
    )


def money(**kwargs: Any) -> fields.Decimal:
    """An amount in yuan, e.g. "39.50" (a number is taken too)."""
    return fields.Decimal(
        required=kwargs.pop("required", True),
        as_string=True,
        places=2,
        validate=validate.Range(min=0, max=MAX_MONEY),
        metadata={"description": f"Yuan, from 0 to {MAX_MONEY}."},
        **kwargs,
    )


def desk_campus() -> fields.String:
    """The campus of the desk doing it: a campus gateway's own when left out (another: 400)."""
    return f.campus(
        required=False,
        metadata={
            "description": "The campus of the desk. A campus gateway fills in its own and "
            "refuses another; a whole-school gateway needs it."
        },
    )


def home_campus(description: str) -> fields.String:
    """A campus a campus gateway fills in with its own when left out (another may be named)."""
    return f.campus(
        required=False,
        metadata={
            "description": f"{description} A campus gateway's own when left out; a "
            "whole-school gateway needs it."
        },
    )


def backdate() -> fields.Date:
    return day("The day it happened, when not today at the school (librarians backdating).")


class Command(Schema):
    """Every command may carry an id of the caller's choosing: sent again, it is not redone."""

    command_id = fields.UUID(
        metadata={"description": "Idempotency key: the same command sent again is not redone."}
    )


# ------------------------------------------------------------------ catalog


class TitleItem(Schema):
    """A title's details and how many copies of it to catalogue."""

    isbn = f.isbn()
    title = f.text(300)
    author = f.text(200)
    classification = f.classification()
    campus = f.campus()
    shelf = f.text(40)
    price = money()
    acquisition = f.choice(f.ACQUISITION_SOURCES, required=False)
    reference_only = fields.Boolean()
    copies = fields.Integer(
        validate=validate.Range(min=1, max=MAX_COPIES),
        metadata={"description": "How many copies of the title to catalogue (1 when left out)."},
    )


class AddBooksBody(Command, TitleItem):
    pass


class AddTitlesBody(Command):
    titles = fields.List(
        fields.Nested(TitleItem), required=True, validate=validate.Length(min=1, max=MAX_TITLES)
    )


class CopyNoteBody(Command):
    note = note()


class WeedBody(Command):
    reason = f.choice(f.WEED_REASONS)
    note = note()


class TransferBody(Command):
    to_campus = f.campus()
    shelf = f.text(40)


class ReceiveBody(Command):
    campus = desk_campus()


class ReferenceBody(Command):
    reference_only = fields.Boolean(
        load_default=True,
        metadata={"description": "true: reference only, never lent; false: lendable again."},
    )


class SearchQuery(Schema):
    q = fields.String(
        validate=validate.Length(max=200),
        metadata={"description": "Part of a title or author, or an ISBN."},
    )
    isbn = f.isbn(required=False)
    classification = fields.String(
        validate=validate.Length(min=1, max=32),
        metadata={"description": "A classification code prefix, e.g. I24."},
    )
    campus = f.campus(required=False)
    status = f.choice(STATUSES, required=False)
    limit = fields.Integer(validate=validate.Range(min=1, max=MAX_SEARCH_PAGE))
    offset = fields.Integer(validate=validate.Range(min=0, max=MAX_OFFSET))


class BarcodePath(Schema):
    barcode = f.barcode()


# ------------------------------------------------------------------ circulation


class IssueCardBody(Command):
    patron_id = patron_id(
        required=False, metadata={"description": "A student number; generated when left out."}
    )
    name = f.text(100)
    kind = f.choice(f.PATRON_KINDS)
    class_name = f.class_name(allow_none=True)
    campus = home_campus("The campus the holder studies or works at.")


class ImportCardsBody(Command):
    csv = fields.String(
        required=True,
        validate=validate.Length(min=1),
        metadata={"description": "CSV with a header: name,kind,class,campus[,patron_id]."},
    )


class CardChangeBody(Command):
    reason = fields.String(validate=validate.Length(max=300))


class PatronPath(Schema):
    patron_id = patron_id()


class LendBody(Command):
    barcode = f.barcode()
    patron_id = patron_id()
    campus = desk_campus()
    on = backdate()


class LendManyBody(Command):
    patron_id = patron_id()
    barcodes = fields.List(
        f.barcode(), required=True, validate=validate.Length(min=1, max=MAX_BULK_LEND)
    )
    campus = desk_campus()
    on = backdate()


class ReturnBody(Command):
    barcode = f.barcode()
    campus = desk_campus()
    condition = f.choice(f.CONDITIONS, required=False)
    on = backdate()


class RenewBody(Command):
    on = backdate()


class LostBody(Command):
    pass


class PaymentBody(Command):
    amount = money()


class LoanPath(Schema):
    loan_id = f.identifier()


class ReserveBody(Command):
    patron_id = patron_id()
    isbn = f.isbn()
    campus = home_campus("The campus where the reader will collect it.")


class CancelReservationBody(Command):
    patron_id = patron_id()


class ReservationPath(Schema):
    reservation_id = f.identifier()


class OverdueQuery(Schema):
    class_name = f.class_name(data_key="class")
    campus = f.campus(required=False)
    on = day("Overdue as of this day (today when left out).")


class ClearanceQuery(Schema):
    grade = fields.String(validate=GRADE)
    class_name = f.class_name(data_key="class")
    on = day("As of this day (today when left out).")

    @validates_schema
    def exactly_one(self, data: dict[str, Any], **kwargs: Any) -> None:
        if ("grade" in data) == ("class_name" in data):
            raise ValidationError("Give either a grade (G9) or a class (G9-3).", "grade")


# ------------------------------------------------------------------ activities


class LeaderboardPath(Schema):
    board = f.choice(tuple(BOARDS))


class LeaderboardQuery(Schema):
    period = f.choice(PERIODS, required=False, load_default="week")
    on = day("The week, month or term containing this day (today when left out).")
    campus = f.campus(required=False)
    limit = fields.Integer(validate=validate.Range(min=1, max=500))


class SubmitNoteBody(Command):
    patron_id = patron_id()
    loan_id = f.identifier()
    text = f.text(20000)
    word_count = fields.Integer(validate=validate.Range(min=1, max=MAX_WORDS))
    on = backdate()


class AwardNoteBody(Command):
    award = f.text(100)
    awarded_by = patron_id(metadata={"description": "The teacher's card number."})
    on = backdate()


class NotePath(Schema):
    note_id = f.identifier()


# ------------------------------------------------------------------ archives


class PeriodQuery(Schema):
    campus = f.campus(required=False)
    since = day("From this day (inclusive).")
    until = day("Up to this day (inclusive).")

    @validates_schema
    def in_order(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise ValidationError("Must not be after 'until'.", "since")


class RegisterQuery(PeriodQuery):
    format = f.choice(
        FORMATS, required=False, metadata={"description": "csv: the same as Accept: text/csv."}
    )


class RegisterPath(Schema):
    name = f.choice(REGISTERS)


class EventsQuery(Schema):
    source = f.choice(SERVICES)
    after = fields.Integer(
        validate=validate.Range(min=0, max=MAX_POSITION),
        metadata={"description": "Events after this position (0 when left out)."},
    )
    limit = fields.Integer(validate=validate.Range(min=1, max=MAX_FEED_PAGE))


class TermPath(Schema):
    term = fields.String(required=True, validate=TERM)


class TermReportQuery(Schema):
    format = f.choice(FORMATS, required=False)


class CloseTermBody(Command):
    on = backdate()


# ------------------------------------------------------------------ the dashboard


class StaticPath(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
