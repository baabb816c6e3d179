"""Commands and queries circulation accepts, validated at the RPC edge.

The HTTP gateway validates its requests with these same schemas (and documents
them from here), so what a caller may send is written once. A class is ``class``
wherever a caller writes one (a card, a roster's column, the overdue and
clearance queries); ``class_name`` is refused, naming ``class``.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shared.events import fields as f

MAX_BULK_LEND = 200
# The largest roster one import takes, in bytes of UTF-8 (the gateway's body limit for it).
MAX_ROSTER_BYTES = 2 * 1024 * 1024
GRADE_PATTERN = r"^G(1[0-2]|[1-9])$"
GRADE = f.Pattern(GRADE_PATTERN, error="Not a grade like G9.")


def roster_size(value: str) -> None:
    """At most ``MAX_ROSTER_BYTES`` bytes of UTF-8 (a character is 1 to 4 of them)."""
    if len(value) * 4 <= MAX_ROSTER_BYTES:
        return
    if len(value) > MAX_ROSTER_BYTES or len(value.encode("utf-8", "replace")) > MAX_ROSTER_BYTES:
        raise ValidationError(
            f"Longer than {MAX_ROSTER_BYTES} bytes of UTF-8: split the roster and import each part."
        )


def class_name(**kwargs: Any) -> fields.String:
    """A class, written ``class`` by callers (``class_name`` in the loaded command)."""
    return f.class_name(data_key="class", **kwargs)


MAX_TITLES_ASKED = 500  # a search's page of titles at most


class Command(Schema):
    """Every command may carry an id; sending it again is then answered, not redone."""

    command_id = f.command_id()


class AtDesk(Command):
    """Commands made at a campus desk, on a day (today unless a librarian backdates it)."""

    campus = f.campus(metadata={"description": "The campus of the desk doing it."})
    on = f.backdate()


class IssueCard(Command):
    patron_id = f.patron_id(
        required=False,
        load_default=None,
        metadata={"description": "A student number; generated (P0000001...) when left out."},
    )
    name = f.text(100)
    kind = f.choice(f.PATRON_KINDS)
    class_name = class_name(
        load_default=None,
        allow_none=True,
        metadata={"description": "The holder's class, e.g. G7-3 (students and class corners)."},
    )
    class_name_refused = f.renamed("class", data_key="class_name")
    campus = f.campus(metadata={"description": "The campus the holder studies or works at."})


class ImportCards(Command):
    csv = fields.String(
        required=True,
        validate=[validate.Length(min=1), roster_size],
        metadata={
            "description": "CSV with a header: name,kind,class,campus[,patron_id]; at most "
            f"{MAX_ROSTER_BYTES} bytes of UTF-8. A bad row is reported with its line and "
            "column, never stopping the good ones."
        },
    )


class CardChange(Command):
    patron_id = f.patron_id()
    reason = fields.String(load_default="", validate=validate.Length(max=300))


class Lend(AtDesk):
    barcode = f.barcode()
    patron_id = f.patron_id()


class LendMany(AtDesk):
    patron_id = f.patron_id()
    barcodes = fields.List(
        f.barcode(), required=True, validate=validate.Length(min=1, max=MAX_BULK_LEND)
    )

    @validates_schema
    def no_repeats(self, data: dict, **kwargs: object) -> None:
        barcodes = data.get("barcodes") or []
        if len(set(barcodes)) != len(barcodes):
            raise ValidationError("A barcode appears twice.", "barcodes")


class Return(AtDesk):
    barcode = f.barcode()
    condition = f.choice(f.CONDITIONS, load_default="ok", required=False)


class LoanCommand(Command):
    loan_id = f.identifier()
    on = f.backdate()


class Renew(LoanCommand):
    campus = f.campus(
        required=False,
        load_default=None,
        metadata={"description": "The campus of the desk renewing it, when known."},
    )


class RenewCopy(AtDesk):
    """Renew by scanning the book: the copy's open loan is found, then renewed."""

    barcode = f.barcode()


class Pay(LoanCommand):
    amount = f.money()


class Reserve(Command):
    patron_id = f.patron_id()
    isbn = f.isbn()
    campus = f.campus(metadata={"description": "The campus where the reader will collect it."})


class CancelReservation(Command):
    patron_id = f.patron_id()
    reservation_id = f.identifier()


class OverdueQuery(Schema):
    class_name = class_name(load_default=None)
    class_name_refused = f.renamed("class", data_key="class_name")
    campus = f.campus(load_default=None, required=False)
    on = f.day(
        load_default=None, metadata={"description": "Overdue as of this day (today when left out)."}
    )


class ClearanceQuery(Schema):
    grade = fields.String(load_default=None, validate=GRADE)
    class_name = class_name(load_default=None)
    class_name_refused = f.renamed("class", data_key="class_name")
    on = f.day(load_default=None, metadata={"description": "As of this day (today when left out)."})

    @validates_schema
    def exactly_one(self, data: dict, **kwargs: object) -> None:
        if (data.get("grade") is None) == (data.get("class_name") is None):
            raise ValidationError("Give either a grade (G9) or a class (G9-3).", "grade")


class TitleAvailabilityQuery(Schema):
    """The titles a catalogue search found, by ISBN (as the catalogue wrote each)."""

    isbns = fields.List(f.isbn(), required=True, validate=validate.Length(max=MAX_TITLES_ASKED))


# ------------------------------------------------------------------ the school year


def school_year(**kwargs: Any) -> fields.Integer:
    """A school year by the calendar year it starts in: 2027 for 2027-28."""
    return fields.Integer(
        validate=validate.Range(min=2000, max=2100),
        metadata={"description": "The school year by the year it starts in: 2027 for 2027-28.",
                  "example": 2027},
        **kwargs,
    )  # fmt: skip


class TurnSchoolYear(Command):
    """Move every class up a grade for the new school year; turning it twice moves nothing."""

    school_year = school_year(required=True)


class RetireGraduates(Command):
    """Retire the cards of the graduates who hold no book and owe nothing."""

    school_year = school_year(load_default=None, allow_none=True)  # left out: the latest


class GraduatesQuery(Schema):
    school_year = school_year(load_default=None, allow_none=True)
    on = f.day(load_default=None, metadata={"description": "As of this day (today when left out)."})

