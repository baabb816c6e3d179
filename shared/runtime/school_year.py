"""The school year's one class rule: at the year's turn every class moves up a grade.

A class is written ``G<grade>-<number>`` (G7-3 = 初一(3)班, G12-5 = 高三(5)班). At
the turn G7-3 becomes G8-3; a class in a graduating grade (the top grade of a
stage: G9 for the junior school, G12 for the senior, ``SCHOOL.graduating_grades``)
does not move up: its students graduate and are cleared. G12 always graduates,
as there is no G13. Circulation moves the cards by this rule and accounts the
teachers' classes, so both read it from here. Pure: no I/O.

    SCHOOL:
      graduating_grades: [9, 12]
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

DEFAULT_GRADUATING_GRADES = (9, 12)
TOP_GRADE = 12
CLASS = re.compile(r"G(1[0-2]|[1-9])-([0-9]{1,2})")


def grade_of(class_name: str) -> int:
    """The grade of a class: 7 for G7-3; ``ValueError`` for what is no class."""
    found = CLASS.fullmatch(class_name)
    if found is None:
        raise ValueError(f"{class_name!r} is not a class like G7-3")
    return int(found.group(1))


def graduates(class_name: str, graduating_grades: Iterable[int]) -> bool:
    """Whether a class leaves the school at the year's turn (its grade is a top one)."""
    grade = grade_of(class_name)
    return grade in set(graduating_grades) or grade >= TOP_GRADE


def next_class(class_name: str, graduating_grades: Iterable[int]) -> str | None:
    """The class a class is after the year's turn: G7-3 -> G8-3; None when it graduates."""
    if graduates(class_name, graduating_grades):
        return None
    number = CLASS.fullmatch(class_name).group(2)  # type: ignore[union-attr]
    return f"G{grade_of(class_name) + 1}-{number}"


def moved_classes(
    classes: Iterable[str], graduating_grades: Iterable[int]
) -> tuple[dict[str, str], list[str]]:
    """Each class's next one, and the classes that graduate (both sorted as schools do)."""
    grades = tuple(graduating_grades)
    moved, leaving = {}, []
    for class_name in sorted(set(classes), key=class_order):
        following = next_class(class_name, grades)
        if following is None:
            leaving.append(class_name)
        else:
            moved[class_name] = following
    return moved, leaving


def teacher_classes(classes: Iterable[str], graduating_grades: Iterable[int]) -> list[str]:
    """A class teacher's classes after the turn: each moves up with its students (班主任
    follows the class); a graduating class is no longer hers (the school gives her a new
    one by hand)."""
    following = (next_class(c, graduating_grades) for c in classes)
    return sorted({c for c in following if c is not None}, key=class_order)


def class_order(class_name: str) -> tuple[int, int, str]:
    """G7-3 before G7-10 before G8-1."""
    found = CLASS.fullmatch(class_name)
    if found is None:
        return (99, 99, class_name)
    return (int(found.group(1)), int(found.group(2)), class_name)


def graduating_grades_from_config(config: Mapping[str, Any]) -> tuple[int, ...]:
    """``SCHOOL.graduating_grades`` (default 9 and 12); a grade outside 1-12 is an error."""
    raw = (config.get("SCHOOL") or {}).get("graduating_grades")
    if raw is None:
        return DEFAULT_GRADUATING_GRADES
    grades = tuple(sorted({int(grade) for grade in raw}))
    if not grades or any(not 1 <= grade <= TOP_GRADE for grade in grades):
        raise ValueError(f"SCHOOL.graduating_grades must be grades 1-12, not {raw!r}")
    return grades
