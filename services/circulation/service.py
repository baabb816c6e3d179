"""The circulation service: cards, loans, returns, reservations and lost books.

Every command follows one shape: validate the payload, lock what the decision
depends on, load the card's stream, decide, append; and run again if the card
moved meanwhile (``retrying``). A command carrying a ``command_id`` that ran
before is answered from what it recorded then.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from services.circulation import domain, queries
from services.circulation import schemas as s
from services.circulation.policies import Rules
from services.circulation.projections import INLINE, CopyAvailability
from services.circulation.roster import RosterError, read_roster
from shared.errors import BadRequest, NotFound, load
from shared.events.envelope import Envelope
from shared.eventsourcing.decider import Refused, fold
from shared.eventsourcing.unit_of_work import FoldCache, UnitOfWork, retrying
from shared.messaging.rpc import rpc
from shared.messaging.subscriber import subscribe
from shared.runtime import event_feed as feed
from shared.runtime.campus import Campus
from shared.runtime.dependencies import EventStoreProvider, Projections

NEXT_PATRON_IDS = "SELECT nextval('patron_seq') FROM generate_series(1, %s)"


def new_id(prefix: str, command_id: Any, what: str) -> str:
    """A short id, derived from the command's id when it has one (so a retry reuses it)."""
    if command_id is None:
        return f"{prefix}{uuid.uuid4().hex[:16]}"
    return f"{prefix}{uuid.uuid5(command_id, what).hex[:16]}"


CARDS = FoldCache()


def card_of(uow: UnitOfWork, patron_id: str) -> tuple[int, domain.Patron]:
    """(stream version, card) of an existing card; ``NotFound`` when there is none."""
    version, patron = uow.fold(domain.stream_id(patron_id), domain.evolve, domain.INITIAL, CARDS)
    if not version:
        raise NotFound(f"no library card {patron_id!r}")
    return version, patron


def decide_and_record(
    uow: UnitOfWork, patron_id: str, command: Any, card: tuple[int, domain.Patron] | None = None
) -> list[Envelope]:
    """Decide on the card (loaded unless given) and append what was decided."""
    version, patron = card or card_of(uow, patron_id)
    events = domain.decide(patron, command)
    return uow.append(domain.stream_id(patron_id), version, events)


def receipt(events: list[Envelope], *types: str) -> dict[str, Any]:
    """What the desk is told: the payload of the command's main event."""
    for event in events:
        if event.type in types:
            return dict(event.data)
    raise LookupError(f"none of {types} among {[e.type for e in events]}")


class CirculationService(feed.EventFeed):
    name = "circulation"
    store = EventStoreProvider(*INLINE)
    projections = Projections(CopyAvailability())
    rules = Rules()
    campus = Campus()

    @subscribe("catalog")
    def on_catalog_events(self, events: list[Envelope]) -> Any:
        return self.projections.apply(events)

    # ------------------------------------------------------------ cards

    @rpc
    def issue_card(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Issue one library card; the card number is generated unless given."""
        command = load(s.IssueCard(), payload)

        def attempt() -> dict[str, Any]:
            with self.store.unit_of_work(_id(command)) as uow:
                if earlier := uow.earlier():
                    return receipt(earlier, "CardIssued")
                patron_id = command["patron_id"] or self._new_patron_ids(uow, 1)[0]
                stored = self._issue(uow, patron_id, command)
                return receipt(stored, "CardIssued")

        return retrying(attempt)

    @rpc
    def import_cards(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Issue cards for a whole roster (CSV) in one command; bad rows are reported, not fatal."""
        command = load(s.ImportCards(), payload)
        try:
            roster = read_roster(command["csv"])
        except RosterError as error:
            raise BadRequest(str(error), {"csv": [str(error)]}) from None

        def attempt() -> dict[str, Any]:
            issued: list[dict[str, Any]] = []
            errors = list(roster.errors)
            with self.store.unit_of_work(_id(command)) as uow:
                if earlier := uow.earlier():
                    issued = [
                        {"patron_id": e.data["patron_id"], "name": e.data["name"]} for e in earlier
                    ]
                    return {"issued": issued, "errors": errors}
                generated = iter(
                    self._new_patron_ids(uow, sum(1 for _, c in roster.cards if not c["patron_id"]))
                )
                cards = [
                    (line, card["patron_id"] or next(generated), card)
                    for line, card in roster.cards
                ]
                histories = uow.store.load_streams(
                    uow.cursor, [domain.stream_id(patron_id) for _, patron_id, _ in cards]
                )
                writes = []
                for line, patron_id, card in cards:
                    stream = domain.stream_id(patron_id)
                    patron = fold(domain.evolve, domain.INITIAL, histories[stream])
                    try:
                        events = domain.decide(patron, _issue_command(patron_id, card))
                    except Refused as refusal:
                        errors.append({"line": line, "errors": {"patron_id": [str(refusal)]}})
                        continue
                    writes.append((stream, len(histories[stream]), events))
                    issued.append({"line": line, "patron_id": patron_id, "name": card["name"]})
                uow.append_streams(writes)
            return {"issued": issued, "errors": sorted(errors, key=lambda e: e["line"])}

        return retrying(attempt)

    def _issue(self, uow: UnitOfWork, patron_id: str, card: dict[str, Any]) -> list[Envelope]:
        stream = domain.stream_id(patron_id)
        history = uow.load(stream)
        patron = fold(domain.evolve, domain.INITIAL, history)
        events = domain.decide(patron, _issue_command(patron_id, card))
        return uow.append(stream, len(history), events)

    def _new_patron_ids(self, uow: UnitOfWork, count: int) -> list[str]:
        uow.cursor.execute(NEXT_PATRON_IDS, (count,))
        return [f"P{number:07d}" for (number,) in uow.cursor.fetchall()]

    @rpc
    def block_card(self, payload: dict[str, Any]) -> dict[str, Any]:
        command = load(s.CardChange(), payload)
        reason = command["reason"] or "blocked by the library"
        return self._change_card(command, domain.BlockCard(reason))

    @rpc
    def unblock_card(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self._change_card(load(s.CardChange(), payload), domain.UnblockCard())

    @rpc
    def retire_card(self, payload: dict[str, Any]) -> dict[str, Any]:
        command = load(s.CardChange(), payload)
        return self._change_card(command, domain.RetireCard(command["reason"] or "left the school"))

    def _change_card(self, command: dict[str, Any], change: Any) -> dict[str, Any]:
        def attempt() -> dict[str, Any]:
            with self.store.unit_of_work(_id(command)) as uow:
                if not uow.earlier():
                    decide_and_record(uow, command["patron_id"], change)
                return self._card_view(uow.cursor, command["patron_id"])

        return retrying(attempt)

    # ------------------------------------------------------------ loans

    @rpc
    def lend(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Lend one copy to a card at a campus desk."""
        command = load(s.Lend(), payload)
        today = command["on"] or self.rules.today()

        def attempt() -> dict[str, Any]:
            with self.store.unit_of_work(_id(command)) as uow:
                if earlier := uow.earlier():
                    return receipt(earlier, "Lent")
                copy = self._copy_at_desk(uow, command["barcode"], command["patron_id"])
                card = card_of(uow, command["patron_id"])
                lend = self._lend_command(command, copy, card[1], today)
                stored = decide_and_record(uow, command["patron_id"], lend, card)
                return receipt(stored, "Lent")

        return retrying(attempt)

    @rpc
    def lend_many(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Lend a pile of copies to one card (a class book corner) in one command.

        Each copy is decided in turn on the card as it stands after the ones
        before; refused copies are listed with their reason, the rest are lent.
        """
        command = load(s.LendMany(), payload)
        today = command["on"] or self.rules.today()

        def attempt() -> dict[str, Any]:
            with self.store.unit_of_work(_id(command)) as uow:
                if earlier := uow.earlier():
                    return {
                        "loans": [dict(e.data) for e in earlier if e.type == "Lent"],
                        "refused": [],
                    }
                copies = queries.lock_copies_for(
                    uow.cursor, command["barcodes"], command["patron_id"]
                )
                version, patron = card_of(uow, command["patron_id"])
                events, refused = [], []
                for index, barcode in enumerate(command["barcodes"]):
                    if barcode not in copies:
                        refused.append(
                            _refusal(barcode, f"no copy with barcode {barcode}", "unknown_copy")
                        )
                        continue
                    lend = self._lend_command(
                        {**command, "index": index}, copies[barcode], patron, today
                    )
                    try:
                        decided = domain.decide(patron, lend)
                    except Refused as refusal:
                        refused.append(_refusal(barcode, str(refusal), refusal.code))
                        continue
                    events += decided
                    patron = fold(domain.evolve, patron, decided)
                stored = uow.append(domain.stream_id(patron.patron_id), version, events)
                return {
                    "loans": [dict(e.data) for e in stored if e.type == "Lent"],
                    "refused": refused,
                }

        return retrying(attempt)

    def _copy_at_desk(self, uow: UnitOfWork, barcode: str, patron_id: str) -> domain.CopyAtDesk:
        copies = queries.lock_copies_for(uow.cursor, [barcode], patron_id)
        if barcode not in copies:
            raise NotFound(f"no copy with barcode {barcode!r}")
        return copies[barcode]

    def _lend_command(
        self, command: dict[str, Any], copy: domain.CopyAtDesk, patron: domain.Patron, today: date
    ) -> domain.Lend:
        return domain.Lend(
            loan_id=new_id("L", command["command_id"], f"loan-{command.get('index', 0)}"),
            copy=copy,
            desk_campus=command["campus"],
            today=today,
            policy=self.rules.policy(patron.kind),
            term_end=self.rules.term_end(today),
        )

    @rpc
    def return_copy(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Take a copy back at any campus's desk, intact or damaged.

        The receipt names the copy's ``home_campus``: returned at the other
        campus, it goes into transit home (the catalog records it) and is not
        lent again until its home desk has received it.
        """
        command = load(s.Return(), payload)
        today = command["on"] or self.rules.today()

        def attempt() -> dict[str, Any]:
            with self.store.unit_of_work(_id(command)) as uow:
                if earlier := uow.earlier():
                    return receipt(earlier, "Returned")
                holder = queries.lock_loan_of_copy(uow.cursor, command["barcode"])
                if holder is None:
                    raise NotFound(f"no copy with barcode {command['barcode']!r}")
                loan_id, patron_id, home_campus = holder
                if loan_id is None:
                    raise Refused(f"{command['barcode']} is not on loan", "not_on_loan")
                stored = decide_and_record(
                    uow,
                    patron_id,
                    domain.ReturnCopy(
                        command["barcode"],
                        command["campus"],
                        today,
                        command["condition"],
                        home_campus=home_campus,
                    ),
                )
                return receipt(stored, "Returned")

        return retrying(attempt)

    @rpc
    def renew(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Renew a loan once, unless it is overdue or reserved by someone else."""
        command = load(s.LoanCommand(), payload)
        today = command["on"] or self.rules.today()

        def attempt() -> dict[str, Any]:
            with self.store.unit_of_work(_id(command)) as uow:
                if earlier := uow.earlier():
                    return receipt(earlier, "Renewed")
                patron_id, _, isbn = self._lock_loan(uow, command["loan_id"])
                card = card_of(uow, patron_id)
                renew = domain.Renew(
                    command["loan_id"],
                    today,
                    self.rules.policy(card[1].kind),
                    reserved_by_others=queries.reserved_by_others(uow.cursor, isbn, patron_id),
                )
                return receipt(decide_and_record(uow, patron_id, renew, card), "Renewed")

        return retrying(attempt)

    @rpc
    def declare_lost(self, payload: dict[str, Any]) -> dict[str, Any]:
        """A borrower lost a copy: the loan ends and they owe its price."""
        command = load(s.LoanCommand(), payload)

        def attempt() -> dict[str, Any]:
            with self.store.unit_of_work(_id(command)) as uow:
                if earlier := uow.earlier():
                    return receipt(earlier, "DeclaredLost")
                patron_id, barcode, _ = self._lock_loan(uow, command["loan_id"])
                price = queries.lock_copies(uow.cursor, [barcode])[barcode].price
                stored = decide_and_record(
                    uow, patron_id, domain.DeclareLost(command["loan_id"], price)
                )
                return receipt(stored, "DeclaredLost")

        return retrying(attempt)

    @rpc
    def pay_compensation(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The borrower paid for a lost copy."""
        command = load(s.Pay(), payload)

        def attempt() -> dict[str, Any]:
            with self.store.unit_of_work(_id(command)) as uow:
                if earlier := uow.earlier():
                    return receipt(earlier, "CompensationPaid")
                patron_id, _, _ = self._lock_loan(uow, command["loan_id"])
                pay = domain.PayCompensation(command["loan_id"], Decimal(command["amount"]))
                return receipt(decide_and_record(uow, patron_id, pay), "CompensationPaid")

        return retrying(attempt)

    def _lock_loan(self, uow: UnitOfWork, loan_id: str) -> tuple[str, str, str | None]:
        """(patron_id, barcode, isbn) of a loan, with its copy locked."""
        holder = queries.loan_holder(uow.cursor, loan_id)
        if holder is None:
            raise NotFound(f"no loan {loan_id!r}")
        queries.lock_copies(uow.cursor, [holder[1]])
        return holder

    # ------------------------------------------------------------ reservations

    @rpc
    def reserve(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Reserve a title at a campus: its last shelf copies are then held for the reader."""
        command = load(s.Reserve(), payload)

        def attempt() -> dict[str, Any]:
            with self.store.unit_of_work(_id(command)) as uow:
                if earlier := uow.earlier():
                    return receipt(earlier, "Reserved")
                if not queries.isbn_known(uow.cursor, command["isbn"]):
                    raise NotFound(f"the collection has no copy of ISBN {command['isbn']}")
                reserve = domain.Reserve(
                    new_id("R", command["command_id"], "reservation"),
                    command["isbn"],
                    command["campus"],
                )
                return receipt(decide_and_record(uow, command["patron_id"], reserve), "Reserved")

        return retrying(attempt)

    @rpc
    def cancel_reservation(self, payload: dict[str, Any]) -> dict[str, Any]:
        command = load(s.CancelReservation(), payload)

        def attempt() -> dict[str, Any]:
            with self.store.unit_of_work(_id(command)) as uow:
                if earlier := uow.earlier():
                    return receipt(earlier, "ReservationCancelled")
                cancel = domain.CancelReservation(command["reservation_id"])
                stored = decide_and_record(uow, command["patron_id"], cancel)
                return receipt(stored, "ReservationCancelled")

        return retrying(attempt)

    # ------------------------------------------------------------ queries

    @rpc
    def health(self) -> dict[str, Any]:
        """As every service's, plus the campus this instance's host serves (None: the school).

        Informational only: instances of circulation share one RPC queue, so any
        of them may serve any desk; the desk's campus always comes with the command.
        """
        return {**feed.EventFeed.health(self), "campus": self.campus}

    @rpc
    def get_card(self, patron_id: str) -> dict[str, Any]:
        with self.store.cursor() as cursor:
            return self._card_view(cursor, patron_id)

    def _card_view(self, cursor: Any, patron_id: str) -> dict[str, Any]:
        card = queries.patron(cursor, patron_id)
        if card is None:
            raise NotFound(f"no library card {patron_id!r}")
        return card

    @rpc
    def patron_loans(self, patron_id: str) -> dict[str, Any]:
        """A card, its open loans (with days overdue) and its unpaid losses."""
        today = self.rules.today()
        with self.store.cursor() as cursor:
            card = self._card_view(cursor, patron_id)
            loans = queries.open_loans(cursor, "l.patron_id = %s", (patron_id,), today)
            unpaid = queries.unpaid_losses(cursor, "l.patron_id = %s", (patron_id,))
        return {"patron": card, "loans": loans, "unpaid": unpaid}

    @rpc
    def overdue(self, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """Overdue loans grouped by class, for the class teachers."""
        query = load(s.OverdueQuery(), payload or {})
        today = query["on"] or self.rules.today()
        with self.store.cursor() as cursor:
            classes = queries.overdue_by_class(cursor, today, query["class_name"], query["campus"])
        return {"on": today.isoformat(), "classes": classes}

    @rpc
    def clearance(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Graduation clearance: who in a class or grade still holds or owes what."""
        query = load(s.ClearanceQuery(), payload)
        column = "grade" if query["grade"] else "class_name"
        today = query["on"] or self.rules.today()
        with self.store.cursor() as cursor:
            return queries.clearance(cursor, column, query[column], today)

    @rpc
    def copy_availability(self, barcode: str) -> dict[str, Any]:
        """Whether a copy can be lent now, as far as circulation knows."""
        with self.store.cursor() as cursor:
            found = queries.copy(cursor, barcode)
        if found is None:
            raise NotFound(f"circulation knows no copy {barcode!r}")
        return found


def _issue_command(patron_id: str, card: dict[str, Any]) -> domain.IssueCard:
    return domain.IssueCard(
        patron_id, card["name"], card["kind"], card["class_name"], card["campus"]
    )


def _id(command: dict[str, Any]) -> str | None:
    return str(command["command_id"]) if command.get("command_id") else None


def _refusal(barcode: str, reason: str, code: str) -> dict[str, str]:
    return {"barcode": barcode, "reason": reason, "code": code}
