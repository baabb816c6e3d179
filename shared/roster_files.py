"""Roster files as the school office saves them, turned into CSV text.

CSV in UTF-8 (with or without a BOM) or GBK/GB18030 (as Excel on Chinese Windows
saves it; detected, or named by the uploader's charset), or an XLSX workbook
(its first sheet). The text keeps the file's line numbers (row N of the sheet is
line N; a line break inside a cell becomes a space), so the bad rows circulation
reports (``services/circulation/roster.py``) are the lines the school sees.
Used by the gateway (``POST /api/cards/import`` with the file as its body); the
circulation command receives the same text as for the JSON form.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import zipfile
from typing import Any

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv"
# As circulation's MAX_ROSTER_BYTES: a sheet larger as text would be refused there anyway.
MAX_ROSTER_TEXT = 2 * 1024 * 1024
# A sheet with more rows than this is not a school's roster (and would take long to read).
MAX_ROSTER_ROWS = 50_000


class UnreadableRoster(ValueError):
    """Raised when the file is not a roster file at all (corrupt XLSX, not text, too big)."""


class UnknownCharset(UnreadableRoster):
    """Raised when the uploader names a character set no codec knows."""


def decode_roster(
    raw: bytes, media_type: str, charset: str | None = None, max_text: int = MAX_ROSTER_TEXT
) -> str:
    """The roster file (``text/csv`` or XLSX bytes) as CSV text; ``UnreadableRoster`` if not."""
    if media_type == XLSX:
        return xlsx_to_csv(raw, max_text)
    if media_type == CSV:
        return decode_text(raw, charset)
    raise UnreadableRoster(f"a roster is {CSV} or {XLSX}, not {media_type or 'untyped'}")


def decode_text(raw: bytes, charset: str | None = None) -> str:
    """CSV bytes as text: in the stated ``charset``, else UTF-8 (BOM or not), else GB18030.

    GB18030 is a superset of GBK and GB2312, so a file saved as any of them reads right.
    """
    if raw.startswith(b"PK\x03\x04"):
        raise UnreadableRoster(f"this is a ZIP file (an XLSX?), not CSV text: send it as {XLSX}")
    if charset:
        try:
            codec = codecs.lookup(charset.strip().strip('"'))
        except LookupError:
            raise UnknownCharset(f"unknown charset {charset!r}: use utf-8 or gb18030") from None
        name = "utf-8-sig" if codec.name == "utf-8" else codec.name
        try:
            text = raw.decode(name)
        except UnicodeDecodeError as error:
            raise UnreadableRoster(
                f"the CSV is not {charset} text (byte {error.start}): check its charset"
            ) from None
    elif raw.startswith(codecs.BOM_UTF8):
        text = _decode(raw, "utf-8-sig", "UTF-8 (it starts with a UTF-8 byte-order mark)")
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = _decode(raw, "gb18030", "UTF-8 nor GBK/GB18030")
    if "\x00" in text:
        raise UnreadableRoster("the file is not CSV text (it holds NUL bytes)")
    return text


def _decode(raw: bytes, codec: str, what: str) -> str:
    try:
        return raw.decode(codec)
    except UnicodeDecodeError as error:
        raise UnreadableRoster(
            f"the CSV is not {what} text (byte {error.start}): save it as UTF-8 or GBK"
        ) from None


def xlsx_to_csv(raw: bytes, max_text: int = MAX_ROSTER_TEXT) -> str:
    """The workbook's first sheet as CSV text, row N of the sheet on line N.

    A line break inside a cell becomes a space (so lines stay rows); a whole number
    (a student number Excel keeps as a number) is written without ``.0``.
    """
    import openpyxl  # only a workbook needs it
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError) as error:
        raise UnreadableRoster(f"the XLSX file is corrupt or not a workbook ({error})") from None
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        if sheet is None:
            raise UnreadableRoster("the XLSX workbook has no sheet")
        for number, row in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1):
            if number > MAX_ROSTER_ROWS:
                raise UnreadableRoster(
                    f"the sheet has more than {MAX_ROSTER_ROWS} rows: split the roster"
                )
            cells = [_cell_text(value) for value in row]
            while cells and not cells[-1]:
                cells.pop()
            writer.writerow(cells)
            if out.tell() > max_text:
                raise UnreadableRoster(
                    f"the sheet is over {max_text} bytes as text: split the roster"
                )
    except UnreadableRoster:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError) as error:
        raise UnreadableRoster(f"the XLSX file is corrupt ({error})") from None
    finally:
        book.close()
    return out.getvalue()


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return " ".join(str(value).splitlines())
