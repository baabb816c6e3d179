"""The stock-take (清点), as a pure Decider: opened, copies counted, closed with its report.

A librarian opens a stock-take for one campus, optionally limited to some
shelves, named by the Chinese Library Classification codes they hold (``I2``:
every copy whose class starts with I2). Each copy found is counted once
(``CopyCounted``), however often it is scanned; when it is closed
(``StocktakeClosed``) the report is decided from what the books say is on the
shelf then:

* **missing** (缺失): on the shelf in the books, in the stock-take's campus and
  range, and not counted;
* **misplaced** (错架): counted, but the other campus's (``other_campus``) or
  outside the range (``out_of_range``);
* **found on loan**: counted although circulation has it out on loan; it is
  returned (circulation reacts to the ``CopyCounted`` that names its loan).

What the books say about a scanned copy (``CopyInBooks``), whether it was
counted already, the copies counted and the copies on the shelf at closing are
read by the service from its read models (the stock-take's is kept in the
transaction that records its events) and handed in with the command, so
``decide`` stays a pure function of (state, command) and the state stays small
however many thousands of copies a campus counts. Two scans of one copy at
once cannot both count it: both append to the stock-take's stream, and the
later is decided again once the first is recorded.
Streams are ``stocktake-<id>``. A closed stock-take counts nothing more
(``stocktake_closed``). A copy missing in the last two closed stock-takes that
covered it may be weeded as lost (``missing_twice``).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, assert_never

from shared.events.fields import BARCODE_PATTERN
from shared.eventsourcing.decider import Aggregate, Event, Refused

ABSENT, OPEN, CLOSED = "absent", "open", "closed"
# What a scan came to (the answer to a scan, line by line).
COUNTED = "counted"
ALREADY_COUNTED = "already_counted"
UNKNOWN = "unknown_barcode"
WEEDED = "copy_weeded"
# Why a counted copy is misplaced.
OTHER_CAMPUS = "other_campus"
OUT_OF_RANGE = "out_of_range"
# The outcomes a closed stock-take leaves per copy it covered.
FOUND, MISSING = "found", "missing"
# Headers a scanner's CSV may give its barcode column (the first column otherwise).
BARCODE_HEADERS = ("barcode", "条码", "图书条码", "条形码")
MAX_SCANS = 5000


def stream_id(stocktake_id: str) -> str:
    return f"stocktake-{stocktake_id}"


@dataclass(frozen=True)
class Stocktake:
    """One stock-take, folded from its events: where, what range, what was counted."""

    stocktake_id: str | None = None
    status: str = ABSENT
    campus: str | None = None
    classes: tuple[str, ...] = ()  # classification prefixes; () is the whole campus

    def covers(self, classification: str) -> bool:
        """Whether a copy of this class stands on the shelves the stock-take counts."""
        return covers(self.classes, classification)


INITIAL = Stocktake()


def covers(classes: Sequence[str], classification: str) -> bool:
    """A class is in range when it starts with one of the prefixes (none: everything)."""
    return not classes or any(classification.upper().startswith(p.upper()) for p in classes)


@dataclass(frozen=True)
class CopyInBooks:
    """What the catalogue says about a scanned copy: home campus, class, status, loan."""

    barcode: str
    campus: str
    classification: str
    status: str  # on_shelf, damaged, on_loan, in_transit, weeded (queries.STATUS)
    loan_id: str | None = None


@dataclass(frozen=True)
class Scan:
    """One barcode read: from the scan field (no line) or line ``line`` of a scanner's file;
    ``copy`` is the catalogue's copy of that barcode, None when there is none."""

    barcode: str
    copy: CopyInBooks | None
    line: int | None = None
    counted_before: bool = False  # counted in this stock-take by an earlier command


@dataclass(frozen=True)
class Finding:
    """What one scan came to: counted (and whether misplaced, whether on loan), or why not."""

    barcode: str
    outcome: str
    line: int | None = None
    misplaced: str | None = None
    loan_id: str | None = None


@dataclass(frozen=True)
class OpenStocktake:
    stocktake_id: str
    campus: str
    classes: tuple[str, ...]
    opened_on: date


@dataclass(frozen=True)
class CountCopies:
    stocktake_id: str
    scans: tuple[Scan, ...]


@dataclass(frozen=True)
class CloseStocktake:
    """Close, given the barcodes the books have on the shelf at the campus now (``on_shelf``:
    (barcode, classification) pairs; those outside the range are left out here) and the
    copies counted (``counted``: their ``Finding``)."""

    stocktake_id: str
    on_shelf: tuple[tuple[str, str], ...]
    closed_on: date
    counted: tuple[Finding, ...] = ()


Command = OpenStocktake | CountCopies | CloseStocktake


def decide(state: Stocktake, command: Command) -> list[Event]:
    """The events a command leads to, or ``Refused`` with a reason a librarian can act on."""
    match command:
        case OpenStocktake():
            return open_stocktake(state, command)
        case CountCopies():
            return count_copies(_open(state), command)
        case CloseStocktake():
            return close(_open(state), command)
        case _:
            assert_never(command)


def open_stocktake(state: Stocktake, command: OpenStocktake) -> list[Event]:
    if state.status != ABSENT:
        raise Refused(f"Stock-take {command.stocktake_id} exists already.", "stocktake_exists")
    data = {
        "stocktake_id": command.stocktake_id,
        "campus": command.campus,
        "classes": list(command.classes),
        "opened_on": command.opened_on.isoformat(),
    }
    return [Event("StocktakeOpened", data)]


def findings(state: Stocktake, scans: Iterable[Scan]) -> list[Finding]:
    """What each scan comes to, in order: a copy is counted the first time only (in this
    batch or an earlier one); a barcode the catalogue does not know, or a weeded copy, is
    reported and not counted."""
    seen: set[str] = set()
    found = []
    for scan in scans:
        copy = scan.copy
        if copy is None:
            found.append(Finding(scan.barcode, UNKNOWN, scan.line))
        elif copy.status == "weeded":
            found.append(Finding(scan.barcode, WEEDED, scan.line))
        elif scan.counted_before or copy.barcode in seen:
            found.append(Finding(copy.barcode, ALREADY_COUNTED, scan.line))
        else:
            seen.add(copy.barcode)
            found.append(
                Finding(
                    copy.barcode,
                    COUNTED,
                    scan.line,
                    misplaced=misplaced(state, copy),
                    loan_id=copy.loan_id if copy.status == "on_loan" else None,
                )
            )
    return found


def misplaced(state: Stocktake, copy: CopyInBooks) -> str | None:
    """Why a copy found here is not where it belongs, or None when it is."""
    if copy.campus != state.campus:
        return OTHER_CAMPUS
    if not state.covers(copy.classification):
        return OUT_OF_RANGE
    return None


def count_copies(state: Stocktake, command: CountCopies) -> list[Event]:
    """One ``CopyCounted`` for each copy counted for the first time."""
    by_barcode = {scan.barcode: scan.copy for scan in command.scans if scan.copy is not None}
    events = []
    for finding in findings(state, command.scans):
        if finding.outcome != COUNTED:
            continue
        copy = by_barcode[finding.barcode]
        data: dict[str, Any] = {
            "stocktake_id": state.stocktake_id,
            "barcode": finding.barcode,
            "campus": state.campus,
            "home_campus": copy.campus,
            "classification": copy.classification,
            "status": copy.status,
            "misplaced": finding.misplaced,
            "loan_id": finding.loan_id,
        }
        events.append(Event("CopyCounted", data))
    return events


def close(state: Stocktake, command: CloseStocktake) -> list[Event]:
    """The report: missing (on the shelf in the books, in range, not counted), misplaced and
    found on loan (from the counts), and the figures."""
    counted = {finding.barcode: finding for finding in command.counted}
    shelf = [b for b, classification in command.on_shelf if state.covers(classification)]
    data = {
        "stocktake_id": state.stocktake_id,
        "campus": state.campus,
        "closed_on": command.closed_on.isoformat(),
        "expected": len(shelf),
        "counted": len(counted),
        "missing": sorted(b for b in shelf if b not in counted),
        "misplaced": sorted(b for b, finding in counted.items() if finding.misplaced),
        "found_on_loan": sorted(b for b, finding in counted.items() if finding.loan_id),
    }
    return [Event("StocktakeClosed", data)]


def _open(state: Stocktake) -> Stocktake:
    if state.status == CLOSED:
        raise Refused(
            f"Stock-take {state.stocktake_id} is closed; open a new one to count again.",
            "stocktake_closed",
        )
    return state


def evolve(state: Stocktake, event: Any) -> Stocktake:
    """The stock-take after one of its events (``event`` has ``type`` and ``data``)."""
    data = event.data
    match event.type:
        case "StocktakeOpened":
            return Stocktake(data["stocktake_id"], OPEN, data["campus"], tuple(data["classes"]))
        case "CopyCounted":
            return state  # what was counted is read from the read model (see above)
        case "StocktakeClosed":
            return replace(state, status=CLOSED)
    raise ValueError(f"a stock-take's stream cannot hold a {event.type} event")


STOCKTAKE = Aggregate(
    "stocktake",
    "stocktake-",
    INITIAL,
    evolve,
    decide,
    missing="No stock-take has id {key}.",
    campus=lambda stocktake: stocktake.campus,
    cached=True,  # a campus's count is thousands of events, a scan at a time
)
NEW_STOCKTAKE = replace(STOCKTAKE, missing=None)


# ---------------------------------------------------------------- twice missing


def missing_twice(outcomes: Sequence[str]) -> bool:
    """Whether a copy's outcomes in the closed stock-takes that covered it, newest first,
    say it was missing in the last two in a row (a copy found in between, or counted
    anywhere since, is not)."""
    return len(outcomes) >= 2 and outcomes[0] == MISSING and outcomes[1] == MISSING


# ---------------------------------------------------------------- a scanner's file


@dataclass(frozen=True)
class ScannerFile:
    """A handheld scanner's file read: the barcodes with their lines, and the bad lines."""

    barcodes: list[tuple[int, str]]
    errors: list[dict[str, Any]]


def read_scanner_file(text: str, limit: int = MAX_SCANS) -> ScannerFile:
    """Barcodes from a scanner's file: one a line, or CSV whose barcode column is headed
    ``barcode``/``条码`` (else the first column). Blank lines are skipped; a line that is
    no barcode is reported with its number (``not_a_barcode``), the others are kept."""
    rows = [_cells(line) for line in text.lstrip("\ufeff").splitlines()]
    column, first = 0, 0
    headers = [cell.strip().lower() for cell in rows[0]] if rows else []
    for index, header in enumerate(headers):
        if header in BARCODE_HEADERS:
            column, first = index, 1
            break
    barcodes: list[tuple[int, str]] = []
    errors: list[dict[str, Any]] = []
    for number, row in enumerate(rows[first:], start=first + 1):
        cell = row[column].strip() if len(row) > column else ""
        if not cell and not any(c.strip() for c in row):
            continue
        code = cell.upper()
        if BARCODE_PATTERN.fullmatch(code) is None:
            errors.append({"line": number, "text": cell[:60], "code": "not_a_barcode"})
        elif len(barcodes) >= limit:
            errors.append({"line": number, "text": cell[:60], "code": "too_many_barcodes"})
        else:
            barcodes.append((number, code))
    return ScannerFile(barcodes, errors)


def _cells(line: str) -> list[str]:
    """A line's cells: CSV (comma, or tab as some scanners write), a bare barcode one cell."""
    delimiter = "\t" if "\t" in line and "," not in line else ","
    return next(csv.reader([line], delimiter=delimiter), [])
