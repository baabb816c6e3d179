"""Events published by the circulation service: cards, loans and reservations."""

from marshmallow import Schema, fields, validate

from shared.events import fields as f
from shared.events.registry import CATALOGUE

SOURCE = "circulation"


class CardIssued(Schema):
    """A library card was issued to a student, a teacher or a class book corner."""

    patron_id = f.personal(f.identifier())
    name = f.personal(f.text(100))
    kind = f.choice(f.PATRON_KINDS)
    class_name = f.personal(f.class_name(required=False, allow_none=True))
    campus = f.campus()


class CardBlocked(Schema):
    """A card may not borrow until unblocked."""

    patron_id = f.personal(f.identifier())
    reason = f.text(300)


class CardUnblocked(Schema):
    """A blocked card may borrow again."""

    patron_id = f.personal(f.identifier())


class CardRetired(Schema):
    """A card was retired (leaver, graduate); it can never borrow again."""

    patron_id = f.personal(f.identifier())
    reason = f.text(300)


class CardClassChanged(Schema):
    """At the year's turn (``school_year``, e.g. 2027 for 2027-28) a card's class moved up a
    grade (G7-3 -> G8-3), one event per card. ``to_class`` is null only for a teacher's card
    whose class graduated (the class has left; she gets a new one by hand)."""

    patron_id = f.personal(f.identifier())
    kind = f.choice(f.PATRON_KINDS)
    from_class = f.personal(f.class_name(required=True))
    to_class = f.personal(f.class_name(required=True, allow_none=True))
    school_year = fields.Integer(required=True, validate=validate.Range(min=2000, max=2100))
    starts = fields.Date(required=True, metadata={"description": "The new class counts from it."})


class CardGraduated(Schema):
    """At the year's turn a student (or a class book corner) in a graduating grade (G9, G12
    by default) graduated: the card keeps its class and stays active until cleared, then is
    retired (``CardRetired``) by the retirement of the graduates."""

    patron_id = f.personal(f.identifier())
    kind = f.choice(f.PATRON_KINDS)
    class_name = f.personal(f.class_name(required=True))
    school_year = fields.Integer(required=True, validate=validate.Range(min=2000, max=2100))
    starts = fields.Date(
        required=True, metadata={"description": "The new school year's first day."}
    )


class SchoolYearTurned(Schema):
    """A school year was turned (once per year): every class moved up a grade (``moved``,
    old class -> new), the graduating classes (``graduating``) stayed for clearance. The
    cards' own events (``CardClassChanged``, ``CardGraduated``) come in the same
    transaction; a class teacher's account follows her class."""

    school_year = fields.Integer(required=True, validate=validate.Range(min=2000, max=2100))
    starts = fields.Date(
        required=True, metadata={"description": "The new school year's first day."}
    )
    graduating_grades = fields.List(
        fields.Integer(validate=validate.Range(min=1, max=12)), required=True
    )
    moved = fields.Dict(keys=f.class_name(), values=f.class_name(), required=True)
    graduating = fields.List(f.class_name(), required=True)
    cards_moved = fields.Integer(required=True, validate=validate.Range(min=0))
    cards_graduated = fields.Integer(required=True, validate=validate.Range(min=0))


class LendOverride(Schema):
    """A librarian lent although the rules refused (an offline desk's conflict, the book
    already gone with the reader): who and why; the envelope's actor is her account too."""

    code = f.text(64, metadata={"description": "The refusal she was shown and set aside."})
    set_aside = fields.List(
        f.text(64),
        required=True,
        metadata={"description": "Every refusal this lend set aside (empty: none any more)."},
    )
    note = fields.String(
        load_default="", validate=validate.Length(max=300), metadata={"description": "Why."}
    )
    conflict_id = f.identifier(
        required=False, metadata={"description": "The offline conflict it resolved."}
    )
    by = f.personal(f.text(64, required=False, metadata={"description": "Her username."}))


class Lent(Schema):
    """A copy was lent to a patron at a campus desk.

    ``override`` (optional, added in schema version 1: older events lack it) is set when
    a librarian lent anyway, setting a refusal aside (docs/offline.md).
    """

    loan_id = f.identifier()
    barcode = f.barcode()
    patron_id = f.personal(f.identifier())
    patron_kind = f.choice(f.PATRON_KINDS)
    class_name = f.personal(f.class_name(required=False, allow_none=True))
    campus = f.campus()
    lent_on = fields.Date(required=True)
    due_on = fields.Date(required=True)
    title = f.text(300, required=False)
    classification = f.classification(required=False)
    isbn = f.isbn(required=False)
    override = fields.Nested(LendOverride, required=False)


class Returned(Schema):
    """A lent copy came back, on time or overdue, intact or damaged.

    ``campus`` is the desk that took it back; ``home_campus`` the campus the copy
    belongs to (when they differ, the catalog records it as in transit home).
    """

    loan_id = f.identifier()
    barcode = f.barcode()
    patron_id = f.personal(f.identifier())
    campus = f.campus()
    home_campus = f.campus(required=False)
    returned_on = fields.Date(required=True)
    # Set when a stock-take (清点) found the copy in the library while on loan: returned
    # for its borrower by circulation's reaction to the catalog's CopyCounted.
    stocktake_id = f.identifier(required=False)
    overdue_days = fields.Integer(required=True, validate=validate.Range(min=0))
    condition = f.choice(f.CONDITIONS)


class Renewed(Schema):
    """A loan was renewed once; it has a new due date."""

    loan_id = f.identifier()
    barcode = f.barcode()
    patron_id = f.personal(f.identifier())
    due_on = fields.Date(required=True)


class Reserved(Schema):
    """A patron (usually a teacher) reserved a title for when a copy is free."""

    reservation_id = f.identifier()
    patron_id = f.personal(f.identifier())
    isbn = f.isbn()
    campus = f.campus()


class ReservationFulfilled(Schema):
    """A reservation was met by a loan."""

    reservation_id = f.identifier()
    patron_id = f.personal(f.identifier())
    loan_id = f.identifier()


class ReservationCancelled(Schema):
    """A reservation was withdrawn."""

    reservation_id = f.identifier()
    patron_id = f.personal(f.identifier())


class HoldReady(Schema):
    """A copy a reader reserved came back and is held for them (预约到书): they are told to
    pick it up by ``pick_up_by`` (the N-th open day after ``ready_on``)."""

    reservation_id = f.identifier()
    patron_id = f.personal(f.identifier())
    barcode = f.barcode()
    campus = f.campus()
    isbn = f.isbn()
    title = f.text(300)
    ready_on = fields.Date(required=True)
    pick_up_by = fields.Date(required=True)


class HoldExpired(Schema):
    """A held copy was not picked up by its day: the reservation ends, the copy passes to
    the next reader waiting (their own ``HoldReady``) or goes back to the shelf."""

    reservation_id = f.identifier()
    patron_id = f.personal(f.identifier())
    barcode = f.barcode()
    campus = f.campus()
    isbn = f.isbn()
    pick_up_by = fields.Date(required=True)
    expired_on = fields.Date(required=True)


class NoticeSent(Schema):
    """The library e-mailed a notice (``kind``: ``overdue`` to a class teacher, its class's
    overdue ``loan_ids``; ``hold_ready`` to a reader, its ``reservation_id``): to whom, in
    which language, and whether the mail server took it (``delivered``) or not (``failed``,
    with its ``error``)."""

    notice_id = f.identifier()
    kind = f.choice(("overdue", "hold_ready"))
    account_id = f.personal(f.identifier())
    name = f.personal(f.text(100))
    email = f.personal(f.text(254))
    language = f.choice(("zh-CN", "en"))
    subject = f.text(300)
    class_name = f.personal(f.class_name(required=False, allow_none=True))
    loan_ids = fields.List(f.identifier(), load_default=list)
    reservation_id = f.identifier(required=False, allow_none=True)
    outcome = f.choice(("delivered", "failed"))
    error = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))
    sent_at = fields.DateTime(required=True)


class DeclaredLost(Schema):
    """A lent copy was declared lost; the patron owes its price."""

    loan_id = f.identifier()
    barcode = f.barcode()
    patron_id = f.personal(f.identifier())
    replacement_cost = f.money()


class CompensationPaid(Schema):
    """A patron paid for a lost copy: all that was owed, or a part (losses are paid at the
    copy's price in one payment or several).

    ``balance`` is what is still owed after this payment (0.00: the loss is settled),
    ``receipt_no`` the number of the receipt (收据) given, ``taken_by`` the name of the
    person who took the money (the envelope's actor is their account). Payments
    recorded before partial payments have none of the three: they paid it all.
    """

    loan_id = f.identifier()
    patron_id = f.personal(f.identifier())
    amount = f.money()
    balance = f.money(required=False)
    receipt_no = f.identifier(required=False)
    taken_by = f.personal(f.text(100, required=False))


class LostCopyReplaced(Schema):
    """A lost copy was replaced with a new copy of its title brought by the reader: the loss
    is settled, nothing is owed (``replacement_cost`` is what was owed and is no more).

    The catalog catalogues ``new_barcode`` in the lost copy's place (same title, same
    campus); the lost copy ``barcode`` was written off as lost when it was declared lost.
    """

    loan_id = f.identifier()
    patron_id = f.personal(f.identifier())
    barcode = f.barcode()
    new_barcode = f.barcode()
    isbn = f.isbn()
    title = f.text(300)
    campus = f.campus()
    replacement_cost = f.money()


OFFLINE_ACTIONS = ("lend", "return")


class OfflineScanRefused(Schema):
    """A scan an offline desk queued (``command_id``, made at the desk; ``at``: when it was
    scanned) could not be done when it was sent: refused for ``code`` (the desk's refusal
    code: copy_on_loan, loan_limit, card_blocked, not_on_loan...). It waits for a
    librarian as the conflict ``conflict_id`` (derived from the command id, so a scan sent
    again is the same conflict). docs/offline.md."""

    conflict_id = f.identifier()
    command_id = fields.UUID(required=True)
    action = f.choice(OFFLINE_ACTIONS)
    patron_id = f.personal(f.identifier(required=False, allow_none=True))
    barcode = f.barcode()
    at = fields.AwareDateTime(required=True, metadata={"description": "When it was scanned."})
    campus = f.campus()
    code = f.text(64)
    reason = f.text(500, metadata={"description": "The refusal in English, for the record."})


class OfflineConflictResolved(Schema):
    """A librarian resolved an offline conflict: ``override`` (lent anyway: the ``Lent``
    with its ``override``, ``loan_id``), ``return_and_relend`` (the copy taken back from
    the loan the records had, then lent: ``loan_id``) or ``dismiss`` (nothing recorded:
    the book came back, or the scan was wrong). The envelope's actor is who."""

    conflict_id = f.identifier()
    resolution = f.choice(("override", "return_and_relend", "dismiss"))
    campus = f.campus()
    barcode = f.barcode()
    patron_id = f.personal(f.identifier(required=False, allow_none=True))
    loan_id = f.identifier(required=False, allow_none=True)
    note = fields.String(load_default="", validate=validate.Length(max=300))


class ClosedDaysSet(Schema):
    """A librarian shut the library on a named day or range (a holiday), both days
    included, or (``kind`` open) opened it on make-up school days (调休) although they
    are a weekend or in a holiday; it replaces any entry with the same first day (the
    config's too). Without ``kind``: closed."""

    starts = fields.Date(required=True)
    ends = fields.Date(required=True)
    name = f.text(60)
    kind = f.choice(("closed", "open"), required=False)


class ClosedDaysRemoved(Schema):
    """The closed days starting on ``starts`` were removed: the library opens on them."""

    starts = fields.Date(required=True)


class RotaSlotSet(Schema):
    """A class's weekly borrowing slot (借阅轮流表): ISO weekday (1 Monday .. 7 Sunday)
    and period (a lesson number or a time span) at a campus's library; it replaces
    the class's slot, if it had one."""

    class_name = f.class_name(required=True)
    campus = f.campus()
    weekday = fields.Integer(required=True, validate=validate.Range(min=1, max=7))
    period = f.text(20)


class RotaSlotCleared(Schema):
    """A class was taken off the borrowing rota."""

    class_name = f.class_name(required=True)


for _schema in (
    CardIssued,
    CardBlocked,
    CardUnblocked,
    CardRetired,
    CardClassChanged,
    CardGraduated,
    SchoolYearTurned,
    Lent,
    Returned,
    Renewed,
    Reserved,
    ReservationFulfilled,
    ReservationCancelled,
    HoldReady,
    HoldExpired,
    NoticeSent,
    DeclaredLost,
    CompensationPaid,
    LostCopyReplaced,
    ClosedDaysSet,
    ClosedDaysRemoved,
    RotaSlotSet,
    RotaSlotCleared,
    OfflineScanRefused,
    OfflineConflictResolved,
):
    CATALOGUE.register(SOURCE, _schema.__name__, _schema)
