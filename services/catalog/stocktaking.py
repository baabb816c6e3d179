"""Carrying out the stock-take's commands in a unit of work (the catalog service's handlers).

Each reads what the rules need from the read models (what the books say about
the scanned copies, the copies on the shelf at closing), decides on the
stock-take's stream (``stocktake.STOCKTAKE``) and answers from the read model
kept inline (``stocktake_books``). Weeding the twice-missing copies is the
catalog's ordinary weed, reason ``lost``, one copy stream after another in the
same transaction: all are weeded, or (one no longer twice missing) none.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import date
from typing import Any

from services.catalog import domain, queries
from services.catalog import stocktake as rules
from services.catalog import stocktake_books as books
from shared.errors import BadRequest, found
from shared.events.fields import BARCODE_PATTERN
from shared.eventsourcing.decider import Refused
from shared.eventsourcing.unit_of_work import UnitOfWork
from shared.roster_files import decode_text

Command = Mapping[str, Any]


def open_stocktake(uow: UnitOfWork, command: Command, today: date) -> dict[str, Any]:
    """Open a stock-take under a new id (ST000001, ...); answer it."""
    (number,) = uow.next_numbers("stocktake_seq", 1)
    stocktake_id = f"ST{number:06d}"
    opening = rules.OpenStocktake(
        stocktake_id, command["campus"], tuple(dict.fromkeys(command["classes"])), today
    )
    uow.execute(rules.NEW_STOCKTAKE, stocktake_id, opening)
    return books.stocktake(uow.cursor, stocktake_id)


def count_copies(uow: UnitOfWork, command: Command) -> dict[str, Any]:
    """Count the copies scanned or read from a scanner's file; answer each line's finding,
    the file's bad lines and the running count."""
    stocktake_id = command["stocktake_id"]
    if command.get("file") is not None:
        scanned = rules.read_scanner_file(scanner_text(command["file"]))
        lines, errors = scanned.barcodes, scanned.errors
    else:
        lines, errors = [], []
        for barcode in command["barcodes"]:
            code = barcode.strip().upper()
            if BARCODE_PATTERN.fullmatch(code):
                lines.append((None, code))
            else:
                errors.append({"line": None, "text": barcode[:60], "code": "not_a_barcode"})
    loaded = uow.get(rules.STOCKTAKE, stocktake_id)
    codes = [code for _, code in lines]
    in_books = books.copies_in_books(uow.cursor, codes)
    before = books.counted_among(uow.cursor, stocktake_id, codes)
    scans = tuple(
        rules.Scan(code, in_books.get(code), line, code in before) for line, code in lines
    )
    uow.record(loaded, rules.decide(loaded.state, rules.CountCopies(stocktake_id, scans)))
    findings = rules.findings(loaded.state, scans)
    return {
        "stocktake": books.stocktake(uow.cursor, stocktake_id),
        "scans": [_finding(finding) for finding in findings],
        "errors": errors,
    }


def scanner_text(file: str) -> str:
    """A scanner's file (base64) as text: UTF-8 (BOM or not), else GBK/GB18030."""
    try:
        return decode_text(base64.b64decode(file, validate=True))
    except (binascii.Error, ValueError) as error:
        raise BadRequest(
            f"The scanner's file cannot be read: {error}.",
            {"file": [str(error)]},
            code="scanner_file_unreadable",
        ) from None


def _finding(finding: rules.Finding) -> dict[str, Any]:
    return {
        "barcode": finding.barcode,
        "line": finding.line,
        "outcome": finding.outcome,
        "misplaced": finding.misplaced,
        "on_loan": finding.loan_id is not None,
    }


def close_stocktake(uow: UnitOfWork, command: Command, today: date) -> dict[str, Any]:
    """Close the stock-take; answer its report."""
    stocktake_id = command["stocktake_id"]
    loaded = uow.get(rules.STOCKTAKE, stocktake_id)
    shelf = books.on_shelf(uow.cursor, loaded.state.campus) if loaded.state.campus else ()
    counted = books.counted(uow.cursor, stocktake_id)
    closing = rules.CloseStocktake(stocktake_id, shelf, today, counted)
    uow.record(loaded, rules.decide(loaded.state, closing))
    return books.report(uow.cursor, stocktake_id)


def report(cursor: Any, stocktake_id: str) -> dict[str, Any]:
    return found(books.report(cursor, stocktake_id), f"No stock-take has id {stocktake_id}.")


def weed_missing(uow: UnitOfWork, command: Command) -> dict[str, Any]:
    """Weed as lost the copies given, each missing in its last two stock-takes; refused
    (``not_twice_missing``, naming them) if any is not, and then nothing is weeded."""
    twice = {row["barcode"]: row for row in books.twice_missing(uow.cursor, command["campus"])}
    wanted = list(dict.fromkeys(command["barcodes"]))
    not_missing = [barcode for barcode in wanted if barcode not in twice]
    if not_missing:
        raise Refused(
            f"Not missing in two stock-takes in a row at the {command['campus']} campus "
            f"(found, lent or weeded meanwhile, or never missing): {', '.join(not_missing)}. "
            "List the twice-missing copies again and weed those.",
            "not_twice_missing",
        )
    weeded = []
    for barcode in wanted:
        newer, older = twice[barcode]["stocktakes"]
        note = f"missing in stock-takes {older} and {newer}"
        weed = domain.Weed(barcode, reason=domain.LOST, note=note, on_loan=False)
        uow.execute(domain.COPY, barcode, weed)
        weeded.append(queries.find_copy(uow.cursor, barcode))
    return {"campus": command["campus"], "weeded": weeded}


def latest(cursor: Any, campus: str | None, limit: int) -> list[dict[str, Any]]:
    """The latest stock-takes, newest first."""
    return books.stocktakes(cursor, campus, limit)


def twice_missing(cursor: Any, campus: str) -> list[dict[str, Any]]:
    """The copies a librarian may weed as lost: missing in their last two stock-takes."""
    return books.twice_missing(cursor, campus)
