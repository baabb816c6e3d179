"""A4 label sheets as data, and where each label of a run falls on them.

Schools buy sheets of self-adhesive labels by their grid (3 across and 8 down
of 70 × 37 mm, ...): a layout names one such sheet and gives its geometry in
millimetres, measured from the sheet's top left corner, as the sheet's maker
prints it on the packet. Nothing here draws (see ``shared/paper/labels.py``),
so the catalog's schemas can name the layouts without loading reportlab.

A run of labels fills the sheet row by row, left to right, from ``start`` (the
first free label of a part-used sheet, counted from 1 the same way) and goes on
to as many full sheets as it needs.
"""

from __future__ import annotations

from dataclasses import dataclass

A4_MM = (210.0, 297.0)


@dataclass(frozen=True)
class Layout:
    """One kind of label sheet: the grid, a label's size, the margins and gaps (mm)."""

    name: str
    columns: int
    rows: int
    width: float  # one label
    height: float
    left: float  # from the sheet's left edge to the first column
    top: float  # from the sheet's top edge to the first row
    gap_x: float = 0.0  # between two columns
    gap_y: float = 0.0  # between two rows

    @property
    def per_sheet(self) -> int:
        return self.columns * self.rows


@dataclass(frozen=True)
class Place:
    """Where one label goes: its page (from 0) and its box in mm from the top left."""

    page: int
    x: float
    y: float
    width: float
    height: float


LAYOUTS: dict[str, Layout] = {
    layout.name: layout
    for layout in (
        # 24 labels, edge to edge across (the most common Chinese office sheet).
        Layout("a4-3x8", columns=3, rows=8, width=70.0, height=37.0, left=0.0, top=0.5),
        # 21 labels with rounded corners (L7160 and its many equivalents).
        Layout(
            "a4-3x7", columns=3, rows=7, width=63.5, height=38.1, left=7.2, top=15.15, gap_x=2.5
        ),
        # 40 small labels: a spine label, or a barcode for a thin book.
        Layout("a4-4x10", columns=4, rows=10, width=48.5, height=25.4, left=8.0, top=21.5),
        # 14 wide labels (L7163).
        Layout(
            "a4-2x7", columns=2, rows=7, width=99.1, height=38.1, left=4.65, top=15.15, gap_x=2.5
        ),
    )
}
DEFAULT_LAYOUT = "a4-3x8"
MOST_PER_SHEET = max(layout.per_sheet for layout in LAYOUTS.values())


def sheets_needed(layout: Layout, labels: int, start: int = 1) -> int:
    """How many sheets ``labels`` labels take, the first from label ``start`` on."""
    if labels <= 0:
        return 0
    return (start - 1 + labels - 1) // layout.per_sheet + 1


def places(layout: Layout, labels: int, start: int = 1) -> list[Place]:
    """Where each of ``labels`` labels goes, in order, the first at position ``start``."""
    if not 1 <= start <= layout.per_sheet:
        raise ValueError(f"start must be from 1 to {layout.per_sheet} on {layout.name}")
    found = []
    for number in range(start - 1, start - 1 + labels):
        page, slot = divmod(number, layout.per_sheet)
        row, column = divmod(slot, layout.columns)
        found.append(
            Place(
                page=page,
                x=layout.left + column * (layout.width + layout.gap_x),
                y=layout.top + row * (layout.height + layout.gap_y),
                width=layout.width,
                height=layout.height,
            )
        )
    return found


def describe(layout: Layout) -> dict[str, object]:
    """A layout as the API lists it."""
    return {
        "name": layout.name,
        "columns": layout.columns,
        "rows": layout.rows,
        "per_sheet": layout.per_sheet,
        "label_width_mm": layout.width,
        "label_height_mm": layout.height,
        "left_mm": layout.left,
        "top_mm": layout.top,
        "gap_x_mm": layout.gap_x,
        "gap_y_mm": layout.gap_y,
    }
