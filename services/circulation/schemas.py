"""Commands and queries circulation accepts, validated at the RPC edge."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shared.events import fields as f

PATRON_ID = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9\-]{0,31}$", error="Not a valid card number.")
MAX_BULK_LEND = 200
MAX_ROSTER_BYTES = 2_000_000
GRADE = validate.Regexp(r"^G(1[0-2]|[1-9])$", error="Not a grade like G9.")


class Command(Schema):
    """Every command may carry an id; sending it again is then answered, not redone."""

    command_id = fields.UUID(load_default=None)


class AtDesk(Command):
    """Commands made at a campus desk, on a day (today unless a librarian backdates it)."""

    campus = f.campus()
    on = f.day(load_default=None)


class IssueCard(Command):
    patron_id = fields.String(load_default=None, validate=PATRON_ID)
    name = f.text(100)
    kind = f.choice(f.PATRON_KINDS)
    class_name = f.class_name(load_default=None, allow_none=True)
    campus = f.campus()


class ImportCards(Command):
    csv = fields.String(required=True, validate=validate.Length(min=1, max=MAX_ROSTER_BYTES))


class CardChange(Command):
    patron_id = fields.String(required=True, validate=PATRON_ID)
    reason = fields.String(load_default="", validate=validate.Length(max=300))


class Lend(AtDesk):
    barcode = f.barcode()
    patron_id = fields.String(required=True, validate=PATRON_ID)


class LendMany(AtDesk):
    patron_id = fields.String(required=True, validate=PATRON_ID)
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
    loan_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    on = f.day(load_default=None)


class Pay(LoanCommand):
    amount = f.money()


class Reserve(Command):
    patron_id = fields.String(required=True, validate=PATRON_ID)
    isbn = f.isbn()
    campus = f.campus()


class CancelReservation(Command):
    patron_id = fields.String(required=True, validate=PATRON_ID)
    reservation_id = fields.String(required=True, validate=validate.Length(min=1, max=64))


class OverdueQuery(Schema):
    class_name = f.class_name(load_default=None)
    campus = f.campus(load_default=None, required=False)
    on = f.day(load_default=None)


class ClearanceQuery(Schema):
    grade = fields.String(load_default=None, validate=GRADE)
    class_name = f.class_name(load_default=None)
    on = f.day(load_default=None)

    @validates_schema
    def exactly_one(self, data: dict, **kwargs: object) -> None:
        if (data.get("grade") is None) == (data.get("class_name") is None):
            raise ValidationError("Give either a grade (G9) or a class (G9-3).", "grade")
