"""The circulation service: cards, loans, returns, reservations and lost books.

Each command is a ``@command`` handler run by the command pipeline (validated,
run once per ``command_id``, in one transaction, again if the card moved
meanwhile): it locks what the decision depends on, gets the card, decides in
``domain`` and records, and says what the desk is told.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from nameko.dependency_providers import Config

from services.circulation import calendar as cal
from services.circulation import (
    domain,
    graduates,
    losses,
    notifying,  # not by name: nameko run takes such a class
    offline_desk,  # the same
    queries,
)
from services.circulation import schemas as s
from services.circulation import school_year as year_turn
from services.circulation.notice_projections import INLINE as NOTICE_INLINE
from services.circulation.notice_projections import NoticeAddresses
from services.circulation.offline_conflicts import OfflineConflicts
from services.circulation.policies import Rules
from services.circulation.projections import INLINE, CopyAvailability
from services.circulation.roster import RosterError, read_roster
from services.circulation.stocktake_returns import FoundInStocktake
from services.circulation.taking_back import take_back
from shared.errors import BadRequest, NotFound, found, load
from shared.events.envelope import Envelope
from shared.events.fields import normalise_isbn
from shared.eventsourcing.decider import Refused, fold
from shared.eventsourcing.pipeline import derived_name, receipt_of
from shared.eventsourcing.unit_of_work import UnitOfWork
from shared.messaging.rpc import rpc
from shared.messaging.subscriber import subscribe
from shared.runtime import event_feed
from shared.runtime.campus import Campus
from shared.runtime.commands import command
from shared.runtime.dependencies import EventStoreProvider, Projections
from shared.runtime.school_calendar import ClosedDays, RotaSlot, SchoolCalendar
from shared.runtime.school_year import graduating_grades_from_config

Command = Mapping[str, Any]
# The loans brought back this term a reader's answer lists, newest first, at most.
MAX_RETURNED_LISTED = 50
# The roster column a refusal of a row is about, so the error names what the user wrote.
ROSTER_COLUMN_OF_REFUSAL = {"class_required": "class", "card_exists": "patron_id"}


class CirculationService(notifying.Notifying, offline_desk.OfflineDesk, event_feed.EventFeed):
    name = "circulation"
    store = EventStoreProvider(*INLINE, *NOTICE_INLINE, OfflineConflicts())
    projections = Projections(CopyAvailability(), FoundInStocktake(), NoticeAddresses())
    rules = Rules()
    campus = Campus()
    config = Config()

    @subscribe("catalog")
    def on_catalog_events(self, events: list[Envelope]) -> Any:
        return self.projections.apply(events)

    @subscribe("accounts")
    def on_accounts_events(self, events: list[Envelope]) -> Any:
        """Where notices go: the accounts' e-mail addresses and classes (notifying.py)."""
        return self.projections.apply(events)

    # ------------------------------------------------------------ cards

    @command(s.IssueCard)
    def issue_card(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        """Issue one library card; the card number is generated unless given."""
        patron_id = command["patron_id"] or self._new_patron_ids(uow, 1)[0]
        stored = uow.execute(domain.NEW_CARD, patron_id, _issue_command(patron_id, command))
        return receipt_of(stored, "CardIssued")

    @command(s.ImportCards)
    def import_cards(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        """Issue cards for a whole roster (CSV) in one command; bad rows are reported, not fatal."""
        try:
            roster = read_roster(command["csv"])
        except RosterError as error:
            raise BadRequest(str(error), {"csv": [str(error)]}) from None
        generated = iter(
            self._new_patron_ids(uow, sum(not c["patron_id"] for _, c in roster.cards))
        )
        rows = [(line, card["patron_id"] or next(generated), card) for line, card in roster.cards]
        cards = uow.get_many(domain.NEW_CARD, [patron_id for _, patron_id, _ in rows])
        decided, issued, errors = [], [], list(roster.errors)
        for line, patron_id, card in rows:
            try:
                events = domain.decide(cards[patron_id].state, _issue_command(patron_id, card))
            except Refused as refusal:
                column = ROSTER_COLUMN_OF_REFUSAL.get(refusal.code, "patron_id")
                errors.append({"line": line, "errors": {column: [str(refusal)]}})
                continue
            decided.append((cards[patron_id], events))
            issued.append({"line": line, "patron_id": patron_id, "name": card["name"]})
        uow.record_many(decided)
        return {"issued": issued, "errors": sorted(errors, key=lambda e: e["line"])}

    def _new_patron_ids(self, uow: UnitOfWork, count: int) -> list[str]:
        return [f"P{number:07d}" for number in uow.next_numbers("patron_seq", count)]

    @command(s.CardChange)
    def block_card(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        reason = command["reason"] or "blocked by the library"
        return self._change_card(uow, command["patron_id"], domain.BlockCard(reason))

    @command(s.CardChange)
    def unblock_card(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        return self._change_card(uow, command["patron_id"], domain.UnblockCard())

    @command(s.CardChange)
    def retire_card(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        reason = command["reason"] or "left the school"
        return self._change_card(uow, command["patron_id"], domain.RetireCard(reason))

    def _change_card(self, uow: UnitOfWork, patron_id: str, change: Any) -> dict[str, Any]:
        uow.execute(domain.CARD, patron_id, change)
        return self._card_view(uow.cursor, patron_id)

    # ------------------------------------------------------------ the school year

    @command(s.TurnSchoolYear)
    def turn_school_year(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        """Every class up a grade (one event per card, ``school_year.turn``); the graduating
        classes stay for clearance. The same year again moves nothing: it is answered with
        what its turn did (``already_turned``)."""
        year = command["school_year"]
        turns = uow.get(year_turn.TURNS, year_turn.STREAM_KEY)
        if year in turns.state.turned:
            return year_turn.answer(turns.state, year, already=True)
        cards = uow.get_many(domain.CARD, graduates.cards_to_turn(uow.cursor))
        grades = graduating_grades_from_config(self.config)
        decided = year_turn.turn(
            turns.state,
            year_turn.TurnSchoolYear(
                year,
                grades,
                command["starts"] or self.rules.today(),
                [c.state for c in cards.values()],
            ),
        )
        uow.record_many([(turns, decided.year)] + [(cards[k], e) for k, e in decided.cards.items()])
        return year_turn.answer(
            fold(year_turn.evolve, turns.state, decided.year), year, already=False
        )

    @command(s.RetireGraduates)
    def retire_graduates(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        """Retire the graduates' cards that hold nothing and owe nothing; the answer lists
        those left active, with what they still hold or owe (``school_year.retire_or_keep``)."""
        year = command["school_year"] or graduates.last_graduated(uow.cursor)
        if year is None:
            return {"school_year": None, "retired": [], "left_active": []}
        cards = uow.get_many(domain.CARD, graduates.active_graduates(uow.cursor, year))
        retired, kept = year_turn.retire_or_keep(
            (c.state for c in cards.values()), f"graduated ({year})"
        )
        uow.record_many([(cards[k], e) for k, e in retired.items()])
        overdue = self._calendar(uow).days_overdue
        holding = graduates.holders(uow.cursor, kept, self.rules.today(), overdue)
        return {
            "school_year": year,
            "retired": [year_turn.who(cards[patron_id].state) for patron_id in retired],
            "left_active": [holding[patron_id] for patron_id in kept if patron_id in holding],
        }

    # ------------------------------------------------------------ loans

    @command(s.Lend)
    def lend(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        """Lend one copy to a card at a campus desk."""
        return self._lend_one(uow, command, command["barcode"], command["patron_id"])

    def _lend_one(
        self,
        uow: UnitOfWork,
        at_desk: Command,
        barcode: str,
        patron_id: str,
        override: domain.Override | None = None,
    ) -> dict[str, Any]:
        """Lend ``barcode`` to ``patron_id`` with ``at_desk``'s command id, campus and day;
        ``override``: the rules a librarian set aside (an offline conflict lent anyway)."""
        copy = self._copy_at_desk(uow, barcode, patron_id)
        uow.read_ahead((domain.CARD, patron_id), (cal.CALENDAR, cal.KEY))
        card = uow.get(domain.CARD, patron_id)
        lend = self._lend_command(at_desk, copy, card.state, 0, self._calendar(uow), override)
        return receipt_of(uow.record(card, domain.decide(card.state, lend)), "Lent")

    @command(s.LendMany)
    def lend_many(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        """Lend a pile of copies to one card (a class book corner) in one command.

        Each copy is decided in turn on the card as it stands after the ones
        before; refused copies are listed with their reason, the rest are lent.
        """
        copies = queries.lock_copies_for(uow.cursor, command["barcodes"], command["patron_id"])
        card = uow.get(domain.CARD, command["patron_id"])
        patron, events, refused = card.state, [], []
        school = self._calendar(uow)
        for index, barcode in enumerate(command["barcodes"]):
            if barcode not in copies:
                refused.append(_refusal(barcode, f"no copy with barcode {barcode}", "unknown_copy"))
                continue
            lend = self._lend_command(command, copies[barcode], patron, index, school)
            try:
                decided = domain.decide(patron, lend)
            except Refused as refusal:
                refused.append(_refusal(barcode, str(refusal), refusal.code))
                continue
            events += decided
            patron = fold(domain.evolve, patron, decided)
        stored = uow.record(card, events)
        return {"loans": [dict(e.data) for e in stored if e.type == "Lent"], "refused": refused}

    def _copy_at_desk(self, uow: UnitOfWork, barcode: str, patron_id: str) -> domain.CopyAtDesk:
        copies = queries.lock_copies_for(uow.cursor, [barcode], patron_id)
        return found(copies.get(barcode), f"no copy with barcode {barcode!r}")

    def _lend_command(
        self,
        command: Command,
        copy: domain.CopyAtDesk,
        patron: domain.Patron,
        index: int,
        school: SchoolCalendar,
        override: domain.Override | None = None,
    ) -> domain.Lend:
        today = self._today(command)
        return domain.Lend(
            loan_id=derived_name("L", command["command_id"], f"loan-{index}"),
            copy=copy,
            desk_campus=command["campus"],
            today=today,
            policy=self.rules.policy(patron.kind),
            term_end=self.rules.term_end(today),
            calendar=school,
            override=override,
        )

    @command(s.Return)
    def return_copy(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        """Take a copy back at any campus's desk, intact or damaged.

        The receipt names the copy's ``home_campus``: returned at the other
        campus, it goes into transit home (the catalog records it) and is not
        lent again until its home desk has received it. It also names the
        ``title``, the borrower's ``name`` and whom the copy is now ``held_for``
        (``domain.held_on_return``: a reader who reserved its title), or None.
        """
        holder = found(
            queries.lock_loan_of_copy(uow.cursor, command["barcode"]),
            f"no copy with barcode {command['barcode']!r}",
        )
        _, patron_id, home_campus = holder
        borrower = domain.borrower_returning(command["barcode"], patron_id)
        uow.read_ahead((domain.CARD, borrower), (cal.CALENDAR, cal.KEY))
        back = domain.ReturnCopy(
            command["barcode"],
            command["campus"],
            self._today(command),
            command["condition"],
            home_campus=home_campus,
            calendar=self._calendar(uow),
        )
        taken = take_back(uow, borrower, back, back.calendar, self.mailer.hold_pick_up_days)
        returned = receipt_of(taken.stored, "Returned")
        held = taken.held_for
        return {
            **returned,
            "title": taken.copy.title,
            "name": taken.card.name,
            "held_for": None if held is None else {k: held[k] for k in ("patron_id", "name")},
        }

    @command(s.Renew)
    def renew(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        """Renew a loan once, unless it is overdue or reserved by someone else."""
        return self._renew(uow, command["loan_id"], command)

    @command(s.RenewCopy)
    def renew_copy(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        """Renew by scanning the book at a desk: the copy's open loan, renewed as ``renew``."""
        holder = found(
            queries.lock_loan_of_copy(uow.cursor, command["barcode"]),
            f"no copy with barcode {command['barcode']!r}",
        )
        return self._renew(uow, domain.loan_to_renew(command["barcode"], holder[0]), command)

    def _renew(self, uow: UnitOfWork, loan_id: str, command: Command) -> dict[str, Any]:
        """Decide the renewal of ``loan_id``; its event names the desk's campus when known."""
        patron_id, _, isbn = self._lock_loan(uow, loan_id)
        card = uow.get(domain.CARD, patron_id)
        renew = domain.Renew(
            loan_id,
            self._today(command),
            self.rules.policy(card.state.kind),
            reserved_by_others=queries.reserved_by_others(uow.cursor, isbn, patron_id),
            calendar=self._calendar(uow),
        )
        events = domain.decide(card.state, renew)
        return receipt_of(uow.record(card, events, campus=command["campus"]), "Renewed")

    @command(s.LoanCommand)
    def declare_lost(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        """A borrower lost a copy: the loan ends and they owe its price."""
        patron_id, barcode, _ = self._lock_loan(uow, command["loan_id"])
        price = queries.lock_copies(uow.cursor, [barcode])[barcode].price
        lost = domain.DeclareLost(command["loan_id"], price)
        return receipt_of(uow.execute(domain.CARD, patron_id, lost), "DeclaredLost")

    @command(s.Pay)
    def pay_compensation(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        """A payment towards a lost copy, all that is owed or a part: the answer is its
        receipt (number, balance still owed, who took it), with the title and the day.
        The receipt number is drawn only once the payment is accepted (no gap for a
        refused one)."""
        patron_id, _, _ = self._lock_loan(uow, command["loan_id"])
        card = uow.get(domain.CARD, patron_id)
        pay = domain.PayCompensation(
            command["loan_id"], command["amount"], taken_by=command["taken_by"]
        )
        domain.decide(card.state, pay)  # refused here: no receipt number is used up
        (number,) = uow.next_numbers("receipt_seq", 1)
        today = self._today(command)
        pay = replace(pay, receipt_no=losses.receipt_number(today.year, number))
        paid = receipt_of(uow.record(card, domain.decide(card.state, pay)), "CompensationPaid")
        return {
            **paid,
            "title": queries.loan_title(uow.cursor, command["loan_id"]),
            "paid_on": today.isoformat(),
        }

    @command(s.ReplaceLost)
    def replace_lost(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        """The reader brought a new copy of the lost book's title instead of paying: the
        loss is settled and the catalog catalogues the new copy in the lost one's place."""
        patron_id, barcode, _ = self._lock_loan(uow, command["loan_id"])
        copies = queries.lock_copies(uow.cursor, [barcode, command["new_barcode"]])
        replace_lost = domain.ReplaceLost(
            command["loan_id"],
            copies[barcode],
            command["new_barcode"],
            new_barcode_known=command["new_barcode"] in copies,
        )
        stored = uow.execute(domain.CARD, patron_id, replace_lost)
        return receipt_of(stored, "LostCopyReplaced")

    def _lock_loan(self, uow: UnitOfWork, loan_id: str) -> tuple[str, str, str | None]:
        """(patron_id, barcode, isbn) of a loan, with its copy locked."""
        holder = found(queries.loan_holder(uow.cursor, loan_id), f"no loan {loan_id!r}")
        queries.lock_copies(uow.cursor, [holder[1]])
        return holder

    def _today(self, command: Command) -> date:
        return command["on"] or self.rules.today()

    def _calendar(self, uow: UnitOfWork) -> SchoolCalendar:
        """The school's calendar as the library keeps it: the config's, a librarian's over it."""
        return cal.effective(self.rules.calendar, uow.get(cal.CALENDAR, cal.KEY).state)

    def _calendar_read(self, cursor: Any) -> SchoolCalendar:
        """``_calendar`` for a query (no unit of work): the calendar stream folded."""
        stream = cal.CALENDAR.stream_id(cal.KEY)
        changes = fold(cal.evolve, cal.INITIAL, self.store.store.load(cursor, stream))
        return cal.effective(self.rules.calendar, changes)

    # ------------------------------------------------------------ the calendar

    @command(s.SetClosedDays)
    def set_closed_days(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        """Shut the library on a named day or range; due dates lent from now on move off it."""
        change = cal.SetClosedDays(
            command["name"], command["starts"], command["ends"], command["kind"]
        )
        set_ = receipt_of(uow.execute(cal.CALENDAR, cal.KEY, change), "ClosedDaysSet")
        return {**set_, "source": cal.LIBRARIAN}

    @command(s.RemoveClosedDays)
    def remove_closed_days(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        """Open the library again on the closed days starting on a day (the config's too)."""
        change = cal.RemoveClosedDays(command["starts"], self._calendar(uow))
        return receipt_of(uow.execute(cal.CALENDAR, cal.KEY, change), "ClosedDaysRemoved")

    @command(s.SetRotaSlot)
    def set_rota_slot(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        """Give a class its weekly borrowing slot (replacing the one it had)."""
        change = cal.SetRotaSlot(
            command["class_name"], command["campus"], command["weekday"], command["period"]
        )
        set_ = receipt_of(uow.execute(cal.CALENDAR, cal.KEY, change), "RotaSlotSet")
        return {**set_, "source": cal.LIBRARIAN}

    @command(s.ClearRotaSlot)
    def clear_rota_slot(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        """Take a class off the rota."""
        change = cal.ClearRotaSlot(command["class_name"], self._calendar(uow))
        return receipt_of(uow.execute(cal.CALENDAR, cal.KEY, change), "RotaSlotCleared")

    @rpc
    def calendar(self, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """The terms, closed days and rota from ``from`` to ``to`` (a year from today), with
        the policies: the config's days and a librarian's over them (``source``)."""
        query = load(s.CalendarQuery(), payload or {})
        today = self.rules.today()
        first = query["starts"] or today
        last = query["ends"] or first + timedelta(days=365)
        with self.store.cursor() as cursor:
            school = self._calendar_read(cursor)
        return {
            "from": first.isoformat(),
            "to": last.isoformat(),
            "today": today.isoformat(),
            "weekends_closed": school.weekends_closed,
            "overdue_counts_closed_days": school.overdue_counts_closed_days,
            "terms": [
                {"name": t.name, "starts": t.starts.isoformat(), "ends": t.ends.isoformat()}
                for t in school.terms
                if t.starts <= last and t.ends >= first
            ],
            "closed": [_closed_view(days) for days in school.closed_between(first, last)],
            "rota": [_slot_view(slot) for slot in school.rota_of()],
        }

    @rpc
    def rota(self, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """A campus's rota (the school's when none is named), and the classes on it ``on`` a
        day (today): none when the library is shut then (``closed`` says why)."""
        query = load(s.RotaQuery(), payload or {})
        day = query["on"] or self.rules.today()
        with self.store.cursor() as cursor:
            school = self._calendar_read(cursor)
        return {
            "campus": query["campus"],
            "on": day.isoformat(),
            "weekday": day.isoweekday(),
            "closed": school.closed_reason(day),
            "today": [_slot_view(slot) for slot in school.rota_on(day, query["campus"])],
            "slots": [_slot_view(slot) for slot in school.rota_of(query["campus"])],
        }

    # ------------------------------------------------------------ reservations

    @command(s.Reserve)
    def reserve(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        """Reserve a title at a campus: its last shelf copies are then held for the reader."""
        if not queries.isbn_known(uow.cursor, command["isbn"]):
            raise NotFound(f"the collection has no copy of ISBN {command['isbn']}")
        reserve = domain.Reserve(
            derived_name("R", command["command_id"], "reservation"),
            command["isbn"],
            command["campus"],
        )
        stored = uow.execute(domain.CARD, command["patron_id"], reserve)
        self._hold_from_shelf(uow, receipt_of(stored, "Reserved"))  # a free copy: notifying.py
        return receipt_of(stored, "Reserved")

    @command(s.CancelReservation)
    def cancel_reservation(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        cancel = domain.CancelReservation(command["reservation_id"])
        stored = uow.execute(domain.CARD, command["patron_id"], cancel)
        return receipt_of(stored, "ReservationCancelled")

    # ------------------------------------------------------------ queries

    @rpc
    def health(self) -> dict[str, Any]:
        """As every service's, plus the campus this instance's host serves (None: the school).

        Informational only: instances of circulation share one RPC queue, so any
        of them may serve any desk; the desk's campus always comes with the command.
        """
        return {**event_feed.EventFeed.health(self), "campus": self.campus}

    @rpc
    def get_card(self, patron_id: str) -> dict[str, Any]:
        with self.store.cursor() as cursor:
            return self._card_view(cursor, patron_id)

    def _card_view(self, cursor: Any, patron_id: str) -> dict[str, Any]:
        card = found(queries.patron(cursor, patron_id), f"no library card {patron_id!r}")
        return card

    @rpc
    def patron_loans(self, patron_id: str) -> dict[str, Any]:
        """A card, its open loans (with days overdue), its unpaid losses, its reservations
        (with their titles) and the loans it brought back this term (``returned``: newest
        first, at most ``MAX_RETURNED_LISTED``; in the holidays, the term just ended)."""
        today = self.rules.today()
        term_start = self.rules.term_start(today)
        with self.store.cursor() as cursor:
            card = self._card_view(cursor, patron_id)
            overdue = self._calendar_read(cursor).days_overdue
            loans = queries.open_loans(cursor, "l.patron_id = %s", (patron_id,), today, overdue)
            unpaid = queries.unpaid_losses(cursor, "l.patron_id = %s", (patron_id,))
            reservations = queries.open_reservations(cursor, patron_id)
            returned = (
                []
                if term_start is None
                else queries.returned_loans(cursor, patron_id, term_start, MAX_RETURNED_LISTED)
            )
        return {
            "patron": card,
            "loans": loans,
            "unpaid": unpaid,
            "reservations": reservations,
            "returned": returned,
        }

    @rpc
    def receipt(self, receipt_no: str) -> dict[str, Any]:
        """One payment's receipt (收据): ``losses.receipt``; NotFound for an unknown number."""
        with self.store.cursor() as cursor:
            return found(losses.receipt(cursor, receipt_no), f"no receipt {receipt_no!r}")

    @rpc
    def loss(self, loan_id: str) -> dict[str, Any]:
        """A loan's loss, what is paid and owed, and its payments (``losses.loss``)."""
        with self.store.cursor() as cursor:
            return found(losses.loss(cursor, loan_id), f"no loan {loan_id!r}")

    @rpc
    def overdue(self, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """Overdue loans grouped by class, for the class teachers."""
        query = load(s.OverdueQuery(), payload or {})
        today = query["on"] or self.rules.today()
        with self.store.cursor() as cursor:
            classes = queries.overdue_by_class(
                cursor,
                today,
                query["class_name"],
                query["campus"],
                self._calendar_read(cursor).days_overdue,
            )
        return {"on": today.isoformat(), "classes": classes}

    @rpc
    def clearance(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Graduation clearance: who in a class or grade still holds or owes what."""
        query = load(s.ClearanceQuery(), payload)
        column = "grade" if query["grade"] else "class_name"
        today = query["on"] or self.rules.today()
        with self.store.cursor() as cursor:
            overdue = self._calendar_read(cursor).days_overdue
            return queries.clearance(cursor, column, query[column], today, overdue)

    @rpc
    def graduates(self, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """The graduating classes' clearance: each class's graduates, how many are retired,
        cleared (ready to retire) and who still holds or owes what; and the grades that
        graduate at the year's turn (``SCHOOL.graduating_grades``), for the screen to say."""
        query = load(s.GraduatesQuery(), payload or {})
        today = query["on"] or self.rules.today()
        grades = {"graduating_grades": list(graduating_grades_from_config(self.config))}
        with self.store.cursor() as cursor:
            year = query["school_year"] or graduates.last_graduated(cursor)
            if year is None:
                return {"school_year": None, "classes": [], **grades}
            overdue = self._calendar_read(cursor).days_overdue
            return {**graduates.clearance(cursor, year, today, overdue), **grades}

    @rpc
    def copy_availability(self, barcode: str) -> dict[str, Any]:
        """Whether a copy can be lent now, as far as circulation knows (``domain.availability``)."""
        with self.store.cursor() as cursor:
            known = found(queries.copy(cursor, barcode), f"circulation knows no copy {barcode!r}")
        return domain.availability(*known)

    @rpc
    def title_availability(self, payload: dict[str, Any]) -> dict[str, Any]:
        """``{isbns}`` -> ``{"titles": {isbn: counts}}``: each title's copies held, available,
        on loan and in transit at north and south (``domain.title_availability``); an ISBN
        is answered as it was asked, whatever hyphens its copies were catalogued with."""
        query = load(s.TitleAvailabilityQuery(), payload)
        keys = {isbn: normalise_isbn(isbn) for isbn in query["isbns"]}
        with self.store.cursor() as cursor:
            copies = queries.title_copies(cursor, list(keys.values()))
        return {
            "titles": {isbn: domain.title_availability(copies[key]) for isbn, key in keys.items()}
        }


def _issue_command(patron_id: str, card: Mapping[str, Any]) -> domain.IssueCard:
    return domain.IssueCard(
        patron_id, card["name"], card["kind"], card["class_name"], card["campus"]
    )


def _closed_view(days: ClosedDays) -> dict[str, Any]:
    return {
        "starts": days.starts.isoformat(),
        "ends": days.ends.isoformat(),
        "name": days.name,
        "source": days.source,
        "kind": days.kind,
    }


def _slot_view(slot: RotaSlot) -> dict[str, Any]:
    return {
        "class_name": slot.class_name,
        "campus": slot.campus,
        "weekday": slot.weekday,
        "period": slot.period,
        "source": slot.source,
    }


def _refusal(barcode: str, reason: str, code: str) -> dict[str, str]:
    return {"barcode": barcode, "reason": reason, "code": code}
