"""The demo's offline spell at the north desk: a file to upload on 离线借还 (docs/offline.md).

A desk without the web app (a laptop, a scanner and a spreadsheet) keeps its scans as
CSV ``时间,操作,借书证号,条码号``. The demo writes one from the school as it stands when
``make demo`` runs, so that uploading it shows what an offline morning gives: books on
the north shelves lent to north students who may borrow, a book brought back, a book
the records still have out with another reader (a conflict a librarian settles with
先还后借), and a mistyped time (a bad line, reported by its number). The scans are
dated the last hour and a half at the school. The file's path goes into
``.run/demo.json`` under ``offline_file``.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from shared.runtime.school_calendar import DEFAULT_TIMEZONE

HEADER = ("时间", "操作", "借书证号", "条码号")
CAMPUS = "north"
LOOKS = 3_000  # at most this many copies looked at


def write(
    call: Callable[..., Any],
    config: dict[str, Any],
    path: Path,
    students: list[str],
    copies: int,
) -> dict[str, Any]:
    """Write the file from the school's north ``students`` (card numbers) and its
    ``copies`` (C00000001 onwards); what it holds (``{"path", "lines", "conflicts",
    "bad_lines"}``)."""
    rng = random.Random()
    shelf = _shelf(call, rng, copies)
    readers, out = _readers(call, rng, students)
    if len(shelf) < 5 or len(out) < 2 or len(readers) < 3:
        raise LookupError("the demo school has too few books on the north shelves to lend")
    zone = ZoneInfo(str((config.get("SCHOOL") or {}).get("timezone") or DEFAULT_TIMEZONE))
    start = datetime.now(zone).replace(second=0, microsecond=0, tzinfo=None)
    start -= timedelta(minutes=90)
    first, second, third = readers[:3]
    scans = [
        (0, "借", first, shelf[0]),
        (1, "借", first, shelf[1]),
        (6, "借", second, shelf[2]),
        (14, "还", "", out[0]),  # brought back: on loan in the records, so it is taken back
        (23, "借", third, shelf[3]),
        (24, "借", third, shelf[4]),
        (41, "借", second, out[1]),  # the records have it out with another reader: a conflict
    ]
    rows = [(_at(start, minutes), action, card, code) for minutes, action, card, code in scans]
    bad = (_at(start, 33)[:-2] + "6x", "借", third, shelf[0])  # a mistyped time
    rows.insert(6, bad)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.getvalue(), encoding="utf-8-sig")  # as a spreadsheet saves it
    return {"path": str(path), "lines": len(rows), "conflicts": 1, "bad_lines": [8]}


def _at(start: datetime, minutes: int) -> str:
    return (start + timedelta(minutes=minutes)).strftime("%Y-%m-%d %H:%M")


def _shelf(call: Callable[..., Any], rng: random.Random, copies: int) -> list[str]:
    """Five north copies on the shelf (lendable now), from a random place."""
    shelf: list[str] = []
    for barcode in _barcodes(rng, copies):
        copy = call("circulation", "copy_availability", barcode)
        if copy["campus"] == CAMPUS and copy["available"]:
            shelf.append(barcode)
            if len(shelf) == 5:
                break
    return shelf


def _barcodes(rng: random.Random, copies: int) -> Iterator[str]:
    start = rng.randrange(copies)
    for step in range(LOOKS):
        yield f"C{(start + step) % copies + 1:08d}"


def _readers(
    call: Callable[..., Any], rng: random.Random, students: list[str]
) -> tuple[list[str], list[str]]:
    """Three north students who may borrow two more books today (active, nothing overdue
    or owed, at most one book out), and two books other north students have out."""
    chosen: list[str] = []
    out: list[str] = []
    for patron_id in rng.sample(students, len(students)):
        card = call("circulation", "patron_loans", patron_id)
        loans = card["loans"]
        if len(chosen) < 3 and (
            card["patron"]["status"] == "active"
            and card["patron"]["owed"] == "0.00"
            and len(loans) <= 1
            and not any(loan.get("days_overdue") for loan in loans)
        ):
            chosen.append(patron_id)
        elif len(out) < 2 and loans:
            out.append(loans[0]["barcode"])
        if len(chosen) == 3 and len(out) == 2:
            break
    return chosen, out
