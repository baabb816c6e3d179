"""Library cards and what their holders borrow, as a pure Decider (no I/O).

One stream per card, ``card-<patron_id>``: the card's life (issued, blocked,
retired) and its holder's loans, reservations and debts. Keeping the loans on
the patron's stream makes the borrowing limit safe under concurrency: two desks
lending to the same student race on one stream version, and the loser decides
again on the new state. A copy is never lent twice because the service locks
its row in the copy model before deciding.

Everything a rule needs that does not come from the card's own history (the
copy at the desk, the policy, today's date) comes in with the command.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, NoReturn, TypeVar

from shared.events.fields import CAMPUSES
from shared.eventsourcing.decider import Aggregate, Event, Refused
from shared.runtime.school_calendar import SchoolCalendar
from shared.runtime.school_year import next_class

T = TypeVar("T")

PATRON_KINDS = ("student", "teacher", "class_corner")
MAX_OPEN_RESERVATIONS = 5
TITLE_COUNTS = ("copies", "available", "on_loan", "in_transit")  # per campus, per title


def stream_id(patron_id: str) -> str:
    return f"card-{patron_id}"


def money(amount: Decimal) -> str:
    return f"{amount:.2f}"


# ---------------------------------------------------------------- state


@dataclass(frozen=True)
class Loan:
    loan_id: str
    barcode: str
    lent_on: date
    due_on: date
    isbn: str | None = None
    title: str | None = None
    renewed: bool = False

    def days_overdue(self, today: date) -> int:
        return max(0, (today - self.due_on).days)


@dataclass(frozen=True)
class Patron:
    patron_id: str | None = None
    name: str = ""
    kind: str = "student"
    class_name: str | None = None
    campus: str | None = None
    status: str = "none"  # none -> active <-> blocked; active/blocked -> retired
    block_reason: str | None = None
    loans: dict[str, Loan] = field(default_factory=dict)
    owed: dict[str, Decimal] = field(default_factory=dict)  # loan_id -> what is still owed
    paid: dict[str, Decimal] = field(default_factory=dict)  # loan_id -> paid so far (losses)
    reservations: dict[str, str] = field(default_factory=dict)  # reservation_id -> isbn
    school_year: int | None = None  # the last year's turn that moved (or graduated) the card
    graduated: int | None = None  # the school year the holder graduated in (left for clearance)

    @property
    def exists(self) -> bool:
        return self.status != "none"

    def overdue_loans(self, today: date) -> list[Loan]:
        return sorted(
            (loan for loan in self.loans.values() if loan.due_on < today),
            key=lambda loan: loan.due_on,
        )

    def total_owed(self) -> Decimal:
        return sum(self.owed.values(), Decimal("0"))

    def loan_of(self, barcode: str) -> Loan | None:
        return next((loan for loan in self.loans.values() if loan.barcode == barcode), None)


INITIAL = Patron()


@dataclass(frozen=True)
class Policy:
    """How much and how long a kind of card may borrow."""

    max_loans: int
    loan_days: int
    until_term_end: bool = False

    def due_on(self, lent_on: date, term_end: date | None) -> date:
        if self.until_term_end and term_end is not None and term_end >= lent_on:
            return term_end
        return lent_on + timedelta(days=self.loan_days)


@dataclass(frozen=True)
class CopyAtDesk:
    """What circulation knows of a copy when a patron brings it to the desk."""

    barcode: str
    isbn: str
    title: str
    classification: str
    campus: str
    status: str  # catalog's: on_shelf, damaged, weeded
    reference_only: bool
    on_loan: bool
    price: Decimal
    transit_from: str | None = None  # returned at this other campus, on its way home
    others_waiting: int = 0  # other readers' open reservations of its title at its campus
    shelf_copies: int = 0  # lendable copies of its title on that campus's shelf (when waited for)
    held_for: str | None = None  # the reader this very copy is held for (HoldReady), if any

    @property
    def held_for_others(self) -> bool:
        """The last shelf copies of a title are held for the readers who reserved it:
        a copy is held when others wait for at least as many copies as are on the shelf."""
        return self.others_waiting > 0 and self.others_waiting >= self.shelf_copies

    @property
    def desk_status(self) -> str:
        """Where the copy is, for the desk: weeded, damaged, on_loan, in_transit or on_shelf."""
        if self.status in ("weeded", "damaged"):
            return self.status
        if self.on_loan:
            return "on_loan"
        if self.transit_from is not None:
            return "in_transit"
        return self.status


# ---------------------------------------------------------------- commands


@dataclass(frozen=True)
class IssueCard:
    patron_id: str
    name: str
    kind: str
    class_name: str | None
    campus: str


@dataclass(frozen=True)
class BlockCard:
    reason: str


@dataclass(frozen=True)
class UnblockCard:
    pass


@dataclass(frozen=True)
class RetireCard:
    reason: str


@dataclass(frozen=True)
class TurnYear:
    """The year's turn (``school_year``, e.g. 2027) as it reaches one card: its class moves
    up a grade, or, in a graduating grade, the holder graduates (``shared.runtime.school_year``)."""

    school_year: int
    graduating_grades: tuple[int, ...]
    starts: date  # the first day of the new school year: the new classes count from it


# The refusals a librarian may set aside to lend anyway (an offline desk's conflict: the
# book already left with the reader). Never: a retired or unknown card, an unknown,
# written-off or reference-only copy, a copy on loan to someone else (take it back first),
# in transit or of the other campus (where it is must be put right first), nor a copy put
# aside for a reader by name.
OVERRIDABLE = frozenset(
    {"loan_limit", "overdue", "unpaid_loss", "card_blocked", "copy_damaged", "held_for_reservation"}
)


@dataclass(frozen=True)
class Override:
    """A librarian's decision to lend although the rules refuse (``code``: the refusal she
    was shown), with her ``note``; the loan records it with what it set aside."""

    code: str
    note: str = ""
    conflict_id: str | None = None
    by: str | None = None  # the librarian's username (the envelope's actor too)

    def recorded(self, set_aside: Sequence[str]) -> dict[str, Any]:
        """The Lent event's ``override``: the refusals set aside, why, and by whom."""
        data: dict[str, Any] = {"code": self.code, "set_aside": list(set_aside), "note": self.note}
        if self.conflict_id is not None:
            data["conflict_id"] = self.conflict_id
        if self.by is not None:
            data["by"] = self.by
        return data


@dataclass(frozen=True)
class Lend:
    loan_id: str
    copy: CopyAtDesk
    desk_campus: str
    today: date
    policy: Policy
    term_end: date | None = None
    calendar: SchoolCalendar | None = None  # a due date on a closed day moves off it
    override: Override | None = None  # a librarian lends anyway (``OVERRIDABLE`` set aside)


@dataclass(frozen=True)
class ReturnCopy:
    barcode: str
    desk_campus: str
    today: date
    condition: str = "ok"
    home_campus: str | None = None  # the campus the copy belongs to, as circulation knows it
    stocktake_id: str | None = None  # found in this stock-take (清点) while on loan
    calendar: SchoolCalendar | None = None  # whether closed days count as days overdue


@dataclass(frozen=True)
class Renew:
    loan_id: str
    today: date
    policy: Policy
    reserved_by_others: bool = False
    calendar: SchoolCalendar | None = None


@dataclass(frozen=True)
class Reserve:
    reservation_id: str
    isbn: str
    campus: str


@dataclass(frozen=True)
class CancelReservation:
    reservation_id: str


@dataclass(frozen=True)
class DeclareLost:
    loan_id: str
    replacement_cost: Decimal


@dataclass(frozen=True)
class PayCompensation:
    """A payment towards a lost copy: the whole of what is owed or a part of it."""

    loan_id: str
    amount: Decimal
    receipt_no: str | None = None  # the receipt (收据) the payment is given
    taken_by: str | None = None  # the name of the person who took the money


@dataclass(frozen=True)
class ReplaceLost:
    """The reader brought a new copy of the lost copy's title (``lost``) instead of paying:
    it is catalogued as ``new_barcode`` in its place (``new_barcode_known``: the barcode
    is some copy's already)."""

    loan_id: str
    lost: CopyAtDesk
    new_barcode: str
    new_barcode_known: bool = False


Command = (
    IssueCard
    | BlockCard
    | UnblockCard
    | RetireCard
    | TurnYear
    | Lend
    | ReturnCopy
    | Renew
    | Reserve
    | CancelReservation
    | DeclareLost
    | PayCompensation
    | ReplaceLost
)


# ---------------------------------------------------------------- decide


def decide(patron: Patron, command: Command) -> list[Event]:
    """The events a command leads to, or ``Refused`` with the reason."""
    match command:
        case IssueCard():
            return _issue(patron, command)
        case BlockCard(reason=reason):
            _require_card(patron)
            _refuse_if_retired(patron, "blocked")
            if patron.status == "blocked":
                raise Refused(f"card {patron.patron_id} is already blocked", "already_blocked")
            return [Event("CardBlocked", {"patron_id": patron.patron_id, "reason": reason})]
        case UnblockCard():
            _require_card(patron)
            _refuse_if_retired(patron, "unblocked")
            if patron.status != "blocked":
                raise Refused(f"card {patron.patron_id} is not blocked", "not_blocked")
            return [Event("CardUnblocked", {"patron_id": patron.patron_id})]
        case RetireCard(reason=reason):
            return _retire(patron, reason)
        case TurnYear():
            return _turn_year(patron, command)
        case Lend():
            return _lend(patron, command)
        case ReturnCopy():
            return _return(patron, command)
        case Renew():
            return _renew(patron, command)
        case Reserve():
            return _reserve(patron, command)
        case CancelReservation(reservation_id=reservation_id):
            _require_card(patron)
            if reservation_id not in patron.reservations:
                raise Refused(
                    f"{patron.patron_id} has no open reservation {reservation_id}",
                    "no_such_reservation",
                )
            return [
                Event(
                    "ReservationCancelled",
                    {"reservation_id": reservation_id, "patron_id": patron.patron_id},
                )
            ]
        case DeclareLost():
            return _declare_lost(patron, command)
        case PayCompensation():
            return _pay(patron, command)
        case ReplaceLost():
            return _replace_lost(patron, command)
    _unknown(command)


def _unknown(command: Any) -> NoReturn:
    raise TypeError(f"circulation cannot decide {type(command).__name__}")


def _require_card(patron: Patron) -> None:
    if not patron.exists:
        raise Refused("no such library card", "no_card")


def _refuse_if_retired(patron: Patron, verb: str) -> None:
    if patron.status == "retired":
        raise Refused(f"card {patron.patron_id} is retired and cannot be {verb}", "card_retired")


def _issue(patron: Patron, command: IssueCard) -> list[Event]:
    if patron.exists:
        raise Refused(f"{command.patron_id} already has a library card", "card_exists")
    if command.kind == "class_corner" and not command.class_name:
        raise Refused("a class book corner card needs its class (e.g. G7-3)", "class_required")
    if command.kind == "student" and not command.class_name:
        raise Refused("a student card needs the student's class (e.g. G7-3)", "class_required")
    return [
        Event(
            "CardIssued",
            {
                "patron_id": command.patron_id,
                "name": command.name,
                "kind": command.kind,
                "class_name": command.class_name,
                "campus": command.campus,
            },
        )
    ]


def _retire(patron: Patron, reason: str) -> list[Event]:
    _require_card(patron)
    if patron.status == "retired":
        raise Refused(f"card {patron.patron_id} is already retired", "card_retired")
    if patron.loans or patron.owed:
        raise Refused(
            f"{patron.name} must first return {len(patron.loans)} book(s)"
            + (f" and pay ¥{money(patron.total_owed())}" if patron.owed else "")
            + " before the card is retired",
            "not_cleared",
        )
    return [Event("CardRetired", {"patron_id": patron.patron_id, "reason": reason})]


def _turn_year(patron: Patron, command: TurnYear) -> list[Event]:
    """A card's class moves up a grade; in a graduating grade its holder graduates (a
    student's or a class corner's card, kept for clearance) or, a teacher's, has no class.

    Nothing for a retired card, a card with no class, a graduate, or a card this year's
    turn (or a later one) already reached: turning the same year twice moves nothing.
    """
    if patron.status in ("none", "retired") or patron.class_name is None:
        return []
    if patron.graduated is not None:
        return []
    if patron.school_year is not None and patron.school_year >= command.school_year:
        return []
    following = next_class(patron.class_name, command.graduating_grades)
    if following is None and patron.kind != "teacher":
        return [
            Event(
                "CardGraduated",
                {
                    "patron_id": patron.patron_id,
                    "kind": patron.kind,
                    "class_name": patron.class_name,
                    "school_year": command.school_year,
                    "starts": command.starts.isoformat(),
                },
            )
        ]
    return [
        Event(
            "CardClassChanged",
            {
                "patron_id": patron.patron_id,
                "kind": patron.kind,
                "from_class": patron.class_name,
                "to_class": following,
                "school_year": command.school_year,
                "starts": command.starts.isoformat(),
            },
        )
    ]


def _refuse_to_borrow(patron: Patron, today: date) -> None:
    """The reasons a card may not take out anything at all today (the first of them)."""
    for refusal in _borrow_refusals(patron, today):
        raise refusal


def _borrow_refusals(patron: Patron, today: date) -> Iterator[Refused]:
    """Each reason a card may not borrow today, in the order the desk names them."""
    _require_card(patron)
    if patron.status == "retired":
        yield Refused(f"card {patron.patron_id} is retired and cannot borrow", "card_retired")
    if patron.status == "blocked":
        yield Refused(
            f"card {patron.patron_id} is blocked ({patron.block_reason}) and cannot borrow",
            "card_blocked",
        )
    overdue = patron.overdue_loans(today)
    if overdue:
        oldest = overdue[0]
        yield Refused(
            f"{patron.name} has {len(overdue)} overdue book(s) (oldest: {oldest.barcode}, "
            f"due {oldest.due_on.isoformat()}) and cannot borrow until they are returned",
            "overdue",
        )
    if patron.owed:
        yield Refused(
            f"{patron.name} owes ¥{money(patron.total_owed())} for lost book(s) and cannot "
            "borrow until it is paid",
            "unpaid_loss",
        )


def lendable(copy: CopyAtDesk, desk_campus: str | None = None) -> bool:
    """Whether the copy can leave the desk of ``desk_campus`` (its own campus's when None)
    for someone; the one rule behind both the lend and the availability answer."""
    return copy_refusal(copy, desk_campus or copy.campus) is None


def copy_refusal(copy: CopyAtDesk, desk_campus: str) -> Refused | None:
    """Why this copy cannot leave the desk, whoever asks; None when it can."""
    try:
        _refuse_copy(copy, desk_campus)
    except Refused as refusal:
        return refusal
    return None


def availability(copy: CopyAtDesk, loan: Mapping[str, Any]) -> dict[str, Any]:
    """What the desk is told of a copy: where it is (``desk_status``), its loan, and
    whether it can be lent at its own campus now (``lendable``: a reference book never)."""
    return {
        "barcode": copy.barcode,
        "isbn": copy.isbn,
        "title": copy.title,
        "classification": copy.classification,
        "campus": copy.campus,
        "price": money(copy.price),
        "reference_only": copy.reference_only,
        "status": copy.desk_status,
        **loan,
        "transit": None
        if copy.transit_from is None
        else {"from_campus": copy.transit_from, "to_campus": copy.campus},
        "available": lendable(copy),
    }


def title_availability(copies: Iterable[CopyAtDesk]) -> dict[str, dict[str, int]]:
    """A title's copies at north and south, as a search line shows them: ``copies`` held
    (not written off), ``available`` (``lendable`` at their campus now), ``on_loan`` and
    ``in_transit`` (on their way to the campus they belong to, counted there)."""
    counts = {what: dict.fromkeys(CAMPUSES, 0) for what in TITLE_COUNTS}
    for copy in copies:
        if copy.status == "weeded":
            continue
        counts["copies"][copy.campus] += 1
        counts["available"][copy.campus] += lendable(copy)
        counts["on_loan"][copy.campus] += copy.on_loan
        counts["in_transit"][copy.campus] += copy.transit_from is not None
    return counts


def borrower_returning(barcode: str, borrower: str | None) -> str:
    """Who a copy brought back to the desk is returned for: its borrower. A copy that is
    on no loan cannot be returned."""
    if borrower is None:
        raise Refused(f"{barcode} is not on loan", "not_on_loan")
    return borrower


def held_on_return(copy: CopyAtDesk, back: ReturnCopy, waiting: Sequence[T]) -> T | None:
    """Who a copy brought back to the desk is now held for, of the readers ``waiting``
    for its title at its campus (oldest reservation first); None when nobody.

    ``copy`` is the copy as it was before it came back, ``shelf_copies`` counting the
    lendable copies of its title already on its campus's shelf. The last shelf copies
    are held for the readers who reserved the title (``CopyAtDesk.held_for_others``):
    those on the shelf for the first of them, so this one, back on its shelf, for the
    next. Brought back damaged, or at the other campus (in transit home), it is not on
    its shelf: held for nobody until it is.
    """
    back_on_shelf = replace(
        copy,
        on_loan=False,
        status="damaged" if back.condition == "damaged" else copy.status,
        transit_from=back.desk_campus if back.desk_campus != copy.campus else copy.transit_from,
    )
    if not lendable(back_on_shelf):
        return None
    served = copy.shelf_copies
    return waiting[served] if served < len(waiting) else None


def loan_to_renew(barcode: str, loan_id: str | None) -> str:
    """The loan a copy scanned to be renewed is on. A copy on no loan cannot be renewed."""
    if loan_id is None:
        raise Refused(f"{barcode} is not on loan, so there is nothing to renew", "not_on_loan")
    return loan_id


def _refuse_copy(copy: CopyAtDesk, desk_campus: str) -> None:
    """The reasons this copy cannot leave the desk, whoever asks (the first of them)."""
    for refusal in _copy_refusals(copy, desk_campus):
        raise refusal


def _copy_refusals(copy: CopyAtDesk, desk_campus: str) -> Iterator[Refused]:
    """Each reason this copy cannot leave the desk, whoever asks, in the desk's order."""
    if copy.reference_only:
        yield Refused(
            f"{copy.barcode} ({copy.title}) is a reference book and is never lent",
            "reference_only",
        )
    if copy.status == "weeded":
        yield Refused(f"{copy.barcode} has been written off", "copy_weeded")
    if copy.on_loan:
        yield Refused(f"{copy.barcode} is already on loan", "copy_on_loan")
    if copy.status == "damaged":
        yield Refused(f"{copy.barcode} is damaged and waiting for repair", "copy_damaged")
    if copy.transit_from is not None:
        # Returned at the other campus, or transferred: on its way to where it belongs.
        todo = (
            f"receive it at the {copy.campus} desk first"
            if desk_campus == copy.campus
            else f"send it to {copy.campus}"
        )
        yield Refused(
            f"{copy.barcode} is in transit from the {copy.transit_from} campus to "
            f"{copy.campus}, where it belongs; it can be lent once it is there ({todo})",
            "copy_in_transit",
        )
    if copy.campus != desk_campus:
        yield Refused(
            f"{copy.barcode} is shelved at the {copy.campus} campus; it cannot be lent at "
            f"the {desk_campus} desk",
            "wrong_campus",
        )


def open_day(due_on: date, calendar: SchoolCalendar | None) -> date:
    """A due date as lent or renewed: on a closed day (a weekend, a holiday, the winter
    break), the next day the library is open, so a reader can always bring it back."""
    return due_on if calendar is None else calendar.next_open_day(due_on)


def days_overdue(loan: Loan, today: date, calendar: SchoolCalendar | None) -> int:
    """A loan's days overdue ``today``, counting closed days or not as the school's policy
    says (``SchoolCalendar.days_overdue``); every day when no calendar is given."""
    if calendar is None:
        return loan.days_overdue(today)
    return calendar.days_overdue(loan.due_on, today)


def _lend_refusals(patron: Patron, command: Lend, own_reservation: str | None) -> Iterator[Refused]:
    """Each reason this lend is refused, in the desk's order: the card's, the copy's, the
    limit, a hold. A copy put aside for another reader by name is never lent (raised)."""
    copy = command.copy
    yield from _borrow_refusals(patron, command.today)
    yield from _copy_refusals(copy, command.desk_campus)
    if len(patron.loans) >= command.policy.max_loans:
        yield Refused(
            f"{patron.name} already has {len(patron.loans)} book(s), the limit for a "
            f"{patron.kind.replace('_', ' ')} card is {command.policy.max_loans}",
            "loan_limit",
        )
    if copy.held_for not in (None, patron.patron_id):
        # Put aside for one reader and named in her notice: hers alone, even for
        # another reader waiting for the same title, and even with an override.
        raise Refused(
            f"{copy.barcode} ({copy.title}) is held for the reader who reserved it",
            "held_for_reservation",
        )
    if copy.held_for_others and own_reservation is None:
        yield Refused(
            f"the last copies of {copy.title} are held for readers who reserved it",
            "held_for_reservation",
        )


def _lend(patron: Patron, command: Lend) -> list[Event]:
    copy = command.copy
    own_reservation = next(
        (rid for rid, isbn in sorted(patron.reservations.items()) if isbn == copy.isbn), None
    )
    set_aside = []
    for refusal in _lend_refusals(patron, command, own_reservation):
        if command.override is None or refusal.code not in OVERRIDABLE:
            raise refusal
        set_aside.append(refusal.code)  # a librarian lends anyway: recorded on the loan
    due_on = open_day(command.policy.due_on(command.today, command.term_end), command.calendar)
    lent: dict[str, Any] = {
        "loan_id": command.loan_id,
        "barcode": copy.barcode,
        "patron_id": patron.patron_id,
        "patron_kind": patron.kind,
        "class_name": patron.class_name,
        "campus": command.desk_campus,
        "lent_on": command.today.isoformat(),
        "due_on": due_on.isoformat(),
        "title": copy.title,
        "classification": copy.classification,
        "isbn": copy.isbn,
    }
    if command.override is not None:
        lent["override"] = command.override.recorded(set_aside)
    events = [Event("Lent", lent)]
    if own_reservation is not None:
        events.append(
            Event(
                "ReservationFulfilled",
                {
                    "reservation_id": own_reservation,
                    "patron_id": patron.patron_id,
                    "loan_id": command.loan_id,
                },
            )
        )
    return events


def _return(patron: Patron, command: ReturnCopy) -> list[Event]:
    _require_card(patron)
    loan = patron.loan_of(command.barcode)
    if loan is None:
        raise Refused(f"{command.barcode} is not on loan to {patron.patron_id}", "not_on_loan")
    data = {
        "loan_id": loan.loan_id,
        "barcode": loan.barcode,
        "patron_id": patron.patron_id,
        "campus": command.desk_campus,
        "returned_on": command.today.isoformat(),
        "overdue_days": days_overdue(loan, command.today, command.calendar),
        "condition": command.condition,
    }
    if command.home_campus is not None:
        data["home_campus"] = command.home_campus
    if command.stocktake_id is not None:
        data["stocktake_id"] = command.stocktake_id
    return [Event("Returned", data)]


def _open_loan(patron: Patron, loan_id: str) -> Loan:
    _require_card(patron)
    try:
        return patron.loans[loan_id]
    except KeyError:
        raise Refused(f"{patron.patron_id} has no open loan {loan_id}", "no_such_loan") from None


def _renew(patron: Patron, command: Renew) -> list[Event]:
    loan = _open_loan(patron, command.loan_id)
    if patron.kind == "class_corner":
        raise Refused("class book corner loans run for the whole term", "no_renewal")
    if loan.renewed:
        raise Refused(f"{loan.barcode} has already been renewed once", "already_renewed")
    if loan.due_on < command.today:
        raise Refused(
            f"{loan.barcode} is {loan.days_overdue(command.today)} day(s) overdue: "
            "it must be returned, not renewed",
            "overdue",
        )
    if command.reserved_by_others:
        raise Refused(
            f"another reader has reserved {loan.title or loan.barcode}; it cannot be renewed",
            "reserved_by_others",
        )
    due_on = open_day(
        max(loan.due_on, command.today) + timedelta(days=command.policy.loan_days),
        command.calendar,
    )
    return [
        Event(
            "Renewed",
            {
                "loan_id": loan.loan_id,
                "barcode": loan.barcode,
                "patron_id": patron.patron_id,
                "due_on": due_on.isoformat(),
            },
        )
    ]


def _reserve(patron: Patron, command: Reserve) -> list[Event]:
    _require_card(patron)
    if patron.status != "active":
        raise Refused(
            f"card {patron.patron_id} is {patron.status} and cannot reserve",
            "card_" + patron.status,
        )
    if command.isbn in patron.reservations.values():
        raise Refused(f"{patron.name} has already reserved this title", "already_reserved")
    if len(patron.reservations) >= MAX_OPEN_RESERVATIONS:
        raise Refused(
            f"{patron.name} already has {MAX_OPEN_RESERVATIONS} open reservations",
            "reservation_limit",
        )
    return [
        Event(
            "Reserved",
            {
                "reservation_id": command.reservation_id,
                "patron_id": patron.patron_id,
                "isbn": command.isbn,
                "campus": command.campus,
            },
        )
    ]


def _declare_lost(patron: Patron, command: DeclareLost) -> list[Event]:
    loan = _open_loan(patron, command.loan_id)
    return [
        Event(
            "DeclaredLost",
            {
                "loan_id": loan.loan_id,
                "barcode": loan.barcode,
                "patron_id": patron.patron_id,
                "replacement_cost": money(command.replacement_cost),
            },
        )
    ]


def _owed_for(patron: Patron, loan_id: str) -> Decimal:
    _require_card(patron)
    owed = patron.owed.get(loan_id)
    if owed is None:
        raise Refused(f"{patron.patron_id} owes nothing for loan {loan_id}", "nothing_owed")
    return owed


def _pay(patron: Patron, command: PayCompensation) -> list[Event]:
    """A lost copy is paid at its price in one payment or several; each names what is
    still owed after it (``balance``). More than is owed is refused, so is nothing."""
    owed = _owed_for(patron, command.loan_id)
    if command.amount <= 0:
        raise Refused(
            f"a payment must be more than ¥0.00 (¥{money(owed)} is owed)", "payment_not_positive"
        )
    if command.amount > owed:
        raise Refused(
            f"¥{money(owed)} is still owed for loan {command.loan_id}; "
            f"¥{money(command.amount)} is more than that",
            "overpayment",
        )
    data = {
        "loan_id": command.loan_id,
        "patron_id": patron.patron_id,
        "amount": money(command.amount),
        "balance": money(owed - command.amount),
    }
    if command.receipt_no is not None:
        data["receipt_no"] = command.receipt_no
    if command.taken_by is not None:
        data["taken_by"] = command.taken_by
    return [Event("CompensationPaid", data)]


def _replace_lost(patron: Patron, command: ReplaceLost) -> list[Event]:
    """A loss settled with a new copy of the same title: nothing is owed any more. Only a
    loss nothing was paid towards (what was paid is not given back), with a new barcode."""
    owed = _owed_for(patron, command.loan_id)
    paid = patron.paid.get(command.loan_id, Decimal("0"))
    if paid:
        raise Refused(
            f"¥{money(paid)} was already paid for loan {command.loan_id}; "
            f"pay the rest (¥{money(owed)}) instead of replacing the book",
            "loss_part_paid",
        )
    lost = command.lost
    if command.new_barcode == lost.barcode or command.new_barcode_known:
        raise Refused(
            f"barcode {command.new_barcode} is already a copy's; give the new copy a new one",
            "barcode_taken",
        )
    return [
        Event(
            "LostCopyReplaced",
            {
                "loan_id": command.loan_id,
                "patron_id": patron.patron_id,
                "barcode": lost.barcode,
                "new_barcode": command.new_barcode,
                "isbn": lost.isbn,
                "title": lost.title,
                "campus": lost.campus,
                "replacement_cost": money(owed),
            },
        )
    ]


# ---------------------------------------------------------------- evolve


def evolve(patron: Patron, event: Any) -> Patron:
    """The card after one more of its events."""
    data = event.data
    match event.type:
        case "CardIssued":
            return replace(
                patron,
                patron_id=data["patron_id"],
                name=data["name"],
                kind=data["kind"],
                class_name=data.get("class_name"),
                campus=data["campus"],
                status="active",
            )
        case "CardBlocked":
            return replace(patron, status="blocked", block_reason=data["reason"])
        case "CardUnblocked":
            return replace(patron, status="active", block_reason=None)
        case "CardRetired":
            return replace(patron, status="retired")
        case "CardClassChanged":
            return replace(patron, class_name=data["to_class"], school_year=data["school_year"])
        case "CardGraduated":
            return replace(patron, graduated=data["school_year"], school_year=data["school_year"])
        case "Lent":
            loan = Loan(
                loan_id=data["loan_id"],
                barcode=data["barcode"],
                lent_on=date.fromisoformat(data["lent_on"]),
                due_on=date.fromisoformat(data["due_on"]),
                isbn=data.get("isbn"),
                title=data.get("title"),
            )
            return replace(patron, loans={**patron.loans, loan.loan_id: loan})
        case "Renewed":
            loan = replace(
                patron.loans[data["loan_id"]],
                due_on=date.fromisoformat(data["due_on"]),
                renewed=True,
            )
            return replace(patron, loans={**patron.loans, loan.loan_id: loan})
        case "Returned":
            return replace(patron, loans=_without(patron.loans, data["loan_id"]))
        case "DeclaredLost":
            return replace(
                patron,
                loans=_without(patron.loans, data["loan_id"]),
                owed={**patron.owed, data["loan_id"]: Decimal(data["replacement_cost"])},
            )
        case "CompensationPaid":
            return _paid(patron, data)
        case "LostCopyReplaced":
            loan_id = data["loan_id"]
            return replace(
                patron, owed=_without(patron.owed, loan_id), paid=_without(patron.paid, loan_id)
            )
        case "Reserved":
            return replace(
                patron, reservations={**patron.reservations, data["reservation_id"]: data["isbn"]}
            )
        case "ReservationFulfilled" | "ReservationCancelled" | "HoldExpired":
            # HoldExpired: a copy held for the reservation was not picked up (holds.py).
            return replace(
                patron, reservations=_without(patron.reservations, data["reservation_id"])
            )
    return patron


def _paid(patron: Patron, data: Mapping[str, Any]) -> Patron:
    """After a payment: what is still owed (``balance``; a payment recorded before
    payments could be partial has none and paid it all); a loss paid off owes nothing."""
    loan_id = data["loan_id"]
    balance = Decimal(data.get("balance") or "0")
    if not balance:
        return replace(
            patron, owed=_without(patron.owed, loan_id), paid=_without(patron.paid, loan_id)
        )
    paid = patron.paid.get(loan_id, Decimal("0")) + Decimal(data["amount"])
    return replace(
        patron, owed={**patron.owed, loan_id: balance}, paid={**patron.paid, loan_id: paid}
    )


def _without(mapping: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if k != key}


# ---------------------------------------------------------------- the stream

# A library card's stream: its loans, reservations and losses. Cached: a card with
# years of loans is folded once, then brought up to date (``FoldCache``).
CARD = Aggregate(
    "card",
    "card-",
    INITIAL,
    evolve,
    decide,
    missing="no library card {key!r}",
    campus=None,
    cached=True,
)
NEW_CARD = replace(CARD, missing=None)  # issuing: the card need not exist yet
