"""Printed forms as PDF, in Chinese: the font, the page and a titled table per page.

Schools print on A4. Chinese needs a font with its characters embedded in the
file, so the printer and any PDF reader show the same page: Debian's WenQuanYi
Micro Hei (``fonts-wqy-microhei``, which the Makefile installs), embedded as a
subset by reportlab. Every form here is a list of ``Sheet``\\ s: a title, a few
lines under it, a table whose header repeats on each page it runs over, and a
closing note; each sheet starts on a new page (one class's overdue notice per
page). Labels draw on a canvas of their own (see ``shared/paper/labels.py``).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from shared.paper.words import Words

FONT = "WenQuanYiMicroHei"
FONT_FILES = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/wqy-microhei/wqy-microhei.ttc"),
)
MARGIN = 15 * mm
PDF = "application/pdf"


class FontMissing(RuntimeError):
    """The CJK font is not installed: Chinese would print as empty boxes."""


@cache
def font() -> str:
    """Register the CJK font once per process and return its name."""
    for path in FONT_FILES:
        if path.exists():
            pdfmetrics.registerFont(TTFont(FONT, str(path), subfontIndex=0))
            return FONT
    raise FontMissing(
        "The Chinese font is missing: apt-get install fonts-wqy-microhei "
        f"(looked for {', '.join(str(p) for p in FONT_FILES)})"
    )


@cache
def styles() -> dict[str, ParagraphStyle]:
    """Title, line and cell styles in the CJK font (lines wrap between characters)."""
    name = font()
    base = ParagraphStyle("line", fontName=name, fontSize=10.5, leading=15, wordWrap="CJK")
    return {
        "title": ParagraphStyle("title", parent=base, fontSize=16, leading=22, spaceAfter=4),
        "line": base,
        "cell": ParagraphStyle("cell", parent=base, fontSize=9.5, leading=13),
        "head": ParagraphStyle(
            "head", parent=base, fontSize=9.5, leading=13, textColor=colors.white
        ),
        "note": ParagraphStyle("note", parent=base, fontSize=9, leading=13, textColor=colors.grey),
    }


@dataclass(frozen=True)
class Sheet:
    """One printed page (or more, if its table runs over): a class's notice, a receipt."""

    title: str
    lines: Sequence[str] = ()
    columns: Sequence[str] = ()
    rows: Sequence[Sequence[object]] = ()
    widths: Sequence[float] | None = None  # fractions of the text width, one per column
    closing: Sequence[str] = ()
    empty: str = ""  # said instead of the table when there are no rows
    numeric: frozenset[int] = field(default_factory=frozenset)  # right-aligned columns


def _escape(value: object) -> str:
    text = "" if value is None else str(value)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _table(sheet: Sheet, width: float) -> Table:
    style = styles()
    head = [Paragraph(_escape(column), style["head"]) for column in sheet.columns]
    body = [[Paragraph(_escape(cell), style["cell"]) for cell in row] for row in sheet.rows]
    fractions = sheet.widths or [1 / len(sheet.columns)] * len(sheet.columns)
    table = Table([head, *body], colWidths=[width * f for f in fractions], repeatRows=1)
    commands = [
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#2f5d8a")),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9aa5b1")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f2f5f8")]),
    ]
    commands += [("ALIGN", (column, 1), (column, -1), "RIGHT") for column in sheet.numeric]
    table.setStyle(TableStyle(commands))
    return table


def _story(sheets: Sequence[Sheet], width: float) -> list[object]:
    style, story = styles(), []
    for number, sheet in enumerate(sheets):
        if number:
            story.append(PageBreak())
        heading = [Paragraph(_escape(sheet.title), style["title"])]
        heading += [Paragraph(_escape(line), style["line"]) for line in sheet.lines]
        story.append(KeepTogether([*heading, Spacer(1, 4 * mm)]))
        if sheet.columns and sheet.rows:
            story.append(_table(sheet, width))
        elif sheet.empty:
            story.append(Paragraph(_escape(sheet.empty), style["line"]))
        if sheet.closing:
            story.append(Spacer(1, 6 * mm))
            story += [Paragraph(_escape(line), style["line"]) for line in sheet.closing]
    return story


def render(sheets: Sequence[Sheet], words: Words, title: str, printed_at: str) -> bytes:
    """The sheets as one A4 PDF, each page numbered and stamped with when it was printed."""
    out = io.BytesIO()
    name = font()
    footer = words("common.printed_at", when=printed_at)

    def decorate(canvas: object, document: SimpleDocTemplate) -> None:
        canvas.saveState()  # type: ignore[attr-defined]
        canvas.setFont(name, 8)  # type: ignore[attr-defined]
        canvas.setFillColor(colors.grey)  # type: ignore[attr-defined]
        canvas.drawString(MARGIN, 8 * mm, footer)  # type: ignore[attr-defined]
        page = words("common.page", page=document.page)
        canvas.drawRightString(A4[0] - MARGIN, 8 * mm, page)  # type: ignore[attr-defined]
        canvas.restoreState()  # type: ignore[attr-defined]

    document = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN + 5 * mm,
        title=title,
        author=words("common.library"),
    )
    sheets = sheets or [Sheet(title=title)]
    document.build(_story(sheets, document.width), onFirstPage=decorate, onLaterPages=decorate)
    return out.getvalue()
