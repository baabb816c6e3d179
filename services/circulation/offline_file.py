"""An offline desk's file, read line by line: the scans of a laptop with a scanner and a
spreadsheet, ``time,action,card,barcode`` (or ``时间,操作,借书证号,条码号``), and an
optional fifth column ``condition`` (``状况``): a return's ``damaged`` (损坏), else intact.

Pure: the file's text (already decoded, ``shared.roster_files.decode_text``) in, the
scans and the bad lines out. A time without an offset is school time (``2026-12-07
09:15``, ``2026-12-07T09:15:02``, ``2026/12/7 9:15``). Each line's command id is a
UUID5 over the campus and its four values as read (and ``damaged`` for a damaged
return: a four-column file keeps its ids), so the same file sent twice (or the same
line twice) is carried out once. A bad line is reported by its number and
field with a problem code; the good lines are applied.
"""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from shared.errors import BadRequest
from shared.events.fields import BARCODE_PATTERN, EARLIEST_DAY, LATEST_DAY, PATRON_ID_PATTERN

# The namespace of the files' command ids (a line's: uuid5(FILE_LINES, campus|values)).
FILE_LINES = uuid.UUID("0d7c6b1e-5f3a-4c2e-9b8d-1a2f3e4d5c6b")
COLUMNS = ("time", "action", "card", "barcode")
OPTIONAL = ("condition",)
HEADERS = {
    "time": "time",
    "action": "action",
    "card": "card",
    "patron_id": "card",
    "barcode": "barcode",
    "时间": "time",
    "操作": "action",
    "借书证号": "card",
    "读者证号": "card",
    "借阅证号": "card",
    "条码号": "barcode",
    "条码": "barcode",
    "图书条码": "barcode",
    "condition": "condition",
    "状况": "condition",
    "图书状况": "condition",
    "损坏": "condition",
}
ACTIONS = {
    "lend": "lend",
    "return": "return",
    "借": "lend",
    "借出": "lend",
    "借书": "lend",
    "还": "return",
    "归还": "return",
    "还书": "return",
}
# A return's condition: empty is intact (the four-column file's every return).
CONDITIONS = {
    "": "ok",
    "ok": "ok",
    "完好": "ok",
    "正常": "ok",
    "damaged": "damaged",
    "损坏": "damaged",
    "破损": "damaged",
}
TIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S")


@dataclass
class OfflineFile:
    entries: list[dict[str, Any]] = field(default_factory=list)  # OfflineEntry's, with "line"
    rows_refused: list[dict[str, Any]] = field(default_factory=list)  # {line, field, code}


def read_offline_file(text: str, campus: str, timezone: str, max_lines: int) -> OfflineFile:
    """The scans of an offline file, in file order; ``BadRequest`` when it has no header
    naming the four columns or more than ``max_lines`` lines."""
    rows = [(line, row) for line, row in _numbered_rows(text) if any(c.strip() for c in row)]
    if not rows:
        message = "The file is empty: its first line names the columns."
        raise BadRequest(message, {"file": [message]}, "offline_bad_header")
    header = [HEADERS.get(c.strip().lower(), HEADERS.get(c.strip(), "")) for c in rows[0][1]]
    missing = [column for column in COLUMNS if column not in header]
    if missing:
        message = (
            "The first line must name the columns time,action,card,barcode "
            f"(or 时间,操作,借书证号,条码号); missing: {', '.join(missing)}."
        )
        raise BadRequest(message, {"file": [message]}, "offline_bad_header")
    if len(rows) - 1 > max_lines:
        message = f"The file has {len(rows) - 1} lines; send at most {max_lines} at a time."
        raise BadRequest(message, {"file": [message]}, "offline_file_too_long")
    where = {column: header.index(column) for column in COLUMNS + OPTIONAL if column in header}
    read = OfflineFile()
    for line, row in rows[1:]:
        values = {column: _cell(row, index) for column, index in where.items()}
        entry, refusal = read_line(values, campus, timezone)
        if refusal is not None:
            read.rows_refused.append({"line": line, **refusal})
        else:
            read.entries.append({**entry, "line": line})
    return read


def read_line(
    values: dict[str, str], campus: str, timezone: str
) -> tuple[dict[str, Any], dict[str, str] | None]:
    """One line's scan (an ``OfflineEntry``), or the first field wrong with its code."""
    at = school_time(values["time"], timezone)
    if at is None:
        return {}, {"field": "time", "code": "offline_bad_time"}
    action = ACTIONS.get(values["action"].strip().lower())
    if action is None:
        return {}, {"field": "action", "code": "offline_bad_action"}
    card = values["card"].strip()
    if action == "lend" and not card:
        return {}, {"field": "card", "code": "offline_no_card"}
    if card and not PATRON_ID_PATTERN.match(card):
        return {}, {"field": "card", "code": "offline_bad_card"}
    barcode = values["barcode"].strip().upper()
    if not BARCODE_PATTERN.match(barcode):
        return {}, {"field": "barcode", "code": "offline_bad_barcode"}
    condition = CONDITIONS.get(values.get("condition", "").strip().lower())
    if condition is None or (condition == "damaged" and action != "return"):
        return {}, {"field": "condition", "code": "offline_bad_condition"}
    key = "|".join((campus, at.isoformat(), action, card, barcode))
    if condition == "damaged":
        key += "|damaged"  # an intact return keeps the four-column file's id
    return {
        "command_id": uuid.uuid5(FILE_LINES, key),
        "at": at,
        "action": action,
        "patron_id": card or None,
        "barcode": barcode,
        "condition": condition,
    }, None


def school_time(written: str, timezone: str) -> datetime | None:
    """A time as a desk's spreadsheet writes it; without an offset, at the school."""
    text = written.strip().replace("/", "-")
    if not text:
        return None
    moment = None
    for pattern in TIME_FORMATS:
        try:
            moment = datetime.strptime(text, pattern)
            break
        except ValueError:
            continue
    if moment is None:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    if not EARLIEST_DAY <= moment.date() <= LATEST_DAY:
        return None  # not a school day any desk command takes
    return moment


def _cell(row: list[str], index: int) -> str:
    return row[index] if index < len(row) else ""


def _numbered_rows(text: str) -> list[tuple[int, list[str]]]:
    """The CSV records with the file line each starts on (a quoted cell may span lines)."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    numbered, previous = [], 0
    for row in reader:
        numbered.append((previous + 1, row))
        previous = reader.line_num
    return numbered
