"""The weekly class borrowing bulletin: the figures, and the text the library posts.

The school's plan asks for each class's borrowing to be published every week;
``text`` is that notice, ready to print or to paste into the school's news.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from services.activities.programme import Period


def bulletin(week: Period, campus: str | None, classes: list[dict[str, Any]]) -> dict[str, Any]:
    """The week's figures per class and for the whole school (or one campus), with the text."""
    loans = sum(c["loans"] for c in classes)
    students = sum(c["class_size"] for c in classes)
    figures = {
        "week": week.as_dict(),
        "campus": campus,
        "classes": classes,
        "totals": {
            "loans": loans,
            "readers": sum(c["readers"] for c in classes),
            "students": students,
            "loans_per_student": round(loans / students, 2) if students else None,
            "corner_loans": sum(c["corner_loans"] for c in classes),
        },
    }
    figures["text"] = render(figures)
    return figures


def _per_student(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def render(figures: dict[str, Any]) -> str:
    """The bulletin as plain text, one line per class."""
    week = figures["week"]
    where = f", {figures['campus']} campus" if figures["campus"] else ""
    lines = [f"Class borrowing, week {week['name']} ({week['from']} to {week['to']}){where}"]
    for c in figures["classes"]:
        line = (
            f"{c['class_name']} ({c['campus']}): {c['loans']} loan(s) by {c['readers']} of "
            f"{c['class_size']} students, {_per_student(c['loans_per_student'])} per student"
        )
        if c["top_titles"]:
            line += "; most borrowed: " + ", ".join(
                f"{t['title']} ({t['loans']})" for t in c["top_titles"]
            )
        if c["corner_loans"]:
            line += f"; book corner: {c['corner_loans']} loan(s)"
        lines.append(line)
    if not figures["classes"]:
        lines.append("No class has library cards yet.")
    totals = figures["totals"]
    lines.append(
        f"All classes: {totals['loans']} loan(s) by {totals['readers']} of {totals['students']} "
        f"students, {_per_student(totals['loans_per_student'])} per student"
    )
    return "\n".join(lines)


def week_starting(name: str) -> date:
    """The Monday of the ISO week ``2026-W42``."""
    year, number = name.split("-W")
    return date.fromisocalendar(int(year), int(number), 1)
