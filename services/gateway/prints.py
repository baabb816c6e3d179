"""The printed forms of the lists: what goes on each page, worded from ``print.json``.

Overdue notices go to class teachers one page per class (the teacher's name on it
when an account holds the class); the clearance list one page per class; the
weekly bulletin one page; the term report its figures, then its tables. Class
names are written as schools write them (初一(3)班: ``shared.paper.classes``) and
dates on paper as 2026年12月4日. ``shared.paper.pdf.render`` lays the sheets out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from itertools import groupby
from typing import Any

from shared.paper.classes import written_class
from shared.paper.pdf import Sheet
from shared.paper.words import Words

Sheets = Callable[[Words], Sequence[Sheet]]


def paper_date(text: str | None, words: Words) -> str:
    """``2026-12-04`` as paper has it: 2026年12月4日."""
    if not text:
        return ""
    day = date.fromisoformat(str(text)[:10])
    return words("print.date", year=day.year, month=day.month, day=day.day)


def _columns(words: Words, form: str, codes: Sequence[str]) -> list[str]:
    return [words(f"print.{form}.columns.{code}") for code in codes]


def overdue(answer: Mapping[str, Any], teachers: Mapping[str, str]) -> Sheets:
    """One notice per class with overdue books: student, title, barcode, due date, days."""

    def sheets(words: Words) -> list[Sheet]:
        on = paper_date(answer["on"], words)
        pages = []
        for group in answer["classes"]:
            teacher = teachers.get(group["class_name"])
            lines = [
                words("print.overdue.class", class_name=written_class(group["class_name"], words)),
                words("print.overdue.teacher", teacher=teacher)
                if teacher
                else words("print.overdue.no_teacher"),
                words("print.overdue.as_of", on=on),
                words("print.overdue.intro"),
            ]
            rows = [
                [loan["name"], loan["title"] or loan["isbn"] or "", loan["barcode"],
                 loan["due_on"], loan["days_overdue"]]
                for loan in sorted(group["loans"], key=lambda one: (one["name"], one["due_on"]))
            ]  # fmt: skip
            pages.append(
                Sheet(
                    title=words("print.overdue.title"),
                    lines=lines,
                    columns=_columns(
                        words, "overdue", ("name", "title", "barcode", "due_on", "days_overdue")
                    ),
                    rows=rows,
                    widths=(0.16, 0.42, 0.14, 0.14, 0.14),
                    numeric=frozenset({4}),
                    closing=[words("print.overdue.closing", on=on)],
                    empty=words("print.overdue.empty"),
                )
            )
        if not pages:
            lines = [words("print.overdue.as_of", on=on)]
            return [
                Sheet(words("print.overdue.title"), lines, empty=words("print.overdue.nothing"))
            ]
        return pages

    return sheets


def clearance(answer: Mapping[str, Any]) -> Sheets:
    """The leavers who still hold or owe, one page per class, with the counts on the first."""

    def sheets(words: Words) -> list[Sheet]:
        where = (
            words("print.clearance.class", class_name=written_class(answer["class_name"], words))
            if answer.get("class_name")
            else words("print.clearance.grade", grade=answer.get("grade", ""))
        )
        counted = words(
            "print.clearance.counted",
            patrons=answer["patrons"],
            cleared=answer["cleared"],
            outstanding=len(answer["outstanding"]),
        )
        codes = ("name", "item", "title", "barcode", "due_on", "owed")
        people = sorted(answer["outstanding"], key=lambda p: (p.get("class_name") or "", p["name"]))
        pages = []
        for class_name, group in groupby(people, key=lambda p: p.get("class_name")):
            rows = []
            for patron in group:
                rows += [
                    [patron["name"], words("print.clearance.loan"), loan["title"] or "",
                     loan["barcode"], loan["due_on"], ""]
                    for loan in patron["loans"]
                ]  # fmt: skip
                rows += [
                    [patron["name"], words("print.clearance.unpaid"), loss["title"] or "",
                     loss["barcode"], "", loss["balance"]]
                    for loss in patron["unpaid"]
                ]  # fmt: skip
            lines = [
                words("print.clearance.class", class_name=written_class(class_name, words)),
                counted if not pages else "",
                words("print.clearance.intro"),
            ]
            pages.append(
                Sheet(
                    title=words("print.clearance.title"),
                    lines=[line for line in lines if line],
                    columns=_columns(words, "clearance", codes),
                    rows=rows,
                    widths=(0.13, 0.14, 0.35, 0.13, 0.13, 0.12),
                    numeric=frozenset({5}),
                )
            )
        if not pages:
            title = words("print.clearance.title")
            return [Sheet(title, [where, counted], empty=words("print.clearance.empty"))]
        return pages

    return sheets


def _per_student(value: Any) -> str:
    return "-" if value is None else f"{float(value):.2f}"


def bulletin(answer: Mapping[str, Any]) -> Sheets:
    """The week's borrowing, class by class, and the school's totals: to pin up."""

    def sheets(words: Words) -> list[Sheet]:
        week = answer["week"]
        lines = [
            words(
                "print.bulletin.week",
                name=week["name"],
                start=paper_date(week["from"], words),
                end=paper_date(week["to"], words),
            )
        ]
        if answer.get("campus"):
            campus = words(f"common.campus.{answer['campus']}")
            lines.append(words("print.bulletin.campus", campus=campus))
        codes = ("class_name", "loans", "readers", "class_size", "loans_per_student", "top_titles")
        rows = [
            [written_class(c["class_name"], words), c["loans"], c["readers"], c["class_size"],
             _per_student(c["loans_per_student"]),
             "、".join(f"{t['title']}（{t['loans']}）" for t in c["top_titles"])]
            for c in answer["classes"]
        ]  # fmt: skip
        totals = answer["totals"]
        closing = [
            words(
                "print.bulletin.totals",
                loans=totals["loans"],
                readers=totals["readers"],
                students=totals["students"],
                per_student=_per_student(totals["loans_per_student"]),
            )
        ]
        if totals["corner_loans"]:
            closing.append(words("print.bulletin.corner", loans=totals["corner_loans"]))
        return [
            Sheet(
                title=words("print.bulletin.title"),
                lines=lines,
                columns=_columns(words, "bulletin", codes),
                rows=rows,
                widths=(0.14, 0.11, 0.11, 0.11, 0.11, 0.42),
                numeric=frozenset({1, 2, 3, 4}),
                closing=closing,
                empty=words("print.bulletin.empty"),
            )
        ]

    return sheets


def term_report(report: Mapping[str, Any]) -> Sheets:
    """The term's figures on the first page, its top titles and classes after."""

    def sheets(words: Words) -> list[Sheet]:
        form = "print.term_report"
        by_kind = report["loans"]["by_kind"]
        lines = [
            words(f"{form}.period", starts=paper_date(report["starts"], words),
                  ends=paper_date(report["ends"], words)),
            words(f"{form}.closed" if report.get("closed") else f"{form}.open"),
            words(f"{form}.students", students=report["students"]),
            words(f"{form}.loans", loans=report["loans"]["total"],
                  student=by_kind.get("student", 0), teacher=by_kind.get("teacher", 0)),
            words(f"{form}.loans_per_student", value=report["loans_per_student"]),
            words(f"{form}.held", copies=report["copies_held_at_end"]),
            words(f"{form}.rate", value=report["circulation_rate"]),
        ]  # fmt: skip
        figures = [
            [words(f"{form}.sections.acquisitions"), words(f"common.campus.{a['campus']}"),
             a["copies"], a["value"]]
            for a in report["acquisitions"]
        ] + [
            [words(f"{form}.sections.weeding"), words(f"exports.values.{w['reason']}"),
             w["copies"], w["value"]]
            for w in report["weeding"]
        ]  # fmt: skip
        title = words(f"{form}.title", term=report["term"])
        empty = words(f"{form}.empty")
        return [
            Sheet(
                title=title,
                lines=[*lines, "", words(f"{form}.figures")],
                columns=_columns(words, "term_report", ("section", "item", "copies", "value")),
                rows=figures,
                widths=(0.25, 0.35, 0.2, 0.2),
                numeric=frozenset({2, 3}),
                empty=empty,
            ),
            Sheet(
                title=words(f"{form}.most_read"),
                lines=[title],
                columns=_columns(words, "term_report", ("title", "isbn", "loans")),
                rows=[[t["title"], t["isbn"], t["loans"]] for t in report["most_read_titles"]],
                widths=(0.6, 0.25, 0.15),
                numeric=frozenset({2}),
                empty=empty,
            ),
            Sheet(
                title=words(f"{form}.most_active"),
                lines=[title],
                columns=_columns(
                    words, "term_report", ("class_name", "loans", "readers", "students")
                ),
                rows=[
                    [written_class(c["class_name"], words), c["loans"], c["readers"], c["students"]]
                    for c in report["most_active_classes"]
                ],  # fmt: skip
                widths=(0.4, 0.2, 0.2, 0.2),
                numeric=frozenset({1, 2, 3}),
                empty=empty,
            ),
        ]

    return sheets


def class_teachers(accounts: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Each class's teacher by name, from the teachers' accounts (the first one holding it)."""
    teachers: dict[str, str] = {}
    for account in accounts:
        if account.get("disabled"):
            continue
        for class_name in account.get("classes") or ():
            teachers.setdefault(class_name, account["name"])
    return teachers
