"""A class as a school writes it on paper: G7-3 is 初一(3)班, G12-5 高三(5)班.

The system keeps classes as ``G<grade>-<number>`` (the rule is in
``shared/events/fields.py``; a roster's 初一(3)班 is read into it by
``services/circulation/roster.py``). Printed forms and spreadsheets go back the
other way, worded from ``common.classes`` of the server's catalogue, as the
screens do with ``formatClass`` (web/src/school.js). Teachers' loans are listed
under ``(staff)``: 教职工.
"""

from __future__ import annotations

import re

from shared.paper.words import Words

STAFF = "(staff)"
CLASS_CODE = re.compile(r"G(1[0-2]|[1-9])-([0-9]{1,2})")


def written_class(code: str | None, words: Words) -> str:
    """``G7-3`` → 初一(3)班 (en: Grade 7 Class 3); anything else as it is, blank for none."""
    if not code:
        return ""
    if code == STAFF:
        return words("common.classes.staff")
    found = CLASS_CODE.fullmatch(code)
    if found is None:
        return code
    grade = words(f"common.classes.grades.G{found.group(1)}")
    return words("common.classes.name", grade=grade, number=int(found.group(2)))
