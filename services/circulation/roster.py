"""Reading a class roster into card requests, keeping every row's errors.

A roster comes as the school office has it, with Chinese or English headers
and classes written as schools write them. The file (CSV in UTF-8 or GBK, or
XLSX) is first turned into CSV text keeping its line numbers
(``shared/roster_files.py``, in the gateway), then read here row by row.

Columns (a header row is required; column order is free; 中文 or English):
``name``/姓名, ``kind``/类型/身份, ``class``/班级, ``campus``/校区 and optionally
``patron_id``/借书证号/学号 (a student number). Kinds may be written
学生/教师/班级图书角 and campuses 北区/南区.

Classes are mapped by ONE rule (``class_of``): a grade, then a class number.
The grade is 初一..初三 (= G7..G9), 高一..高三 (= G10..G12) or N年级 (= GN, N
written 一..九 or as digits 1..12); the class is ``M班`` or ``(M)班`` (ASCII
or full-width brackets, M in digits). ``G7-3`` as the system writes it is kept.
So 初一(3)班, 初一（3）班, 七年级3班 and G7-3 are all G7-3; 高二(5)班 is G11-5.
Anything else is an error of that row naming the line and the value.

Bad rows are reported with their line number (the header is line 1) and never
stop the good rows; each error is named by the column it is in (``class``, as
the card's JSON field is too).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Any

from marshmallow import ValidationError

from services.circulation.schemas import IssueCard

REQUIRED_COLUMNS = ("name", "kind", "class", "campus")

# Header as written -> the column's name (English headers are matched in lower case).
HEADERS = {
    "name": "name",
    "kind": "kind",
    "class": "class",
    "campus": "campus",
    "patron_id": "patron_id",
    "姓名": "name",
    "类型": "kind",
    "身份": "kind",
    "班级": "class",
    "校区": "campus",
    "借书证号": "patron_id",
    "学号": "patron_id",
}
KINDS = {
    "student": "student",
    "teacher": "teacher",
    "class_corner": "class_corner",
    "学生": "student",
    "教师": "teacher",
    "班级图书角": "class_corner",
}
CAMPUSES = {"north": "north", "south": "south", "北区": "north", "南区": "south"}

CHINESE_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
SCHOOL_GRADES = {"初": 6, "高": 9}  # 初一 = G7, 高一 = G10
SYSTEM_CLASS = re.compile(r"G(1[0-2]|[1-9])-([1-9][0-9]?)", re.IGNORECASE)
SCHOOL_CLASS = re.compile(
    r"(?:(?P<stage>[初高])(?P<year>[一二三])|(?P<grade>[一二三四五六七八九]|1[0-2]|[1-9])年级)"
    r"(?:\((?P<bracketed>[1-9][0-9]?)\)|(?P<number>[1-9][0-9]?))班"
)
CLASS_RULE = "write it as G7-3, 初一(3)班, 七年级3班 or 高二(5)班"


class RosterError(ValueError):
    """Raised when the roster as a whole cannot be read (no header, missing columns)."""


@dataclass
class Roster:
    cards: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (line, card)
    errors: list[dict[str, Any]] = field(default_factory=list)


def class_of(written: str) -> str | None:
    """The system's class (G7-3) for a class as a school writes it; ``None`` if none.

    The one rule is in the module's docstring (and docs/rosters.md).
    """
    text = written.strip().replace("（", "(").replace("）", ")").replace(" ", "")
    system = SYSTEM_CLASS.fullmatch(text)
    if system:
        return f"G{system.group(1)}-{system.group(2)}"
    school = SCHOOL_CLASS.fullmatch(text)
    if school is None:
        return None
    if school["stage"]:
        grade = SCHOOL_GRADES[school["stage"]] + CHINESE_DIGITS[school["year"]]
    else:
        grade = CHINESE_DIGITS.get(school["grade"]) or int(school["grade"])
    return f"G{grade}-{int(school['bracketed'] or school['number'])}"


def read_roster(text: str) -> Roster:
    """Parse and validate every row; duplicate card numbers are errors of the later row."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    written = [name.strip() for name in reader.fieldnames or []]
    header = [HEADERS.get(name.lower(), HEADERS.get(name, name.lower())) for name in written]
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        hint = " (the column is 'class', not 'class_name')" if "class_name" in header else ""
        raise RosterError(
            f"the roster's header lacks column(s): {', '.join(missing)}{hint} "
            "(headers: name/姓名, kind/类型, class/班级, campus/校区, patron_id/学号)"
        )
    reader.fieldnames = header
    roster, seen = Roster(), set()
    schema = IssueCard()
    for row in reader:
        line = reader.line_num
        values = {key: (value or "").strip() for key, value in row.items() if key}
        if not any(values.values()):
            continue
        raw, errors = _row(values)
        try:
            card = schema.load(raw)
        except ValidationError as error:
            roster.errors.append({"line": line, "errors": {**error.messages, **errors}})
            continue
        if errors:
            roster.errors.append({"line": line, "errors": errors})
            continue
        if card["patron_id"] and card["patron_id"] in seen:
            roster.errors.append(
                {"line": line, "errors": {"patron_id": ["Appears earlier in the roster."]}}
            )
            continue
        seen.add(card["patron_id"])
        roster.cards.append((line, card))
    return roster


def _row(values: dict[str, str]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """A row's card fields, its words mapped (学生, 北区, 初一(3)班); errors naming the value."""
    errors: dict[str, list[str]] = {}
    kind, campus, written = values.get("kind", ""), values.get("campus", ""), values.get("class")
    raw: dict[str, Any] = {
        "name": values.get("name", ""),
        "kind": KINDS.get(kind.lower(), kind),
        "class": None,
        "campus": CAMPUSES.get(campus.lower(), campus),
    }
    if kind and raw["kind"] not in KINDS.values():
        errors["kind"] = [f"{kind!r} is not a kind: student/学生, teacher/教师 or 班级图书角."]
        raw["kind"] = "student"
    if campus and raw["campus"] not in CAMPUSES.values():
        errors["campus"] = [f"{campus!r} is not a campus: north/北区 or south/南区."]
        raw["campus"] = "north"
    if written:
        raw["class"] = class_of(written)
        if raw["class"] is None:
            errors["class"] = [f"{written!r} is not a class the library knows: {CLASS_RULE}."]
    if values.get("patron_id"):
        raw["patron_id"] = values["patron_id"]
    return raw, errors
