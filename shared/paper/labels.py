"""Barcode labels and spine labels, drawn onto A4 label sheets as one PDF.

A barcode label (条码标签) carries the library's name and the campus, the copy's
barcode as Code 128 with the barcode in text under it (for the desk to type
when the scanner fails), and the title, shortened to one line. A spine label
(书标) carries the call number (索书号) as a spine shows it: the CLC class on
one line, the title's sequence mark (种次号) under it, big enough to read on the
shelf, and the campus. Where each label goes is ``label_sheets``' business; the
font is the printed forms' (``pdf.font``, embedded), so Chinese prints on any
printer.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from shared.paper.label_sheets import Layout, Place, places
from shared.paper.pdf import font
from shared.paper.words import Words

ELLIPSIS = "…"
# A Code 128 module no wider than this (a scanner reads it from a hand's length), and
# the bars at most this tall: a short wide label keeps its text legible.
WIDEST_MODULE = 0.38 * mm
TALLEST_BARS = 14 * mm


def fitted(text: str, size: float, width: float) -> str:
    """``text`` as it fits on one line of ``width`` points, cut with an ellipsis if not."""
    name = font()
    if stringWidth(text, name, size) <= width:
        return text
    while text and stringWidth(text + ELLIPSIS, name, size) > width:
        text = text[:-1]
    return text + ELLIPSIS


def _size(place: Place) -> float:
    """The small text's size on a label of this height (6 to 8 points)."""
    return max(6.0, min(8.0, place.height * mm * 0.085))


def _box(place: Place) -> tuple[float, float, float, float]:
    """The label's inside, in points from the page's bottom left: x, y, width, height."""
    pad = 2.5 * mm if place.width >= 60 else 2 * mm
    x = place.x * mm + pad
    y = A4[1] - (place.y + place.height) * mm + 1.5 * mm
    return x, y, place.width * mm - 2 * pad, place.height * mm - 3 * mm


def draw_barcode_label(canvas: Canvas, place: Place, copy: Mapping[str, Any], words: Words) -> None:
    """Library and campus on top, the bars, the barcode in text, the title."""
    name, size = font(), _size(place)
    x, y, width, height = _box(place)
    top = y + height - size
    canvas.setFont(name, size)
    canvas.drawString(x, top, fitted(words("labels.library"), size, width / 2))
    canvas.drawRightString(x + width, top, words(f"common.campus.{copy['campus']}"))
    big = size + 1
    title_y = y + 0.2 * size
    text_y = title_y + big * 1.25
    bars_bottom = text_y + big * 1.05
    room = top - 0.4 * size - bars_bottom
    bars_height = min(TALLEST_BARS, room)
    bars_bottom += (room - bars_height) / 2  # a tall label: the bars in the middle
    probe = Code128(copy["barcode"], barWidth=1, barHeight=bars_height, quiet=False)
    module = min(WIDEST_MODULE, width / probe.width)
    bars = Code128(copy["barcode"], barWidth=module, barHeight=bars_height, quiet=False)
    bars.drawOn(canvas, x + (width - bars.width) / 2, bars_bottom)
    canvas.setFont(name, big)
    canvas.drawCentredString(x + width / 2, text_y, copy["barcode"])
    canvas.drawCentredString(x + width / 2, title_y, fitted(copy["title"], big, width))


def call_number(copy: Mapping[str, Any]) -> tuple[str, str]:
    """The spine's two lines: the CLC class, and the title's sequence mark under it."""
    return copy["classification"], str(copy["mark"])


def draw_spine_label(canvas: Canvas, place: Place, copy: Mapping[str, Any], words: Words) -> None:
    """The call number in two big centred lines, a rule between them, the campus under."""
    name, small = font(), _size(place)
    x, y, width, height = _box(place)
    centre = x + width / 2
    campus_y = y + 0.2 * small
    room = height - small * 1.6  # above the campus line
    lines = call_number(copy)
    widest = max(stringWidth(line, name, 1) for line in lines)
    size = min(room / 2.6, 0.95 * width / widest)
    mark_y = campus_y + small * 1.6 + (room - 2.5 * size) / 2 + 0.15 * size
    class_y = mark_y + size * 1.3
    canvas.setFont(name, size)
    canvas.drawCentredString(centre, class_y, lines[0])
    canvas.drawCentredString(centre, mark_y, lines[1])
    rule = min(width, widest * size) / 2
    canvas.setLineWidth(0.6)
    canvas.line(centre - rule, mark_y + size * 1.0, centre + rule, mark_y + size * 1.0)
    canvas.setFont(name, small)
    canvas.drawCentredString(centre, campus_y, words(f"common.campus.{copy['campus']}"))


DRAW = {"barcode": draw_barcode_label, "spine": draw_spine_label}


def render(
    copies: Sequence[Mapping[str, Any]],
    layout: Layout,
    kind: str,
    words: Words,
    start: int = 1,
    pause: Callable[[], object] | None = None,
) -> bytes:
    """The copies' labels of ``kind`` on ``layout`` sheets, from label ``start`` of the
    first: one A4 page per sheet, to be printed at 100 % (no "fit to page").

    ``pause`` is called after each sheet: a server drawing 2,000 labels (about two
    seconds) passes its green thread's yield there, so other requests go on meanwhile.
    """
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, pageCompression=1)
    first, last = (copies[0]["barcode"], copies[-1]["barcode"]) if copies else ("", "")
    canvas.setTitle(
        words("labels.document", kind=words(f"labels.kinds.{kind}"), first=first, last=last)
    )
    canvas.setAuthor(words("labels.library"))
    draw, page = DRAW[kind], 0
    for place, copy in zip(places(layout, len(copies), start), copies, strict=True):
        if place.page != page:
            canvas.showPage()
            page = place.page
            if pause is not None:
                pause()
        canvas.saveState()
        draw(canvas, place, copy, words)
        canvas.restoreState()
    canvas.showPage()
    canvas.save()
    return out.getvalue()
