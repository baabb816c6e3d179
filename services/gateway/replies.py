"""What the HTTP API answers: the shapes of its responses, for the OpenAPI document.

The gateway passes the services' answers through unchanged (a lend is answered
with the ``Lent`` event's payload, a copy with the catalog's copy view), so
these schemas describe the services' answers; the receipts reuse the event
catalogue's own schemas. Tests validate real responses against the document.
"""

from __future__ import annotations

from marshmallow import INCLUDE, Schema, fields

from shared.events import circulation as events
from shared.events.envelope import EnvelopeSchema

MONEY_PATTERN = r"^-?\d+\.\d{2}$"


def money(**kwargs: object) -> fields.String:
    """An amount in yuan as text with two places ("39.50"), so no precision is lost."""
    return fields.String(metadata={"pattern": MONEY_PATTERN, "example": "39.50"}, **kwargs)


def nullable_string(**kwargs: object) -> fields.String:
    return fields.String(allow_none=True, **kwargs)


def day(**kwargs: object) -> fields.Date:
    return fields.Date(**kwargs)


class RefusedCopy(Schema):
    """A copy a bulk lend did not lend, and why."""

    barcode = fields.String(required=True)
    reason = fields.String(required=True)
    code = fields.String(required=True, metadata={"example": "copy_on_loan"})


class ProblemReply(Schema):
    """RFC 7807 problem details, the body of every error."""

    type = fields.String(required=True, metadata={"example": "/problems/conflict"})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    correlation_id = fields.String(
        metadata={"description": "Quote it to find this request in the logs."}
    )
    errors = fields.Dict(
        keys=fields.String(),
        metadata={"description": "400: the offending fields, each with its messages."},
    )
    code = fields.String(
        metadata={"description": "409: a stable code for programs, e.g. copy_on_loan."}
    )
    refused = fields.List(
        fields.Nested(RefusedCopy),
        metadata={"description": "409 nothing_lent (a bulk lend): each copy's refusal."},
    )


# ------------------------------------------------------------------ catalog


class Barcodes(Schema):
    barcodes = fields.List(fields.String(), required=True)


class TitleBarcodes(Schema):
    isbn = fields.String(required=True)
    barcodes = fields.List(fields.String(), required=True)


class TitlesReply(Schema):
    titles = fields.List(fields.Nested(TitleBarcodes), required=True)


class Transit(Schema):
    """Where a copy returned at the other campus is, and the home it is on its way to."""

    from_campus = fields.String(required=True, metadata={"description": "Where it is now."})
    to_campus = fields.String(required=True, metadata={"description": "Its home campus."})
    since = fields.Date(allow_none=True, metadata={"description": "The day it was returned."})


class CopyReply(Schema):
    """A copy as the catalogue knows it.

    ``status`` is the first of weeded, on_loan (circulation has it out), damaged,
    in_transit (returned at the other campus, not yet received home), on_shelf.
    """

    barcode = fields.String(required=True)
    isbn = fields.String(required=True)
    title = fields.String(required=True)
    author = fields.String(required=True)
    classification = fields.String(required=True)
    campus = fields.String(required=True)
    shelf = fields.String(required=True)
    price = money(required=True)
    acquisition = fields.String(required=True)
    reference_only = fields.Boolean(required=True)
    status = fields.String(required=True)
    weed_reason = nullable_string(required=True)
    due_on = fields.Date(allow_none=True, required=True)
    transit = fields.Nested(
        Transit,
        allow_none=True,
        required=True,
        metadata={"description": "Set while the copy is on its way home; null when home."},
    )


class StocktakeReply(Schema):
    """A stock-take (清点) and its figures: a running count while open, the report's
    once closed (``expected``, ``missing``: null until then)."""

    stocktake_id = fields.String(required=True, metadata={"example": "ST000007"})
    campus = fields.String(required=True)
    classes = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "Classification prefixes counted; empty: the whole campus."},
    )
    status = fields.String(required=True, metadata={"description": "open or closed"})
    opened_on = day(required=True)
    opened_by = nullable_string(required=True)
    closed_on = day(allow_none=True, required=True)
    expected = fields.Integer(allow_none=True, required=True)
    counted = fields.Integer(required=True)
    missing = fields.Integer(allow_none=True, required=True)
    misplaced = fields.Integer(allow_none=True, required=True)
    found_on_loan = fields.Integer(allow_none=True, required=True)
    last_counted = nullable_string(metadata={"description": "The copy counted last."})


class StocktakeLine(Schema):
    """A copy in a stock-take's report."""

    barcode = fields.String(required=True)
    title = fields.String(required=True)
    author = fields.String(required=True)
    classification = fields.String(required=True)
    campus = fields.String(required=True, metadata={"description": "The copy's home campus."})
    shelf = fields.String(required=True)
    price = money(required=True)
    misplaced = nullable_string(
        required=True, metadata={"description": "other_campus, out_of_range or null."}
    )
    loan_id = nullable_string(
        required=True, metadata={"description": "The loan it was found on (returned since)."}
    )


class StocktakeReport(StocktakeReply):
    """A stock-take with its three lists (missing only once closed)."""

    missing_copies = fields.List(fields.Nested(StocktakeLine), required=True)
    misplaced_copies = fields.List(fields.Nested(StocktakeLine), required=True)
    found_on_loan_copies = fields.List(fields.Nested(StocktakeLine), required=True)


class StocktakeList(Schema):
    items = fields.List(fields.Nested(StocktakeReply), required=True)


class ScanFinding(Schema):
    """What one barcode scanned (or one line of a scanner's file) came to."""

    barcode = fields.String(required=True)
    line = fields.Integer(allow_none=True, required=True)
    outcome = fields.String(
        required=True,
        metadata={"description": "counted, already_counted, unknown_barcode or copy_weeded."},
    )
    misplaced = nullable_string(required=True)
    on_loan = fields.Boolean(required=True)


class BadScanLine(Schema):
    line = fields.Integer(allow_none=True, required=True)
    text = fields.String(required=True)
    code = fields.String(required=True, metadata={"example": "not_a_barcode"})


class CountReply(Schema):
    stocktake = fields.Nested(StocktakeReply, required=True)
    scans = fields.List(fields.Nested(ScanFinding), required=True)
    errors = fields.List(fields.Nested(BadScanLine), required=True)


class TwiceMissingCopy(Schema):
    barcode = fields.String(required=True)
    title = fields.String(required=True)
    author = fields.String(required=True)
    classification = fields.String(required=True)
    shelf = fields.String(required=True)
    price = money(required=True)
    stocktakes = fields.List(
        fields.String(), required=True, metadata={"description": "The two, newest first."}
    )


class TwiceMissingReply(Schema):
    items = fields.List(fields.Nested(TwiceMissingCopy), required=True)


class WeedMissingReply(Schema):
    campus = fields.String(required=True)
    weeded = fields.List(fields.Nested(CopyReply), required=True)


class CampusCounts(Schema):
    """A number of copies at each campus."""

    north = fields.Integer(required=True)
    south = fields.Integer(required=True)


class TitleLine(Schema):
    """One title a search found (its ISBN), with its copies at north and south.

    Counted where each copy belongs (a copy in transit at the campus it is going to);
    ``available``: lendable there now (on the shelf, not reference-only, not in transit).
    """

    isbn = fields.String(required=True)
    title = fields.String(required=True)
    author = fields.String(required=True)
    classification = fields.String(required=True)
    copies = fields.Nested(
        CampusCounts, required=True, metadata={"description": "Held (not written off)."}
    )
    available = fields.Nested(CampusCounts, required=True)
    on_loan = fields.Nested(CampusCounts, required=True)
    in_transit = fields.Nested(CampusCounts, required=True)


class CopyPage(Schema):
    """A page of the copies found (``items``, shelf order) and of their titles (``titles``,
    one line per title, paged by the same ``limit`` and ``offset``)."""

    total = fields.Integer(required=True, metadata={"description": "Copies found."})
    items = fields.List(fields.Nested(CopyReply), required=True)
    titles_total = fields.Integer(required=True, metadata={"description": "Titles found."})
    titles = fields.List(fields.Nested(TitleLine), required=True)


class AvailabilityReply(Schema):
    """Whether circulation would lend the copy now, and who has it."""

    barcode = fields.String(required=True)
    isbn = fields.String(required=True)
    title = fields.String(required=True)
    classification = fields.String(required=True)
    campus = fields.String(required=True)
    price = money(required=True)
    reference_only = fields.Boolean(required=True)
    status = fields.String(required=True)
    loan_id = nullable_string(required=True)
    patron_id = nullable_string(required=True)
    due_on = fields.Date(allow_none=True, required=True)
    transit = fields.Nested(Transit, allow_none=True, required=True)
    available = fields.Boolean(required=True)


# ------------------------------------------------------------------ circulation


class CardReply(Schema):
    patron_id = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    class_name = nullable_string(required=True)
    campus = fields.String(required=True)
    status = fields.String(required=True)
    owed = money(required=True)


class IssuedRow(Schema):
    line = fields.Integer()
    patron_id = fields.String(required=True)
    name = fields.String(required=True)


class RosterRowError(Schema):
    line = fields.Integer(required=True)
    errors = fields.Dict(keys=fields.String(), required=True)


class RosterReply(Schema):
    issued = fields.List(fields.Nested(IssuedRow), required=True)
    errors = fields.List(fields.Nested(RosterRowError), required=True)


class MarcLine(Schema):
    """One record of a MARC file: catalogued (its copies' barcodes), already catalogued
    before (the barcodes it got then), or refused (why: a code the screens word)."""

    record = fields.Integer(
        required=True, metadata={"description": "Its number in the file, from 1."}
    )
    status = fields.String(required=True, metadata={"enum": ["catalogued", "already", "refused"]})
    format = nullable_string(required=True, metadata={"enum": ["marc21", "cnmarc", None]})
    isbn = nullable_string(required=True)
    title = nullable_string(required=True)
    publisher = nullable_string(required=True)
    barcodes = fields.List(fields.String())
    reason = fields.String(metadata={"example": "bad_isbn"})
    detail = fields.String()


class MarcReport(Schema):
    catalogued = fields.Integer(required=True)
    already = fields.Integer(required=True)
    refused = fields.Integer(required=True)
    records = fields.List(fields.Nested(MarcLine), required=True)


class BulkLoansReply(Schema):
    loans = fields.List(fields.Nested(events.Lent), required=True)
    refused = fields.List(fields.Nested(RefusedCopy), required=True)


class OpenLoan(Schema):
    loan_id = fields.String(required=True)
    barcode = fields.String(required=True)
    title = nullable_string(required=True)
    isbn = nullable_string(required=True)
    campus = fields.String(required=True)
    lent_on = day(required=True)
    due_on = day(required=True)
    renewed = fields.Boolean(required=True)
    patron_id = fields.String(required=True)
    name = fields.String(required=True)
    class_name = nullable_string(required=True)
    days_overdue = fields.Integer(required=True)


class UnpaidLoss(Schema):
    """A lost copy not yet settled: its price and what is still owed (paid in parts)."""

    loan_id = fields.String(required=True)
    barcode = fields.String(required=True)
    title = nullable_string(required=True)
    replacement_cost = money(required=True)
    patron_id = fields.String(required=True)
    balance = money(required=True)


class OpenReservation(Schema):
    reservation_id = fields.String(required=True)
    isbn = fields.String(required=True)
    title = nullable_string(required=True, metadata={"description": "As catalogued."})
    campus = fields.String(required=True)
    reserved_at = fields.DateTime(required=True)
    status = fields.String(required=True, metadata={"example": "waiting"})
    held_barcode = nullable_string(
        required=True, metadata={"description": "The copy put aside for it (HoldReady), or null."}
    )
    pick_up_by = fields.Date(
        required=True, allow_none=True, metadata={"description": "The day to pick it up by."}
    )


class ReturnedLoan(Schema):
    """A loan the reader brought back (a student may write a reading note about it)."""

    loan_id = fields.String(required=True)
    barcode = fields.String(required=True)
    isbn = nullable_string(required=True)
    title = nullable_string(required=True)
    lent_on = day(required=True)
    returned_on = day(required=True)


class PatronLoansReply(Schema):
    patron = fields.Nested(CardReply, required=True)
    loans = fields.List(fields.Nested(OpenLoan), required=True)
    unpaid = fields.List(fields.Nested(UnpaidLoss), required=True)
    reservations = fields.List(fields.Nested(OpenReservation), required=True)
    returned = fields.List(
        fields.Nested(ReturnedLoan),
        required=True,
        metadata={
            "description": "The loans brought back this term (in the holidays: the term "
            "just ended), newest first, at most 50."
        },
    )


class OverdueClass(Schema):
    class_name = fields.String(required=True, metadata={"description": "(staff) for teachers"})
    loans = fields.List(fields.Nested(OpenLoan), required=True)


class OverdueReply(Schema):
    on = day(required=True)
    classes = fields.List(fields.Nested(OverdueClass), required=True)


class OutstandingPatron(CardReply):
    loans = fields.List(fields.Nested(OpenLoan), required=True)
    unpaid = fields.List(fields.Nested(UnpaidLoss), required=True)


class ClearanceReply(Schema):
    grade = fields.String()
    class_name = fields.String()
    patrons = fields.Integer(required=True)
    cleared = fields.Integer(required=True)
    outstanding = fields.List(fields.Nested(OutstandingPatron), required=True)


class SchoolYearReply(Schema):
    """What a year's turn did: classes moved (old -> new) and those left for clearance."""

    school_year = fields.Integer(required=True, metadata={"example": 2027})
    starts = day(required=True, metadata={"description": "The new school year's first day."})
    graduating_grades = fields.List(fields.Integer(), required=True)
    moved = fields.Dict(
        keys=fields.String(), values=fields.String(), required=True,
        metadata={"example": {"G7-3": "G8-3", "G8-3": "G9-3"}},
    )  # fmt: skip
    graduating = fields.List(fields.String(), required=True, metadata={"example": ["G9-3"]})
    cards_moved = fields.Integer(required=True)
    cards_graduated = fields.Integer(required=True)
    already_turned = fields.Boolean(
        required=True, metadata={"description": "True when this year had been turned before."}
    )


class GraduateCard(Schema):
    patron_id = fields.String(required=True)
    name = fields.String(required=True)
    class_name = fields.String(required=True)


class RetireGraduatesReply(Schema):
    school_year = fields.Integer(required=True, allow_none=True)
    retired = fields.List(fields.Nested(GraduateCard), required=True)
    left_active = fields.List(
        fields.Nested(OutstandingPatron), required=True,
        metadata={"description": "Graduates still holding books or owing: left active."},
    )  # fmt: skip


class GraduatingClass(Schema):
    class_name = fields.String(required=True)
    graduates = fields.Integer(required=True)
    retired = fields.Integer(required=True)
    active = fields.Integer(required=True)
    cleared = fields.Integer(
        required=True, metadata={"description": "Active graduates holding nothing: to retire."}
    )
    outstanding = fields.List(fields.Nested(OutstandingPatron), required=True)


class GraduatesReply(Schema):
    school_year = fields.Integer(required=True, allow_none=True)
    classes = fields.List(fields.Nested(GraduatingClass), required=True)
    graduating_grades = fields.List(
        fields.Integer(), required=True,
        metadata={"description": "The grades that graduate at the year's turn.",
                  "example": [9, 12]},
    )  # fmt: skip


class OfflineApplied(Schema):
    """A queued scan carried out (now, or before: ``already``)."""

    command_id = fields.String(required=True)
    action = fields.String(required=True, metadata={"enum": ["lend", "return"]})
    barcode = fields.String(required=True)
    patron_id = fields.String(required=True)
    loan_id = fields.String(required=True)
    due_on = day(allow_none=True, metadata={"description": "A lend's due date."})
    already = fields.Boolean(
        required=True, metadata={"description": "Done when this command id was sent before."}
    )


class OfflineResolved(Schema):
    resolution = fields.String(
        required=True, metadata={"enum": ["override", "return_and_relend", "dismiss"]}
    )
    by = nullable_string(required=True, metadata={"description": "Who: a username."})
    at = fields.DateTime(required=True)
    loan_id = nullable_string(required=True)
    note = fields.String(required=True)


class OfflineConflict(Schema):
    """A queued scan refused when it was sent, kept for a librarian (docs/offline.md)."""

    conflict_id = fields.String(required=True)
    command_id = fields.String(required=True)
    action = fields.String(required=True, metadata={"enum": ["lend", "return"]})
    patron_id = nullable_string(required=True)
    name = nullable_string(
        required=True, metadata={"description": "The reader's name (a lend's; null if unknown)."}
    )
    barcode = fields.String(required=True)
    title = nullable_string(
        required=True, metadata={"description": "The copy's title (null for an unknown copy)."}
    )
    at = fields.DateTime(required=True, metadata={"description": "When it was scanned."})
    campus = fields.String(required=True)
    code = fields.String(required=True, metadata={"example": "copy_on_loan"})
    reason = fields.String(required=True)
    state = fields.String(required=True, metadata={"enum": ["open", "resolved"]})
    resolutions = fields.List(
        fields.String(metadata={"enum": ["override", "return_and_relend", "dismiss"]}),
        required=True,
        metadata={"description": "Those this conflict allows (none once resolved)."},
    )
    resolved = fields.Nested(OfflineResolved, required=True, allow_none=True)


class OfflineCounts(Schema):
    applied = fields.Integer(required=True)
    already = fields.Integer(required=True)
    conflicts = fields.Integer(required=True)


class OfflineReport(Schema):
    applied = fields.List(fields.Nested(OfflineApplied), required=True)
    conflicts = fields.List(fields.Nested(OfflineConflict), required=True)
    counts = fields.Nested(OfflineCounts, required=True)


class OfflineLineRefused(Schema):
    line = fields.Integer(required=True, metadata={"description": "Its line in the file."})
    field = fields.String(
        required=True, metadata={"enum": ["time", "action", "card", "barcode", "condition"]}
    )
    code = fields.String(required=True, metadata={"example": "offline_bad_time"})


class OfflineFileReport(OfflineReport):
    rows_refused = fields.List(fields.Nested(OfflineLineRefused), required=True)


class OfflineConflictsReply(Schema):
    conflicts = fields.List(fields.Nested(OfflineConflict), required=True)


# ------------------------------------------------------------------ activities


class LeaderboardEntry(Schema):
    rank = fields.Integer(required=True)
    books = fields.Integer(required=True)
    patron_id = fields.String()
    name = fields.String()
    class_name = fields.String(allow_none=True)
    campus = fields.String()
    readers = fields.Integer()


class LeaderboardReply(Schema):
    scope = fields.String(required=True)
    period = fields.String(required=True)
    name = fields.String(required=True, metadata={"example": "2026-W42"})
    from_ = day(required=True, data_key="from")
    to = day(required=True)
    campus = nullable_string(required=True)
    total = fields.Integer(required=True)
    entries = fields.List(fields.Nested(LeaderboardEntry), required=True)


class NoteReply(Schema):
    note_id = fields.String(required=True)
    patron_id = fields.String(required=True)
    loan_id = fields.String(required=True)
    name = nullable_string()
    class_name = nullable_string()
    campus = nullable_string()
    isbn = nullable_string()
    title = nullable_string()
    text = fields.String()
    word_count = fields.Integer(allow_none=True)
    submitted_on = fields.Date(allow_none=True)
    award = nullable_string()
    awarded_by = nullable_string()
    awarded_on = fields.Date(allow_none=True)


class NotesReply(Schema):
    notes = fields.List(fields.Nested(NoteReply), required=True)


class Winner(Schema):
    rank = fields.Integer(required=True)
    patron_id = fields.String(required=True)
    name = fields.String(required=True)
    class_name = nullable_string(required=True)
    campus = fields.String(required=True)
    notes = fields.Integer(required=True)
    awards = fields.Integer(required=True)
    words = fields.Integer(required=True, allow_none=True)


class ClassWinners(Schema):
    campus = fields.String(required=True)
    class_name = nullable_string(required=True)
    winners = fields.List(fields.Nested(Winner), required=True)


class CampusWinners(Schema):
    campus = fields.String(required=True)
    winners = fields.List(fields.Nested(Winner), required=True)


class WinnersReply(Schema):
    """The month's best note writers: most awards, then most notes, then most words."""

    month = fields.String(required=True, metadata={"example": "2026-10"})
    from_ = day(required=True, data_key="from")
    to = day(required=True)
    campus = nullable_string(required=True)
    classes = fields.List(fields.Nested(ClassWinners), required=True)
    campuses = fields.List(fields.Nested(CampusWinners), required=True)


class CompetitionReply(Schema):
    competition_id = fields.String(required=True)
    title = fields.String(required=True)
    kind = fields.String(required=True, metadata={"example": "essay"})
    campus = nullable_string(required=True, metadata={"description": "null: both campuses."})
    opened_on = day(required=True)
    closes_on = day(required=True)
    status = fields.String(required=True, metadata={"example": "open"})
    closed_on = day(required=True, allow_none=True)
    entries = fields.Integer(required=True)
    scored = fields.Integer(required=True)


class CompetitionList(Schema):
    competitions = fields.List(fields.Nested(CompetitionReply), required=True)


class EntryReply(Schema):
    entry_id = fields.String(required=True)
    patron_id = fields.String(required=True)
    name = nullable_string(required=True)
    class_name = nullable_string(required=True)
    title = fields.String(required=True)
    entered_on = day(required=True, allow_none=True)
    entry_order = fields.Integer(required=True)
    score = fields.Integer(required=True, allow_none=True)
    scored_by = nullable_string(required=True)


class RankedEntry(Schema):
    rank = fields.Integer(required=True)
    entry_id = fields.String(required=True)
    patron_id = fields.String(required=True)
    name = nullable_string(required=True)
    class_name = nullable_string(required=True)
    title = fields.String(required=True)
    score = fields.Integer(required=True)


class UnscoredEntry(Schema):
    entry_id = fields.String(required=True)
    patron_id = fields.String(required=True)
    name = nullable_string(required=True)
    class_name = nullable_string(required=True)
    title = fields.String(required=True)


class ResultsReply(Schema):
    """The ranking (ties share a rank: 1, 1, 3): final once closed, provisional before."""

    competition = fields.Nested(CompetitionReply, required=True)
    final = fields.Boolean(required=True)
    results = fields.List(fields.Nested(RankedEntry), required=True)
    unscored = fields.List(fields.Nested(UnscoredEntry), required=True)


class Behind(Schema):
    patron_id = fields.String(required=True)
    name = fields.String(required=True)
    books = fields.Integer(metadata={"description": "A student's books read."})
    loans = fields.Integer(metadata={"description": "A teacher's loans."})
    short_by = fields.Integer(required=True)


class ClassTarget(Schema):
    campus = fields.String(required=True)
    class_name = nullable_string(required=True)
    students = fields.Integer(required=True)
    on_target = fields.Integer(required=True)
    behind = fields.List(fields.Nested(Behind), required=True)


class TeacherTargets(Schema):
    total = fields.Integer(required=True)
    on_target = fields.Integer(required=True)
    behind = fields.List(fields.Nested(Behind), required=True)


class Targets(Schema):
    books_per_student = fields.Integer(required=True)
    loans_per_teacher = fields.Integer(required=True)


class TargetTotals(Schema):
    students = fields.Integer(required=True)
    students_on_target = fields.Integer(required=True)
    teachers = fields.Integer(required=True)
    teachers_on_target = fields.Integer(required=True)


class TermTargetsReply(Schema):
    """Who is behind the term's reading target, class by class (and the teachers)."""

    term = fields.String(required=True, metadata={"example": "2026-autumn"})
    from_ = day(required=True, data_key="from")
    to = day(required=True)
    on = day(required=True)
    targets = fields.Nested(Targets, required=True)
    classes = fields.List(fields.Nested(ClassTarget), required=True)
    teachers = fields.Nested(TeacherTargets, required=True)
    totals = fields.Nested(TargetTotals, required=True)


class TitleCount(Schema):
    title = fields.String(required=True)
    isbn = nullable_string(required=True)
    loans = fields.Integer(required=True)
    rank = fields.Integer()


class Week(Schema):
    period = fields.String(required=True)
    name = fields.String(required=True, metadata={"example": "2026-W42"})
    from_ = day(required=True, data_key="from")
    to = day(required=True)


class ClassBorrowing(Schema):
    campus = fields.String(required=True)
    class_name = fields.String(required=True)
    loans = fields.Integer(required=True)
    readers = fields.Integer(required=True)
    class_size = fields.Integer(required=True)
    loans_per_student = fields.Float(required=True, allow_none=True)
    top_titles = fields.List(fields.Nested(TitleCount), required=True)
    corner_loans = fields.Integer(required=True)


class BulletinTotals(Schema):
    loans = fields.Integer(required=True)
    readers = fields.Integer(required=True)
    students = fields.Integer(required=True)
    loans_per_student = fields.Float(required=True, allow_none=True)
    corner_loans = fields.Integer(required=True)


class BulletinReply(Schema):
    """Each class's borrowing in a week, and the notice as text, ready to print or publish."""

    week = fields.Nested(Week, required=True)
    campus = nullable_string(required=True)
    classes = fields.List(fields.Nested(ClassBorrowing), required=True)
    totals = fields.Nested(BulletinTotals, required=True)
    text = fields.String(required=True)


class TopTitlesReply(Schema):
    period = fields.String(required=True)
    name = fields.String(required=True, metadata={"example": "2026-W42"})
    from_ = day(required=True, data_key="from")
    to = day(required=True)
    campus = nullable_string(required=True)
    titles = fields.List(fields.Nested(TitleCount), required=True)


# ------------------------------------------------------------------ archives


class LedgerLine(Schema):
    """One line: a campus (or class letter), or ``all`` for the total."""

    campus = fields.String()
    class_letter = fields.String()
    held = fields.Integer(required=True)
    held_value = money(required=True)
    on_loan = fields.Integer(required=True)
    in_repair = fields.Integer(required=True)
    lost = fields.Integer(required=True)
    added = fields.Integer(required=True)
    added_value = money(required=True)
    weeded = fields.Integer(required=True)
    weeded_value = money(required=True)
    transferred_in = fields.Integer(required=True)
    transferred_out = fields.Integer(required=True)
    in_transit = fields.Integer(
        required=True,
        metadata={"description": "Held copies returned at the other campus, on their way home."},
    )


class LedgerReply(Schema):
    ledger = fields.String(required=True)
    lines = fields.List(fields.Nested(LedgerLine), required=True)


class ReasonTotal(Schema):
    copies = fields.Integer(required=True)
    value = money(required=True)


class WriteOffLedgerReply(Schema):
    columns = fields.List(fields.String(), required=True)
    rows = fields.List(fields.List(fields.Raw(allow_none=True)), required=True)
    by_reason = fields.Dict(keys=fields.String(), values=fields.Nested(ReasonTotal), required=True)


class RegisterNames(Schema):
    registers = fields.List(fields.String(), required=True)


class RegisterReply(Schema):
    """A page of a register (CSV, Accept: text/csv, is always the whole register)."""

    name = fields.String(required=True)
    columns = fields.List(fields.String(), required=True)
    rows = fields.List(fields.List(fields.Raw(allow_none=True)), required=True)
    total = fields.Integer(
        required=True, metadata={"description": "Rows in the whole register for the query."}
    )
    limit = fields.Integer(required=True, metadata={"description": "Rows a page holds at most."})
    offset = fields.Integer(
        required=True, metadata={"description": "Rows of the register before this page."}
    )


class EventsReply(Schema):
    source = fields.String(required=True)
    after = fields.Integer(required=True)
    next_after = fields.Integer(
        required=True, metadata={"description": "Pass it as `after` for the next page."}
    )
    events = fields.List(fields.Nested(EnvelopeSchema), required=True)


class TermReport(Schema):
    """A term's figures (frozen when the term was closed)."""

    class Meta:
        unknown = INCLUDE  # every figure of the report, as archives computes them

    term = fields.String()
    closed = fields.Boolean()


# ------------------------------------------------------------------ operations


class Sip2Listener(Schema):
    name = fields.String(required=True)
    host = fields.String(required=True)
    port = fields.Integer(required=True)
    encoding = fields.String(required=True)


class ServiceHealth(Schema):
    service = fields.String(required=True)
    head = fields.Integer(
        metadata={"description": "The service's event log's last position (not the SIP2 server's)."}
    )
    relay_leader = fields.Boolean()
    relay_published = fields.Integer(allow_none=True)
    campus = nullable_string(
        metadata={"description": "circulation: the campus its host serves (null: the school)."}
    )
    listeners = fields.List(
        fields.Nested(Sip2Listener),
        metadata={"description": "The SIP2 server's: where the kiosks connect."},
    )
    metrics = nullable_string(
        metadata={"description": "Where the instance that answered serves /metrics (Prometheus)."}
    )


class ProjectionLag(Schema):
    projection = fields.String(required=True)
    source = fields.String(required=True)
    checkpoint = fields.Integer(required=True)
    head = fields.Integer(allow_none=True, required=True)
    lag = fields.Integer(allow_none=True, required=True)
    seconds = fields.Float(
        allow_none=True,
        metadata={
            "description": "How old the oldest event it has not applied is, in seconds (0: "
            "caught up; null: the source cannot be asked)."
        },
    )


class ServiceStatus(Schema):
    service = fields.String(required=True)
    up = fields.Boolean(required=True)
    instances = fields.Integer(
        allow_none=True,
        required=True,
        metadata={
            "description": "Instances consuming its RPC queue (null: the management API "
            "did not answer, or the queue does not exist)."
        },
    )
    health = fields.Nested(ServiceHealth, allow_none=True, required=True)
    projection_lag = fields.List(fields.Nested(ProjectionLag), allow_none=True, required=True)
    error = nullable_string(required=True)


class QueueStatus(Schema):
    name = fields.String(required=True)
    service = nullable_string(
        required=True, metadata={"description": "Who consumes it (null: not the library's)."}
    )
    messages = fields.Integer(required=True, metadata={"description": "ready + unacked"})
    ready = fields.Integer(required=True)
    unacked = fields.Integer(required=True)
    consumers = fields.Integer(required=True)
    publish_rate = fields.Float(
        required=True, metadata={"description": "Messages/s published into it (RabbitMQ's)"}
    )
    deliver_rate = fields.Float(
        required=True, metadata={"description": "Messages/s delivered to its consumers"}
    )


class DeadLetterQueue(Schema):
    queue = fields.String(required=True, metadata={"example": "archives.from.catalog.dlq"})
    service = nullable_string(required=True)
    messages = fields.Integer(required=True)


class StatusReply(Schema):
    status = fields.String(
        required=True, metadata={"description": "ok, or degraded (a service is down)"}
    )
    services = fields.List(fields.Nested(ServiceStatus), required=True)
    queues = fields.List(
        fields.Nested(QueueStatus),
        allow_none=True,
        required=True,
        metadata={
            "description": "RabbitMQ's queues but the dead-letter ones (null: see problems)."
        },
    )
    dead_letters = fields.List(
        fields.Nested(DeadLetterQueue),
        allow_none=True,
        required=True,
        metadata={"description": "Each dead-letter queue and its letters (null: see problems)."},
    )
    problems = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "Why queues, dead letters or instances are not known."},
    )


class SchoolTerm(Schema):
    term = fields.String(required=True, metadata={"example": "2026-autumn"})
    name = fields.String(required=True, metadata={"description": "As the calendar names it."})
    from_ = day(required=True, data_key="from", metadata={"description": "Its first day."})
    to = day(required=True, metadata={"description": "Its last day."})
    current = fields.Boolean(required=True, metadata={"description": "Today is in it."})
    closed = fields.Boolean(required=True, metadata={"description": "Its report is frozen."})
    closed_on = day(allow_none=True, required=True)


class TermsReply(Schema):
    today = day(required=True, metadata={"description": "Today at the school."})
    terms = fields.List(fields.Nested(SchoolTerm), required=True)


class HeldFor(Schema):
    """The reader a copy brought back is now held for (she reserved its title)."""

    patron_id = fields.String(required=True)
    name = fields.String(required=True)


class ReturnReceipt(events.Returned):
    """The ``Returned`` event's payload, with what the desk tells of it."""

    title = nullable_string(required=True)
    name = fields.String(required=True, metadata={"description": "The borrower's name."})
    held_for = fields.Nested(
        HeldFor,
        required=True,
        allow_none=True,
        metadata={
            "description": "Back on its shelf, the copy is held for this reader, who "
            "reserved its title there; null when it is held for nobody."
        },
    )


class PaymentReceipt(events.CompensationPaid):
    """The ``CompensationPaid`` event's payload, with the title and the day: a receipt."""

    title = nullable_string(required=True)
    paid_on = day(required=True, metadata={"description": "The day at the school."})


class PaymentLine(Schema):
    """A payment towards a lost copy, as its receipt (收据) shows it."""

    receipt_no = fields.String(required=True, metadata={"example": "2026-000001"})
    loan_id = fields.String(required=True)
    patron_id = fields.String(required=True)
    name = fields.String(required=True, metadata={"description": "The reader."})
    class_name = nullable_string(required=True)
    barcode = fields.String(required=True)
    title = nullable_string(required=True)
    isbn = nullable_string(required=True)
    campus = fields.String(required=True)
    replacement_cost = money(required=True)  # the copy's price
    amount = money(required=True)
    balance = money(required=True)  # still owed after this payment
    paid_at = fields.String(required=True, metadata={"description": "ISO 8601, with offset."})
    taken_by = nullable_string(required=True, metadata={"description": "Who took the money."})
    taken_by_username = nullable_string(required=True)


class LossReply(Schema):
    """A loan's loss: its price, paid so far, the balance, settled (paid off or replaced
    by ``replaced_by``), and its payments oldest first (price and sums null when the
    loan was not lost)."""

    loan_id = fields.String(required=True)
    patron_id = fields.String(required=True)
    barcode = fields.String(required=True)
    title = nullable_string(required=True)
    isbn = nullable_string(required=True)
    campus = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "open, returned or lost."})
    replacement_cost = money(required=True, allow_none=True)
    paid = money(required=True, allow_none=True)
    balance = money(required=True, allow_none=True)
    settled = fields.Boolean(required=True)
    replaced_by = nullable_string(required=True)
    payments = fields.List(fields.Nested(PaymentLine), required=True)


# The receipts of commands: the payload of the event each one recorded (a return's
# and a payment's with what the desk tells of them).
LENT = events.Lent
RETURNED = ReturnReceipt
RENEWED = events.Renewed
DECLARED_LOST = events.DeclaredLost
COMPENSATION_PAID = PaymentReceipt
LOST_COPY_REPLACED = events.LostCopyReplaced
CARD_ISSUED = events.CardIssued
RESERVED = events.Reserved
RESERVATION_CANCELLED = events.ReservationCancelled


# ------------------------------------------------------------------ people


class AccountReply(Schema):
    """An account as its holder and a librarian see it: never a secret."""

    account_id = fields.String(required=True)
    username = fields.String(required=True)
    name = fields.String(required=True)
    roles = fields.List(fields.String(), required=True)
    campus = nullable_string(required=True)
    patron_id = nullable_string(required=True)
    classes = fields.List(fields.String(), required=True)
    disabled = fields.Boolean(required=True)
    email = nullable_string(
        required=False, metadata={"description": "Where the library's notices go."}
    )


class SessionAccount(Schema):
    username = fields.String(required=True)
    name = fields.String(required=True)
    roles = fields.List(fields.String(), required=True)
    campus = nullable_string(required=True)
    patron_id = nullable_string()
    classes = fields.List(fields.String())


class SessionReply(Schema):
    token = fields.String(required=True, metadata={"description": "Send as 'Bearer <token>'."})
    expires_at = fields.DateTime(required=True)
    account = fields.Nested(SessionAccount, required=True)


class MeReply(SessionAccount):
    rights = fields.List(fields.String(), required=True)
    expires_at = fields.DateTime()


class AccountList(Schema):
    accounts = fields.List(fields.Nested(AccountReply), required=True)


class KeyReply(Schema):
    key_id = fields.String(required=True)
    name = fields.String(required=True)
    rights = fields.List(fields.String(), required=True)
    created_at = fields.DateTime(required=True)
    revoked_at = fields.DateTime(required=True, allow_none=True)


class KeyList(Schema):
    keys = fields.List(fields.Nested(KeyReply), required=True)


class TargetProgressReply(Schema):
    class Meta:
        unknown = INCLUDE

    term = fields.String(required=True)
    patron_id = fields.String(required=True)
    kind = fields.String(required=True)
    target = fields.Integer(required=True)
    count = fields.Integer(
        required=True, metadata={"description": "Books read (a student) or loans (a teacher)."}
    )
    on_target = fields.Boolean(required=True)


class AuditEvent(Schema):
    class Meta:
        unknown = INCLUDE

    source = fields.String(required=True)
    type = fields.String(required=True)
    recorded_at = fields.DateTime(required=True)
    actor = fields.Dict(required=True, allow_none=True)
    data = fields.Dict(required=True)


class AuditReply(Schema):
    class Meta:
        unknown = INCLUDE

    events = fields.List(fields.Nested(AuditEvent), required=True)


class DeskItem(Schema):
    """One thing a desk did: a lend, a return, a renewal or a payment's receipt."""

    at = fields.DateTime(required=True, metadata={"description": "When it was recorded."})
    kind = fields.String(required=True, metadata={"description": "lend, return, renew or payment."})
    type = fields.String(required=True, metadata={"example": "Lent"})
    campus = nullable_string(required=True)
    loan_id = nullable_string(required=True)
    barcode = nullable_string(required=True)
    title = nullable_string(required=True)
    isbn = nullable_string(required=True)
    patron_id = nullable_string(required=True)
    name = nullable_string(required=True, metadata={"description": "The reader's name."})
    class_name = nullable_string(required=True)
    due_on = day(required=True, allow_none=True)
    condition = nullable_string(required=True, metadata={"description": "A return's: ok, damaged."})
    amount = money(required=True, allow_none=True)
    actor = fields.Dict(
        required=True,
        allow_none=True,
        metadata={"description": "Who did it: {id, username, role}."},
    )


class DeskTodayReply(Schema):
    on = day(required=True)
    campus = nullable_string(required=True)
    items = fields.List(fields.Nested(DeskItem), required=True)


class StepBy(Schema):
    """Who did a step: the actor's username and role, and the account's name when known."""

    username = fields.String(required=True)
    role = fields.String(required=True)
    name = nullable_string(required=True)


class StepPatron(Schema):
    """The reader a step names (whom a copy was lent to, who returned it...)."""

    patron_id = fields.String(required=True)
    name = nullable_string(required=True)
    class_name = nullable_string(required=True)


class HistoryStep(AuditEvent):
    """One step of a copy's timeline: an archived event about it, as it happened."""

    step = fields.String(
        required=True,
        metadata={
            "description": "catalogued, lent, renewed, returned, damaged, repaired, "
            "transferred, in_transit, received, weeded, declared_lost, reference_changed; "
            "another event about the copy: its type in snake case.",
            "example": "lent",
        },
    )
    on = day(required=True, metadata={"description": "The day it happened, at the school."})
    occurred_at = fields.DateTime(required=True)
    campus = nullable_string(required=True)
    by = fields.Nested(
        StepBy, required=True, allow_none=True, metadata={"description": "null: nobody known."}
    )
    patron = fields.Nested(StepPatron, required=True, allow_none=True)


class CopyHistoryReply(Schema):
    class Meta:
        unknown = INCLUDE

    barcode = fields.String()
    events = fields.List(fields.Nested(HistoryStep), required=True)


# ------------------------------------------------------------------ the school calendar


class ClosedDaysReply(Schema):
    """A holiday the library is shut on: one day or a range, both days included."""

    starts = day(required=True)
    ends = day(required=True)
    name = fields.String(required=True, metadata={"example": "国庆节"})
    source = fields.String(
        required=True, metadata={"description": "config (the default) or librarian (the API)"}
    )
    kind = fields.String(
        required=True,
        metadata={"description": "closed (a holiday) or open (make-up school days, 调休)"},
    )


class ClosedDaysRemovedReply(Schema):
    starts = day(required=True)


class RotaSlotReply(Schema):
    """A class's weekly borrowing slot (借阅轮流表)."""

    class_name = fields.String(required=True, metadata={"example": "G7-3"})
    campus = fields.String(required=True)
    weekday = fields.Integer(required=True, metadata={"description": "1 Monday .. 7 Sunday"})
    period = fields.String(required=True, metadata={"example": "3"})
    source = fields.String(required=True)


class RotaSlotClearedReply(Schema):
    class_name = fields.String(required=True)


class CalendarTerm(Schema):
    name = fields.String(required=True)
    starts = day(required=True)
    ends = day(required=True)


class CalendarReply(Schema):
    """Terms, closed days and the rota between two days, with the policies."""

    from_ = day(required=True, data_key="from")
    to = day(required=True)
    today = day(required=True)
    weekends_closed = fields.Boolean(required=True)
    overdue_counts_closed_days = fields.Boolean(required=True)
    terms = fields.List(fields.Nested(CalendarTerm), required=True)
    closed = fields.List(fields.Nested(ClosedDaysReply), required=True)
    rota = fields.List(fields.Nested(RotaSlotReply), required=True)


class RotaReply(Schema):
    """A campus's rota, and the classes on it on a day (none when the library is shut)."""

    campus = fields.String(required=True, allow_none=True)
    on = day(required=True)
    weekday = fields.Integer(required=True)
    closed = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "Why the library is shut that day: a holiday, or weekend."},
    )
    today = fields.List(fields.Nested(RotaSlotReply), required=True)
    slots = fields.List(fields.Nested(RotaSlotReply), required=True)


class LabelLayout(Schema):
    """An A4 label sheet a run of labels can be printed on (sizes in millimetres)."""

    name = fields.String(required=True, metadata={"example": "a4-3x8"})
    columns = fields.Integer(required=True)
    rows = fields.Integer(required=True)
    per_sheet = fields.Integer(required=True)
    label_width_mm = fields.Float(required=True)
    label_height_mm = fields.Float(required=True)
    left_mm = fields.Float(required=True)
    top_mm = fields.Float(required=True)
    gap_x_mm = fields.Float(required=True)
    gap_y_mm = fields.Float(required=True)


class LabelLayoutsReply(Schema):
    """The label sheets, the default first; the most barcodes a run may span."""

    layouts = fields.List(fields.Nested(LabelLayout), required=True)
    default = fields.String(required=True)
    kinds = fields.List(fields.String(), required=True)
    max_labels = fields.Integer(required=True)


# ---------------------------------------------------------------- notices


class NoticeReply(Schema):
    """One e-mail the library sent or tried to (a ``NoticeSent`` event)."""

    notice_id = fields.String(required=True)
    kind = fields.String(required=True, metadata={"description": "overdue or hold_ready"})
    account_id = fields.String(required=True)
    name = fields.String(required=True)
    email = fields.String(required=True)
    language = fields.String(required=True)
    subject = fields.String(required=True)
    class_name = nullable_string(required=False)
    loan_ids = fields.List(fields.String(), required=False)
    reservation_id = nullable_string(required=False)
    outcome = fields.String(required=True, metadata={"description": "delivered or failed"})
    error = nullable_string(required=False, metadata={"description": "the mail server's words"})
    sent_at = fields.String(required=True)
    position = fields.Integer(required=False)
    loans = fields.Integer(required=False, metadata={"description": "overdue loans listed"})


class NoticesReply(Schema):
    notices = fields.List(fields.Nested(NoticeReply), required=True)


class TeacherWithoutAddress(Schema):
    class_name = fields.String(required=True)
    account_id = fields.String(required=True)
    name = fields.String(required=True)


class ClassWithoutTeacher(Schema):
    class_name = fields.String(required=True)
    loans = fields.Integer(required=True)


class OverdueNoticesReply(Schema):
    """Who was told (each e-mail, delivered or failed), who could not be (no address),
    and the classes with overdue loans but no class teacher's account."""

    on = fields.String(required=True)
    told = fields.List(fields.Nested(NoticeReply), required=True)
    no_address = fields.List(fields.Nested(TeacherWithoutAddress), required=True)
    no_teacher = fields.List(fields.Nested(ClassWithoutTeacher), required=True)


class ReleasedHold(Schema):
    reservation_id = fields.String(required=True)
    patron_id = fields.String(required=True)
    barcode = fields.String(required=True)
    passed_to = nullable_string(required=True, metadata={"description": "null: back to the shelf"})


class ExpireHoldsReply(Schema):
    on = fields.String(required=True)
    released = fields.List(fields.Nested(ReleasedHold), required=True)
    told = fields.List(fields.Nested(NoticeReply), required=True)
