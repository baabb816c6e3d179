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
from shared.events.circulation import OFFLINE_ACTIONS

OFFLINE_RESOLUTIONS = ("override", "return_and_relend", "dismiss")

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
    """A payment towards a lost copy: all that is owed or a part (docs/losses.md)."""

    amount = f.money(
        metadata={"description": 'Yuan as text, e.g. "12.50": at most what is still owed.'}
    )
    taken_by = f.text(
        100,
        required=False,
        load_default=None,
        metadata={"description": "The name of the person taking the money (the signed-in one)."},
    )


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
    starts = f.day(
        load_default=None,
        metadata={
            "description": "The first day of the new school year: the reading programme counts "
            "the new classes from it, the old ones before it (today when left out)."
        },
    )


class RetireGraduates(Command):
    """Retire the cards of the graduates who hold no book and owe nothing."""

    school_year = school_year(load_default=None, allow_none=True)  # left out: the latest


class GraduatesQuery(Schema):
    school_year = school_year(load_default=None, allow_none=True)
    on = f.day(load_default=None, metadata={"description": "As of this day (today when left out)."})


# ------------------------------------------------------------------ the calendar

# The longest holiday one entry may name (a summer break is about 60 days), and the
# longest span of the calendar one query lists.
MAX_CLOSED_DAYS = 120
MAX_CALENDAR_DAYS = 400


class SetClosedDays(Command):
    """Shut the library on a named day or range (a holiday); an entry with the same first
    day is replaced, the config's too."""

    starts = f.day(required=True, metadata={"description": "The first closed day."})
    ends = f.day(
        load_default=None,
        allow_none=True,
        metadata={"description": "The last closed day (included); the first when left out."},
    )
    name = f.text(60, metadata={"description": "What the school calls it: 国庆节, 寒假."})
    kind = f.choice(
        ("closed", "open"),
        load_default="closed",
        required=False,
        metadata={
            "description": "closed (a holiday) or open: make-up school days (调休) the library "
            "opens on although they are a weekend or in a holiday."
        },
    )

    @validates_schema
    def a_range(self, data: dict, **kwargs: object) -> None:
        starts, ends = data.get("starts"), data.get("ends")
        if starts is None or ends is None:
            return
        if ends < starts:
            raise ValidationError("Ends before it starts.", "ends")
        if (ends - starts).days >= MAX_CLOSED_DAYS:
            raise ValidationError(f"More than {MAX_CLOSED_DAYS} days: split it.", "ends")


class RemoveClosedDays(Command):
    """Open the library again on the closed days that start on ``starts``."""

    starts = f.day(required=True, metadata={"description": "The first day of the entry."})


class SetRotaSlot(Command):
    """A class's weekly borrowing slot (借阅轮流表); it replaces the class's slot."""

    class_name = class_name(required=True)
    class_name_refused = f.renamed("class", data_key="class_name")
    campus = f.campus(metadata={"description": "The campus whose library the class visits."})
    weekday = fields.Integer(
        strict=True,
        required=True,
        validate=validate.Range(min=1, max=7, error="A weekday from 1 (Monday) to 7 (Sunday)."),
        metadata={"description": "1 is Monday ... 7 is Sunday."},
    )
    period = f.text(
        20, metadata={"description": "A lesson number (3: 第3节) or a time (12:00-12:50)."}
    )


class ClearRotaSlot(Command):
    """Take a class off the rota."""

    class_name = f.class_name(required=True)


class CalendarQuery(Schema):
    starts = f.day(
        data_key="from",
        load_default=None,
        metadata={"description": "The first day listed (today when left out)."},
    )
    ends = f.day(
        data_key="to",
        load_default=None,
        metadata={"description": "The last day listed (a year after the first when left out)."},
    )

    @validates_schema
    def a_span(self, data: dict, **kwargs: object) -> None:
        starts, ends = data.get("starts"), data.get("ends")
        if starts is None or ends is None:
            return
        if ends < starts:
            raise ValidationError("Ends before it starts.", "to")
        if (ends - starts).days > MAX_CALENDAR_DAYS:
            raise ValidationError(f"At most {MAX_CALENDAR_DAYS} days at once.", "to")


class RotaQuery(Schema):
    campus = f.campus(load_default=None, required=False)
    on = f.day(
        load_default=None,
        metadata={"description": "The day whose classes are listed under 'today' (today)."},
    )


# ------------------------------------------------------------------ losses


class ReplaceLost(LoanCommand):
    """The reader brought a new copy of the lost book's title: catalogued in its place."""

    new_barcode = f.barcode(
        metadata={"description": "The new copy's barcode, as scanned from its label."}
    )


# ---------------------------------------------------------------- notices (notifying.py)


class SendOverdueNotices(Schema):
    """Overdue notices e-mailed to the class teachers: one class's or every class's."""

    command_id = f.command_id()
    class_name = class_name(load_default=None, allow_none=True)
    class_name_refused = f.renamed("class", data_key="class_name")
    campus = f.campus(load_default=None, required=False, allow_none=True)
    on = f.day(
        load_default=None,
        allow_none=True,
        metadata={"description": "Overdue as of this day (today when left out)."},
    )


class NoticesQuery(Schema):
    """The notices sent, newest first."""

    kind = f.choice(("overdue", "hold_ready"), load_default=None, required=False)
    class_name = class_name(load_default=None)
    class_name_refused = f.renamed("class", data_key="class_name")
    outcome = f.choice(("delivered", "failed"), load_default=None, required=False)
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class ExpireHolds(Schema):
    """Release the held copies not picked up by their day."""

    command_id = f.command_id()
    on = f.day(
        load_default=None,
        allow_none=True,
        metadata={"description": "Release the holds whose day is before this one (today)."},
    )


class ReceiptNumber(Schema):
    """A payment's receipt (收据), by its number."""

    receipt_no = f.identifier(metadata={"description": "As printed: 2026-000001."})


# ------------------------------------------------------------------ offline circulation

MAX_OFFLINE_ENTRIES = 500  # scans one send carries (a desk sends a longer queue in parts)
MAX_OFFLINE_FILE = 256 * 1024  # an offline file's bytes (500 lines are some 25 KiB)
# An offline file's lines, as many as one send's scans: each is a command (some 20 ms),
# and the whole file is answered within the gateway's RPC timeout.
MAX_OFFLINE_LINES = MAX_OFFLINE_ENTRIES
OFFLINE_STATES = ("open", "resolved", "all")


class OfflineEntry(Schema):
    """One scan a desk made while offline, sent when the link is back."""

    command_id = fields.UUID(
        required=True,
        metadata={"description": "Made at the desk for this scan: sent again, it is done once."},
    )
    at = fields.AwareDateTime(
        required=True,
        metadata={"description": "When it was scanned, ISO 8601 with its offset; its day at "
                  "the school is the lend's or the return's day."},
    )  # fmt: skip
    action = f.choice(OFFLINE_ACTIONS)
    patron_id = f.patron_id(
        required=False,
        load_default=None,
        allow_none=True,
        metadata={"description": "The card (a lend's; a return's is not used)."},
    )
    barcode = f.barcode()
    condition = f.choice(
        f.CONDITIONS,
        load_default="ok",
        required=False,
        metadata={"description": "A return's: the book came back damaged (as POST /api/returns)."},
    )

    @validates_schema
    def a_lend_names_a_card_on_a_school_day(self, data: dict[str, Any], **kwargs: object) -> None:
        if data.get("action") == "lend" and not data.get("patron_id"):
            raise ValidationError("A lend names the card (patron_id).", "patron_id")
        if data.get("action") == "lend" and data.get("condition") == "damaged":
            raise ValidationError("Only a return records a damaged book.", "condition")
        at = data.get("at")
        if at is not None and not f.EARLIEST_DAY <= at.date() <= f.LATEST_DAY:
            raise ValidationError(
                f"Must be from {f.EARLIEST_DAY} to {f.LATEST_DAY}.", "at"
            )  # a school day, as every desk command's ``on``


class OfflineBatch(Schema):
    """A desk's queued scans, applied in the order sent (docs/offline.md)."""

    campus = f.campus(metadata={"description": "The campus of the desk that scanned them."})
    entries = fields.List(
        fields.Nested(OfflineEntry),
        required=True,
        validate=validate.Length(min=1, max=MAX_OFFLINE_ENTRIES),
    )


def offline_file_size(value: str) -> None:
    """The file, base64-encoded, is at most ``MAX_OFFLINE_FILE`` bytes once decoded."""
    if len(value) > (MAX_OFFLINE_FILE + 2) // 3 * 4:
        raise ValidationError(f"The file is over the limit of {MAX_OFFLINE_FILE} bytes.")


class OfflineFileQuery(Schema):
    campus = f.campus(metadata={"description": "The campus of the desk that scanned them."})


class OfflineFile(OfflineFileQuery):
    """An offline desk's file: CSV ``time,action,card,barcode`` (or 时间,操作,借书证号,条码号)."""

    file = fields.String(
        required=True,
        validate=[validate.Length(min=1), offline_file_size],
        metadata={
            "description": "The CSV file, base64 (the HTTP body is the file itself): UTF-8 "
            "(BOM or not) or GBK/GB18030; times in school time; action lend/return or "
            "借/还; an optional fifth column condition (状况): damaged (损坏) for a return "
            f"that came back damaged; at most {MAX_OFFLINE_LINES} lines. Bad lines are "
            "reported by number."
        },
    )


class OfflineConflictsQuery(Schema):
    campus = f.campus(load_default=None, required=False)
    state = f.choice(OFFLINE_STATES, load_default="open", required=False)


class ResolveOfflineConflict(Command):
    conflict_id = f.identifier()
    resolution = f.choice(OFFLINE_RESOLUTIONS)
    note = fields.String(load_default="", validate=validate.Length(max=300))
