"""The library's lists as tables: which columns each has, of what kind, and its rows.

The services answer JSON; a list asked for as a file is that same answer laid out
as a ``shared.paper.tables.Table`` here, once per list, for CSV and XLSX alike
(``exports.answer``). A column is known by its code everywhere (``COLUMNS``): a
register's columns come from the archives by code, so a column added there is
exported with the kind it has here (text when it has none).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from services.activities import schemas as activities
from shared.paper.tables import (
    CLASS,
    DATE,
    INTEGER,
    MONEY,
    NUMBER,
    RATIO,
    TEXT,
    ClassName,
    Column,
    Table,
    Worded,
)
from shared.paper.words import Words

VALUES = "exports.values"
CAMPUS = "common.campus"


def _columns(*columns: Column) -> dict[str, Column]:
    return {column.code: column for column in columns}


COLUMNS = _columns(
    *(
        Column(code, DATE)
        for code in (
            "lent_on",
            "due_on",
            "returned_on",
            "purchased_on",
            "damaged_on",
            "repaired_on",
            "weeded_on",
            "reserved_on",
        )
    ),
    *(
        Column(code, MONEY)
        for code in ("unit_price", "total", "value", "held_value", "added_value", "weeded_value")
    ),
    *(Column(code, MONEY) for code in ("owed",)),
    # The compensations register (docs/losses.md): its day, amounts and kind of entry.
    Column("entry_on", DATE),
    *(Column(code, MONEY) for code in ("amount", "balance")),
    Column("entry", TEXT, words=VALUES, width=12),
    *(
        Column(code, INTEGER)
        for code in (
            "copies",
            "held",
            "on_loan",
            "in_repair",
            "lost",
            "added",
            "weeded",
            "transferred_in",
            "transferred_out",
            "in_transit",
            "days_overdue",
            "rank",
            "books",
            "readers",
            "loans",
            "class_size",
            "corner_loans",
        )
    ),
    Column("loans_per_student", RATIO),
    Column("campus", TEXT, words=CAMPUS, width=10),
    Column("class_name", CLASS),
    Column("class_letter", TEXT, words=VALUES, width=8),
    *(
        Column(code, TEXT, words=VALUES, width=12)
        for code in (
            "status",
            "reason",
            "by_role",
            "returned_by_role",
            "repaired_by_role",
            "kind",
            "renewed",
            "item",
        )
    ),
    Column("title", TEXT, width=30),
    Column("top_titles", TEXT, width=40),
    Column("isbn", TEXT, width=16),
    Column("barcode", TEXT, width=12),
    Column("name", TEXT, width=10),
)


def column(code: str) -> Column:
    """The column of that code: its kind and wording (text when none is known)."""
    return COLUMNS.get(code) or Column(code)


def table(name: str, codes: Iterable[str]) -> Table:
    return Table(name, tuple(column(code) for code in codes))


def rows_of(records: Iterable[dict[str, Any]], codes: Sequence[str]) -> Iterator[list[Any]]:
    """Dicts (JSON records) as rows of those columns."""
    for record in records:
        yield [record.get(code) for code in codes]


# ------------------------------------------------------------------ ledgers

LEDGER = (  # the order of the records screen's ledger
    "held",
    "held_value",
    "on_loan",
    "in_repair",
    "in_transit",
    "lost",
    "added",
    "added_value",
    "weeded",
    "weeded_value",
    "transferred_in",
    "transferred_out",
)


def ledger(name: str, group: str, lines: list[dict[str, Any]]) -> tuple[Table, Iterator[list]]:
    """A ledger (general: a line per campus; classification: per class letter), and its total
    line (``all``)."""
    codes = (group, *LEDGER)
    total = Worded(f"{VALUES}.all")  # the line of the whole school: 合计
    lines = [{**line, group: total} if line[group] == "all" else line for line in lines]
    return table(name, codes), rows_of(lines, codes)


# ------------------------------------------------------------------ circulation

OVERDUE = ("class_name", "patron_id", "name", "title", "barcode", "campus", "lent_on", "due_on",
           "days_overdue", "renewed")  # fmt: skip


def overdue(answer: dict[str, Any]) -> tuple[Table, Iterator[list]]:
    """One row per overdue loan, class after class."""
    loans = (loan for group in answer["classes"] for loan in group["loans"])
    return table("overdue", OVERDUE), rows_of(
        ({**loan, "renewed": str(loan["renewed"]).lower()} for loan in loans), OVERDUE
    )


CLEARANCE = ("class_name", "patron_id", "name", "item", "barcode", "title", "due_on",
             "days_overdue", "owed")  # fmt: skip


def clearance_items(answer: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Each thing a leaver still has to settle: a book not returned, a loss not paid."""
    for patron in answer["outstanding"]:
        card = {"class_name": patron.get("class_name"), "patron_id": patron["patron_id"],
                "name": patron["name"]}  # fmt: skip
        for loan in patron["loans"]:
            yield {**card, **loan, "item": "loan", "owed": None}
        for loss in patron["unpaid"]:
            yield {**card, **loss, "item": "unpaid", "owed": loss["balance"]}


def clearance(answer: dict[str, Any]) -> tuple[Table, Iterator[list]]:
    return table("clearance", CLEARANCE), rows_of(clearance_items(answer), CLEARANCE)


# ------------------------------------------------------------------ reading programme

BOARD_LIMIT = activities.MAX_LIMIT  # a board as a file: every reader, not the top ten
BOARDS = {
    "students": ("rank", "name", "class_name", "campus", "books"),
    "classes": ("rank", "class_name", "campus", "books", "readers"),
    "campuses": ("rank", "campus", "books", "readers"),
}


def leaderboard(board: str, answer: dict[str, Any]) -> tuple[Table, Iterator[list]]:
    codes = BOARDS[board]
    return table(f"leaderboard_{board}", codes), rows_of(answer["entries"], codes)


@dataclass(frozen=True)
class TitleLoans:
    """Titles with their loans in one cell: 红楼梦（2）、西游记（1）."""

    titles: tuple[tuple[str, int], ...]

    def text(self, words: Words) -> str:
        return words("exports.values.separator").join(
            words("exports.values.title_loans", title=title, loans=loans)
            for title, loans in self.titles
        )


BULLETIN = ("class_name", "campus", "loans", "readers", "class_size", "loans_per_student",
            "top_titles", "corner_loans")  # fmt: skip


def bulletin(answer: dict[str, Any]) -> tuple[Table, Iterator[list]]:
    """One row per class and a last one for all classes (as the bulletin's totals)."""
    classes = [
        {**c, "top_titles": TitleLoans(tuple((t["title"], t["loans"]) for t in c["top_titles"]))}
        for c in answer["classes"]
    ]
    totals = answer["totals"]
    everyone = {**totals, "class_size": totals["students"], "top_titles": "",
                "campus": answer["campus"] or Worded(f"{VALUES}.whole_school"),
                "class_name": Worded(f"{VALUES}.all_classes")}  # fmt: skip
    return table("bulletin", BULLETIN), rows_of([*classes, everyone], BULLETIN)


# ------------------------------------------------------------------ books of record

SUMMARY = ("term", "starts", "ends", "students", "loans_per_student", "copies_held_at_end",
           "circulation_rate")  # fmt: skip
SECTIONS, ITEMS = "exports.report.sections", "exports.report.items"


def report_rows(report: dict[str, Any]) -> Iterator[list[Any]]:
    """The term report flattened to section, item, value, worded when the file is written
    (titles are written as they are)."""

    def section(code: str) -> Worded:
        return Worded(f"{SECTIONS}.{code}")

    for key in SUMMARY:
        yield [section("summary"), Worded(f"{ITEMS}.{key}"), report.get(key)]
    yield [section("loans"), Worded(f"{ITEMS}.total"), report["loans"]["total"]]
    for kind, n in sorted(report["loans"]["by_kind"].items()):
        yield [section("loans"), Worded(f"{ITEMS}.kind_loans", kind=Worded(f"{VALUES}.{kind}")), n]
    for a in report["acquisitions"]:
        campus = Worded(f"{CAMPUS}.{a['campus']}")
        yield [
            section("acquisitions"),
            Worded(f"{ITEMS}.campus_copies", campus=campus),
            a["copies"],
        ]
        yield [section("acquisitions"), Worded(f"{ITEMS}.campus_value", campus=campus), a["value"]]
    for w in report["weeding"]:
        reason = Worded(f"{VALUES}.{w['reason']}")
        yield [section("weeding"), Worded(f"{ITEMS}.reason_copies", reason=reason), w["copies"]]
        yield [section("weeding"), Worded(f"{ITEMS}.reason_value", reason=reason), w["value"]]
    for t in report["most_read_titles"]:
        yield [section("most_read"), f"{t['title']} ({t['isbn']})", t["loans"]]
    for c in report["most_active_classes"]:
        yield [section("most_active_class"), ClassName(c["class_name"]), c["loans"]]


TERM_REPORT = Table(
    "term_report",
    (
        Column("section", TEXT, width=16),
        Column("item", TEXT, width=36),
        Column("value", NUMBER, width=14),
    ),
)


# ------------------------------------------------------------------ the stock-take

STOCKTAKE = Table(
    "stocktake",
    (
        Column("finding", TEXT, words=VALUES, width=22),
        column("barcode"),
        column("title"),
        Column("author", TEXT, width=14),
        Column("classification", TEXT, width=10),
        Column("shelf", TEXT, width=10),
        column("campus"),
        Column("unit_price", MONEY),
    ),
)
STOCKTAKE_LISTS = ("missing", "misplaced", "found_on_loan")
STOCKTAKE_FIELDS = ("barcode", "title", "author", "classification", "shelf", "campus", "price")


def stocktake(report: dict[str, Any]) -> tuple[Table, Iterator[list]]:
    """A stock-take's three lists as one table, a row per copy with what was found of it
    (缺失, 错架 and why, 借出中发现)."""

    def rows() -> Iterator[list[Any]]:
        for name in STOCKTAKE_LISTS:
            for copy in report[f"{name}_copies"]:
                finding = f"misplaced_{copy['misplaced']}" if name == "misplaced" else name
                yield [finding, *(copy[code] for code in STOCKTAKE_FIELDS)]

    return STOCKTAKE, rows()
