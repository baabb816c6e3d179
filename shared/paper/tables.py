"""Lists as spreadsheets: one typed table, written as CSV (UTF-8 with a BOM) or XLSX.

Every list the library exports (a register, a ledger, the overdue list, the weekly
bulletin...) is described once as a ``Table``: its name (the file's and the
sheet's, worded from ``exports.lists.<name>``) and its columns, each a code
(worded from ``exports.columns.<code>``) and a kind. The kind decides how a value
is written: a ``date`` is a real date in the XLSX (shown 2026-12-04), ``money`` a
number with two decimals, an ``integer`` a number; ``text`` is text.

Both writers take the rows as an iterable (a generator paging through a service
is welcome): CSV is yielded line by line, XLSX is written by openpyxl in
write-only mode, so neither holds a large list in memory.

Excel on Chinese Windows reads a CSV as GBK unless it starts with a byte-order
mark: the CSV here always does, with CRLF line ends. A cell a spreadsheet would
run as a formula (text starting with ``=``, ``+``, ``-``, ``@``, a tab or a CR) is
written with a leading ``'`` (OWASP's advice on CSV injection), in both formats; a
number typed as one (money of -3.00) stays a number.

Usage::

    from shared.paper.tables import Column, Table, csv_chunks, write_xlsx
    OVERDUE = Table("overdue", (Column("class_name", CLASS), Column("name"),
                                Column("due_on", DATE), Column("days_overdue", INTEGER)))
    body = csv_chunks(OVERDUE, rows, Words("zh-CN"))   # an iterator of bytes
    write_xlsx(OVERDUE, rows, Words("en"), file)        # to a binary file

The gateway's ``services/gateway/exports.py`` is the one place routes use this.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import IO, Any, Protocol, runtime_checkable

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from shared.paper.classes import written_class
from shared.paper.words import Words

TEXT, DATE, DATETIME, MONEY, INTEGER, NUMBER, RATIO, CLASS = (
    "text",
    "date",
    "datetime",
    "money",  # two places: 39.50
    "integer",
    "number",  # as given: 12, 1.5, 1.00
    "ratio",  # two places: loans per student 1.33
    "class",
)
KINDS = (TEXT, DATE, DATETIME, MONEY, INTEGER, NUMBER, RATIO, CLASS)
TWO_PLACES = (MONEY, RATIO)
NUMBERS = (INTEGER, NUMBER, RATIO, MONEY)
BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
MONEY_FORMAT = "0.00"
WIDTHS = {DATE: 12, DATETIME: 17, MONEY: 11, INTEGER: 9, NUMBER: 10, RATIO: 9, CLASS: 12, TEXT: 18}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"


@dataclass(frozen=True)
class Column:
    """One column: its code (the header's key), its kind and, for codes, their wording.

    ``words``: a catalogue prefix wording the column's values (``common.campus`` writes
    north as 北区); a value the catalogue lacks is written as it is.
    """

    code: str
    kind: str = TEXT
    words: str | None = None
    width: int | None = None  # in characters; by kind when left out

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"{self.kind!r} is no column kind ({', '.join(KINDS)})")


@dataclass(frozen=True)
class Table:
    """A list's name (``exports.lists.<name>`` words it) and its columns, in order."""

    name: str
    columns: tuple[Column, ...]

    def headers(self, words: Words) -> list[str]:
        return [words(f"exports.columns.{column.code}") for column in self.columns]

    def title(self, words: Words) -> str:
        return words(f"exports.lists.{self.name}")


@runtime_checkable
class WordedLater(Protocol):
    """A cell worded only when the file is written, in the file's language."""

    def text(self, words: Words) -> str: ...


@dataclass(frozen=True)
class Worded:
    """A cell worded when the file is written: ``Worded("exports.report.items.term")``;
    its fields may be ``Worded`` too (``Worded("...campus_copies", campus=Worded(...))``)."""

    key: str
    fields: dict[str, Any] = field(default_factory=dict)

    def __init__(self, key: str, **fields: Any) -> None:
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "fields", fields)

    def text(self, words: Words) -> str:
        given = {k: v.text(words) if isinstance(v, Worded) else v for k, v in self.fields.items()}
        return words(self.key, **given)


@dataclass(frozen=True)
class ClassName:
    """A class in a cell of a text column, written as schools write it (初一(3)班)."""

    code: str

    def text(self, words: Words) -> str:
        return written_class(self.code, words)


def neutralise(text: str) -> str:
    """Text a spreadsheet would run as a formula, made plain text with a leading ``'``."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _number(value: Any, kind: str) -> int | Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and kind in (INTEGER, NUMBER):
        return value
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite():
        return None
    if kind == INTEGER:
        return int(number) if number == number.to_integral_value() else None
    if kind in TWO_PLACES:
        return number.quantize(Decimal("0.01"), ROUND_HALF_UP)
    return int(number) if number.as_tuple().exponent >= 0 else number  # type: ignore[operator]


def _moment(value: Any, kind: str) -> date | None:
    if isinstance(value, datetime):
        return value if kind == DATETIME else value.date()
    if isinstance(value, date):
        return value
    try:
        if kind == DATE:
            return date.fromisoformat(str(value)[:10])
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def typed(value: Any, column: Column, words: Words) -> Any:
    """The value as its column's kind: a date, a Decimal, an int or text (None: empty).

    A value that is not of its kind (a date column holding "unknown") is text, and
    so neutralised like any other text.
    """
    if value is None or value == "":
        return None
    if isinstance(value, WordedLater):
        return neutralise(value.text(words))
    if column.kind in NUMBERS:
        number = _number(value, column.kind)
        if number is not None:
            return number
    elif column.kind in (DATE, DATETIME):
        moment = _moment(value, column.kind)
        if moment is not None:
            return moment
    elif column.kind == CLASS:
        return neutralise(written_class(str(value), words))
    text = str(value)
    if column.words and words.has(f"{column.words}.{text}"):
        text = words(f"{column.words}.{text}")
    return neutralise(text)


def _csv_text(value: Any, column: Column) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:.2f}" if column.kind in TWO_PLACES else format(value, "f")
    return str(value)


def csv_chunks(
    table: Table, rows: Iterable[Sequence[Any]], words: Words, lines: int = 500
) -> Iterator[bytes]:
    """The table as CSV bytes, a BOM and the header first, then ``lines`` rows a chunk."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    out.write(BOM)
    writer.writerow(table.headers(words))
    count = 0
    for row in rows:
        writer.writerow(
            [_csv_text(typed(v, c, words), c) for c, v in zip(table.columns, row, strict=False)]
        )
        count += 1
        if count % lines == 0:
            yield out.getvalue().encode("utf-8", "backslashreplace")
            out.seek(0)
            out.truncate()
    yield out.getvalue().encode("utf-8", "backslashreplace")


def csv_bytes(table: Table, rows: Iterable[Sequence[Any]], words: Words) -> bytes:
    """The whole CSV at once (tests, small lists)."""
    return b"".join(csv_chunks(table, rows, words))


def _xlsx_cell(sheet: Any, value: Any, column: Column) -> Any:
    if value is None or isinstance(value, str):
        return value
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, datetime):
        cell.value = value.replace(tzinfo=None)  # as the service gave it: the school's time
        cell.number_format = DATETIME_FORMAT
    elif isinstance(value, date):
        cell.number_format = DATE_FORMAT
    elif isinstance(value, Decimal):
        cell.value = float(value)
        cell.number_format = MONEY_FORMAT if column.kind in TWO_PLACES else _places(value)
    return cell


def write_xlsx(
    table: Table, rows: Iterable[Sequence[Any]], words: Words, target: IO[bytes] | str
) -> None:
    """The table as an XLSX workbook of one sheet, written row by row (openpyxl write-only):
    a bold header row that stays in view (frozen), columns wide enough for their kind."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_sheet_title(table.title(words)))
    headers = table.headers(words)
    for number, (column, text) in enumerate(zip(table.columns, headers, strict=True), start=1):
        width = column.width or max(WIDTHS[column.kind], 2 * len(text) + 2)
        sheet.column_dimensions[get_column_letter(number)].width = width
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for text in headers:
        cell = WriteOnlyCell(sheet, value=text)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in rows:
        sheet.append(
            [
                _xlsx_cell(sheet, typed(v, c, words), c)
                for c, v in zip(table.columns, row, strict=False)
            ]
        )
    book.save(target)


def _places(value: Decimal) -> str:
    """A number's format showing the places it was given with: 1.5 as 0.0, 1.00 as 0.00."""
    places = -int(value.as_tuple().exponent)  # type: ignore[arg-type]
    return "0." + "0" * places if places > 0 else "0"


def xlsx_bytes(table: Table, rows: Iterable[Sequence[Any]], words: Words) -> bytes:
    """The whole XLSX at once (tests, small lists)."""
    out = io.BytesIO()
    write_xlsx(table, rows, words, out)
    return out.getvalue()


def _sheet_title(title: str) -> str:
    """A sheet's name: at most 31 characters, none of Excel's forbidden ones."""
    for forbidden in "[]:*?/\\":
        title = title.replace(forbidden, " ")
    return title[:31] or "Sheet"
