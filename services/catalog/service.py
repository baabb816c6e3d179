"""The catalog service: nameko entrypoints over the copy Decider.

Each command is a ``@command`` handler run by the command pipeline: it decides
on the copy's stream (``domain.COPY``) and answers the copy as it now is
(``queries``). The copies read model is kept inline, in the transaction that
records the events; circulation's news arrives through the
``catalog.from.circulation`` queue (``reactions``). Copies indexed before the
pinyin keys existed get theirs when the service starts (``fill_pinyin``).
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from nameko.timer import timer

import services.catalog.stocktaking as stocktaking
from services.catalog import domain, marc, queries, schemas
from services.catalog.labels import copies_in_range
from services.catalog.projections import PINYIN_BATCH, CopiesOnLoan, CopyIndex, fill_pinyin
from services.catalog.reactions import ReturnsAndLosses
from services.catalog.stocktake_books import Stocktakes
from shared.errors import BadRequest, found, load
from shared.events.envelope import Envelope
from shared.eventsourcing.decider import Refused
from shared.eventsourcing.pipeline import CommandReused
from shared.eventsourcing.unit_of_work import UnitOfWork
from shared.messaging.rpc import EXPECTED_FAILURES, rpc
from shared.messaging.subscriber import subscribe
from shared.runtime import event_feed
from shared.runtime.commands import CommandRpc, command
from shared.runtime.dependencies import Calendar, EventStoreProvider, Projections
from shared.runtime.school_calendar import SchoolCalendar

Command = Mapping[str, Any]
# The commands whose rules depend on whether circulation has the copy out on loan.
LOAN_SENSITIVE = (domain.Weed, domain.Transfer)
# How often an instance looks for copies indexed without pinyin keys (and once at start):
# only copies indexed by a version before the keys, during an upgrade, can lack them.
PINYIN_CHECK_SECONDS = 3600
# A MARC record catalogued at a campus is one command, whatever copies, shelf or source
# the import asked for: left out of its fingerprint, so the same record imported again
# with other ones is answered as the first time ("already"), never catalogued twice.
MARC_RECORD_SECRET = ("import_run", "copies", "acquisition", "shelf", "reference_only")
# The namespace of the command ids derived from a record's bytes and the campus.
MARC_RECORD_NAMESPACE = uuid.UUID("5d7c1c52-8f0e-4a4e-9c57-3f0f3b1d6a21")
MARC_BOOK = ("isbn", "title", "author", "classification", "price")


class CatalogService(event_feed.EventFeed):
    name = "catalog"
    store = EventStoreProvider(CopyIndex(), Stocktakes())
    calendar: SchoolCalendar = Calendar()
    projections = Projections(CopiesOnLoan(), ReturnsAndLosses())

    @subscribe("circulation")
    def on_circulation_events(self, events: list[Envelope]) -> Any:
        return self.projections.apply(events)

    @timer(interval=PINYIN_CHECK_SECONDS, eager=True)
    def fill_pinyin(self) -> int:
        """Give the copies indexed without pinyin keys theirs, a batch a transaction."""
        filled = 0
        while True:
            with self.store.cursor() as cursor:
                batch = fill_pinyin(cursor)
            filled += batch
            if batch < PINYIN_BATCH:
                return filled

    @command(schemas.AddCopies)
    def add_copies(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        """Catalogue N copies of a title in one transaction; answer their barcodes."""
        (barcodes,) = _catalogue(uow, [command])
        return {"barcodes": barcodes}

    @command(schemas.AddMarcRecord, secret=MARC_RECORD_SECRET)
    def add_marc_record(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        """Catalogue one MARC record's copies; answer their barcodes and the import run that
        catalogued them (the first one, when the record comes again)."""
        return _add_marc_record(uow, command)

    @CommandRpc.decorator(expected_exceptions=EXPECTED_FAILURES)
    def import_marc(self, payload: Any) -> dict[str, Any]:
        """Catalogue a MARC file's good records: ``{file (base64), campus, copies, ...}`` ->
        ``{catalogued, already, refused, records: [line, ...]}``, a line per record.

        Each record is its own command (``add_marc_record``), its id derived from the
        record's bytes and the campus: a record imported before is answered with its first
        barcodes (``already``), one that is not a book the catalogue can take is refused by
        its number and reason, and the others are catalogued. A file whose structure breaks
        is refused whole (``BadRequest`` with the record where it broke): nothing of it is
        catalogued.
        """
        query = load(schemas.ImportMarc(), payload)
        try:
            found_records = marc.read(base64.b64decode(query["file"]), schemas.MAX_MARC_RECORDS)
        except marc.TooManyRecords as error:
            raise BadRequest(
                f"The MARC file has {error}; split it. Nothing was imported.",
                {"file": [str(error)]},
                code="marc_too_many_records",
                members={"limit": schemas.MAX_MARC_RECORDS},
            ) from None
        except marc.CorruptFile as error:
            raise BadRequest(
                f"The MARC file cannot be read at record {error.record}: {error.reason}. "
                "Nothing was imported.",
                {"file": [str(error)]},
                code=error.code,
                members={"record": error.record},
            ) from None
        run = str(uuid.uuid4())
        lines = [self._import_record(query, run, read) for read in found_records]
        counts = {
            status: sum(line["status"] == status for line in lines)
            for status in ("catalogued", "already", "refused")
        }
        return {**counts, "records": lines}

    def _import_record(self, query: Command, run: str, read: marc.Read) -> dict[str, Any]:
        """One record's line of the report: catalogued, already (before), or refused."""
        book = read.book
        line: dict[str, Any] = {
            "record": read.record,
            "format": read.format,
            "isbn": book.get("isbn"),
            "title": book.get("title"),
            "publisher": book.get("publisher") or None,
        }
        if read.refused:
            return {**line, "status": "refused", "reason": read.reason, "detail": read.detail}
        record_id = uuid.uuid5(MARC_RECORD_NAMESPACE, f"{query['campus']}:{read.digest}")
        given = {
            "command_id": str(record_id),
            "import_run": run,
            **{key: book[key] for key in MARC_BOOK},
            **({"publisher": book["publisher"]} if book.get("publisher") else {}),
            "campus": query["campus"],
            "shelf": query.get("shelf") or book["classification"][0],
            "copies": query["copies"],
            "acquisition": query["acquisition"],
        }
        try:
            parameters = load(schemas.AddMarcRecord(), given)
            answer = self.store.run(
                "add_marc_record", parameters, _add_marc_record, secret=MARC_RECORD_SECRET
            )
        except BadRequest as error:
            return {**line, "status": "refused", "reason": "invalid", "detail": str(error)}
        except CommandReused as reused:
            return {**line, "status": "already", "barcodes": [], "detail": str(reused)}
        except Refused as refusal:
            return {**line, "status": "refused", "reason": refusal.code, "detail": str(refusal)}
        status = "catalogued" if answer["import_run"] == run else "already"
        return {**line, "status": status, "barcodes": answer["barcodes"]}

    @rpc
    def export_marc(self, payload: dict[str, Any]) -> dict[str, Any]:
        """A page of the catalogue as MARC: ``{flavour, campus?, after?, limit?}`` ->
        ``{file (base64 ISO 2709), records, next}``: a record per title and campus with
        its copies still held, ``next`` the ``after`` of the following page (null at the end).
        """
        query = load(schemas.ExportMarc(), payload)
        with self.store.cursor() as cursor:
            titles, following = queries.marc_titles(
                cursor, query["campus"], query["after"], query["limit"]
            )
        data = marc.write(titles, query["flavour"])
        return {
            "file": base64.b64encode(data).decode("ascii"),
            "records": len(titles),
            "next": following,
        }

    @command(schemas.AddTitles)
    def add_titles(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        """Catalogue many titles' copies in one transaction (a delivery, a school's catalogue).

        Answers the barcodes per title, in the order given.
        """
        barcodes = _catalogue(uow, command["titles"])
        return {
            "titles": [
                {"isbn": title["isbn"], "barcodes": these}
                for title, these in zip(command["titles"], barcodes, strict=True)
            ]
        }

    @command(schemas.IssueBarcode)
    def issue_barcode(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        """The next barcode of the catalog's series, for a copy another service's event will
        have catalogued (a lost book's replacement brought without a label): the desk
        labels the book with it before it leaves. Nothing is recorded yet."""
        (number,) = uow.next_numbers("barcode_seq", 1)
        return {"barcode": barcode_of(number)}

    @command(schemas.MarkDamaged)
    def mark_damaged(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        """Take a copy off the shelf as damaged: ``{barcode, note?}``."""
        return _change(uow, domain.MarkDamaged, command)

    @command(schemas.Repair)
    def repair(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        """Put a repaired copy back on the shelf: ``{barcode, note?}``."""
        return _change(uow, domain.Repair, command)

    @command(schemas.Weed)
    def weed(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        """Write a copy off: ``{barcode, reason, note?}``."""
        return _change(uow, domain.Weed, command)

    @command(schemas.Transfer)
    def transfer(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        """Move a copy to the other campus: ``{barcode, to_campus, shelf}``."""
        return _change(uow, domain.Transfer, command)

    @command(schemas.Receive)
    def receive(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        """A copy in transit arrived at its home desk: ``{barcode, campus}``; lendable again."""
        return _change(uow, domain.Receive, command)

    @command(schemas.SetReferenceOnly)
    def set_reference_only(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        """Make a copy reference-only (never lent) or lendable: ``{barcode, reference_only}``."""
        return _change(uow, domain.SetReferenceOnly, command)

    # ------------------------------------------------------------ stock-takes (清点)

    @command(schemas.OpenStocktake)
    def open_stocktake(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        """Open a stock-take of a campus (or of some classes' shelves there); answer it."""
        return stocktaking.open_stocktake(uow, command, self.calendar.today())

    @command(schemas.CountCopies)
    def count_copies(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        """Count copies found (scanned, or a scanner's file): each once; unknown barcodes
        and bad lines reported, not fatal; refused once the stock-take is closed."""
        return stocktaking.count_copies(uow, command)

    @command(schemas.CloseStocktake)
    def close_stocktake(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        """Close a stock-take; answer its report (missing, misplaced, found on loan)."""
        return stocktaking.close_stocktake(uow, command, self.calendar.today())

    @command(schemas.WeedMissing)
    def weed_missing(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        """Weed as lost, in one command, copies missing in two stock-takes in a row."""
        return stocktaking.weed_missing(uow, command)

    @rpc
    def stocktake_report(self, payload: dict[str, Any]) -> dict[str, Any]:
        """``{stocktake_id}`` -> the stock-take with its three lists."""
        query = load(schemas.StocktakeQuery(), payload)
        with self.store.cursor() as cursor:
            return stocktaking.report(cursor, query["stocktake_id"])

    @rpc
    def stocktakes(self, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """``{campus?, limit?}`` -> ``{"items": [stock-take, ...]}``, newest first."""
        query = load(schemas.StocktakesQuery(), payload if payload is not None else {})
        with self.store.cursor() as cursor:
            return {"items": stocktaking.latest(cursor, query["campus"], query["limit"])}

    @rpc
    def twice_missing(self, payload: dict[str, Any]) -> dict[str, Any]:
        """``{campus}`` -> ``{"items": [copy, ...]}``: missing in the last two stock-takes."""
        query = load(schemas.TwiceMissingQuery(), payload)
        with self.store.cursor() as cursor:
            return {"items": stocktaking.twice_missing(cursor, query["campus"])}

    @rpc
    def get_copy(self, barcode: str) -> dict[str, Any]:
        with self.store.cursor() as cursor:
            copy = found(queries.find_copy(cursor, barcode), f"No copy has barcode {barcode}.")
        return copy

    @rpc
    def search(self, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """``{q?, isbn?, classification?, campus?, status?, limit?, offset?}`` ->
        ``{"total": N, "items": [copy, ...], "titles_total": T, "titles": [title, ...]}``,
        in shelf order (``queries.search``)."""
        query = load(schemas.Search(), payload if payload is not None else {})
        with self.store.cursor() as cursor:
            return queries.search(cursor, query)

    @rpc
    def label_copies(self, payload: dict[str, Any]) -> dict[str, Any]:
        """``{from, to, layout?, kind?, start?}`` -> ``{"copies": [copy, ...]}``: the copies a
        run of labels is printed for, in barcode order, each with its title's sequence
        mark (``labels``); ``BadRequest`` with a code for a range that cannot be printed."""
        query = load(schemas.LabelRange(), payload)
        with self.store.cursor() as cursor:
            return {"copies": copies_in_range(cursor, query["first"], query["last"])}


def _add_marc_record(uow: UnitOfWork, command: Command) -> dict[str, Any]:
    """Catalogue one MARC record's copies: their barcodes, and the run that catalogued them."""
    details = {key: value for key, value in command.items() if key != "import_run"}
    (barcodes,) = _catalogue(uow, [details])
    return {"barcodes": barcodes, "import_run": str(command["import_run"])}


def barcode_of(number: int) -> str:
    """The catalog's barcode of a number of its series: C00000042."""
    return f"C{number:08d}"


def _catalogue(uow: UnitOfWork, titles: Sequence[Command]) -> list[list[str]]:
    """Catalogue each title's copies under new barcodes, in one bulk append; their barcodes."""
    numbers = iter(uow.next_numbers("barcode_seq", sum(title["copies"] for title in titles)))
    decided, barcodes = [], []
    for title in titles:
        details = {k: v for k, v in title.items() if k not in ("copies", "command_id")}
        details["price"] = str(details["price"])
        these = [barcode_of(next(numbers)) for _ in range(title["copies"])]
        for barcode in these:
            copy = uow.new(domain.NEW_COPY, barcode)
            decided.append((copy, domain.decide(copy.state, domain.AddCopy(barcode, details))))
        barcodes.append(these)
    uow.record_many(decided)
    return barcodes


def _change(uow: UnitOfWork, kind: type[domain.Command], command: Command) -> dict[str, Any]:
    """Carry out a change on one copy and answer the copy as it now is."""
    change = kind(**{key: value for key, value in command.items() if key != "command_id"})
    if isinstance(change, LOAN_SENSITIVE):
        change = replace(change, on_loan=queries.is_on_loan(uow.cursor, change.barcode))
    uow.execute(domain.COPY, change.barcode, change)
    return queries.find_copy(uow.cursor, change.barcode)
