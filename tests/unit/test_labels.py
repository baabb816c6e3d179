"""Labels on A4 sheets: where each one goes, how many sheets a run takes, what a label
reads, and which ranges the catalog refuses before it looks anything up."""

import json

import pytest
from marshmallow import ValidationError

from services.catalog import schemas
from services.catalog.labels import barcode_range
from shared.config import REPO_ROOT
from shared.errors import BadRequest
from shared.paper.label_sheets import A4_MM, LAYOUTS, places, sheets_needed
from shared.paper.labels import fitted, render
from shared.paper.words import Words
from tests.paper import pdf_pages, squeezed


def copies(count: int, first: int = 1) -> list[dict]:
    return [
        {
            "barcode": f"C{number:08d}",
            "title": "骆驼祥子" if number % 2 else "红楼梦",
            "classification": "I246.5" if number % 2 else "I242.4",
            "campus": "north" if number % 2 else "south",
            "mark": number,
        }
        for number in range(first, first + count)
    ]


# ------------------------------------------------------------------ the sheets


@pytest.mark.parametrize("layout", LAYOUTS.values(), ids=list(LAYOUTS))
def test_every_label_of_a_sheet_lies_on_the_a4_page_and_none_overlaps(layout):
    found = places(layout, layout.per_sheet)
    assert {place.page for place in found} == {0}
    for place in found:
        assert 0 <= place.x and place.x + place.width <= A4_MM[0] + 0.01, place
        assert 0 <= place.y and place.y + place.height <= A4_MM[1] + 0.01, place
    boxes = {(round(p.x, 2), round(p.y, 2)) for p in found}
    assert len(boxes) == layout.per_sheet
    for one in found:
        for other in found:
            if one is not other:
                apart_x = min(one.x + one.width - other.x, other.x + other.width - one.x)
                apart_y = min(one.y + one.height - other.y, other.y + other.height - one.y)
                assert min(apart_x, apart_y) < 1e-6, (one, other)


def test_the_layouts_are_the_sheets_schools_buy():
    sizes = {name: (s.columns, s.rows, s.width, s.height) for name, s in LAYOUTS.items()}
    assert sizes["a4-3x8"] == (3, 8, 70.0, 37.0)
    assert sizes["a4-3x7"] == (3, 7, 63.5, 38.1)
    assert sizes["a4-4x10"] == (4, 10, 48.5, 25.4)
    assert sizes["a4-2x7"] == (2, 7, 99.1, 38.1)
    for layout in LAYOUTS.values():  # the grid is centred on the sheet, within half a mm
        right = A4_MM[0] - layout.left - layout.columns * layout.width
        right -= (layout.columns - 1) * layout.gap_x
        assert abs(right - layout.left) < 0.5, layout.name


def test_labels_fill_rows_left_to_right_then_the_next_sheet():
    layout = LAYOUTS["a4-3x8"]
    found = places(layout, 25)
    assert [p.page for p in found] == [0] * 24 + [1]
    assert (found[0].x, found[0].y) == (0.0, 0.5)
    assert (found[1].x, found[3].y) == (70.0, 37.5)
    assert (found[24].x, found[24].y) == (found[0].x, found[0].y)


@pytest.mark.parametrize(
    ("labels", "start", "sheets"),
    [(0, 1, 0), (1, 1, 1), (24, 1, 1), (25, 1, 2), (48, 1, 2), (49, 1, 3), (20, 5, 1),
     (21, 5, 2), (1, 24, 1), (2, 24, 2)],
)  # fmt: skip
def test_a_run_takes_as_many_sheets_as_it_fills(labels, start, sheets):
    layout = LAYOUTS["a4-3x8"]
    assert sheets_needed(layout, labels, start) == sheets
    assert len({p.page for p in places(layout, labels, start)}) == sheets


def test_a_part_used_sheet_starts_at_its_first_free_label():
    layout = LAYOUTS["a4-4x10"]
    found = places(layout, 3, start=6)  # the second row's second label
    full = places(layout, 8)
    assert found == full[5:8]
    with pytest.raises(ValueError, match="1 to 40"):
        places(layout, 3, start=41)


# ------------------------------------------------------------------ the PDF


def test_a_sheet_of_barcode_labels_reads_back_with_its_barcodes_and_chinese_titles():
    layout = LAYOUTS["a4-3x8"]
    printed = pdf_pages(render(copies(30), layout, "barcode", Words("zh-CN")))
    assert len(printed) == 2
    first = squeezed(printed[0])
    assert all(f"C{n:08d}" in first for n in range(1, 25)) and "C00000025" not in first
    assert "骆驼祥子" in first and "红楼梦" in first
    assert "图书馆" in first and "北区" in first and "南区" in first
    assert "C00000030" in squeezed(printed[1])


def test_spine_labels_show_the_class_over_the_mark_and_english_words_when_asked():
    printed = pdf_pages(render(copies(3), LAYOUTS["a4-4x10"], "spine", Words("en"), start=39))
    assert len(printed) == 2
    lines = [line.strip() for line in printed[0].splitlines() if line.strip()]
    assert lines[0].split() == ["I246.5", "I242.4"]
    assert lines[1].split() == ["1", "2"]
    assert "North campus" in printed[0] and "South campus" in printed[0]
    assert "I246.5" in printed[1] and "3" in printed[1]


def test_a_long_title_is_cut_to_the_label_with_an_ellipsis():
    title = "中华人民共和国义务教育课程标准实验教科书配套阅读丛书"
    cut = fitted(title, 8, 100)
    assert cut.endswith("…") and title.startswith(cut[:-1]) and len(cut) < len(title)
    assert fitted("红楼梦", 8, 100) == "红楼梦"


# ------------------------------------------------------------------ the range


def test_a_range_is_one_series_in_order_within_the_limit():
    assert barcode_range("C00000001", "C00000030") == ("C", 1, 30)
    assert barcode_range("NB-0099", "NB-0100") == ("NB-", 99, 100)
    limit = schemas.MAX_LABELS
    assert barcode_range("C00000001", f"C{limit:08d}") == ("C", 1, limit)
    refusals = [
        (("C00000001", f"C{limit + 1:08d}"), "label_range_too_large"),
        (("C00000001", "C00100000"), "label_range_too_large"),
        (("C00000009", "C00000002"), "label_range_reversed"),
        (("C00000001", "D00000002"), "label_range_mixed"),
        (("ABC", "ABD"), "label_range_mixed"),
    ]
    for (first, last), code in refusals:
        with pytest.raises(BadRequest) as refused:
            barcode_range(first, last)
        assert refused.value.code == code, (first, last)
    with pytest.raises(BadRequest, match=str(limit)) as refused:
        barcode_range("C00000001", "C00100000")
    assert refused.value.members == {"limit": limit}


def test_the_query_names_the_layouts_and_keeps_start_on_the_sheet():
    query = schemas.LabelRange()
    loaded = query.load({"from": "C00000001", "to": "C00000002"})
    assert loaded == {
        "first": "C00000001",
        "last": "C00000002",
        "layout": "a4-3x8",
        "kind": "barcode",
        "start": 1,
    }
    with pytest.raises(ValidationError) as bad:
        query.load({"from": "C00000001", "to": "C00000002", "layout": "a4-9x9"})
    assert all(name in str(bad.value.messages["layout"]) for name in LAYOUTS)
    with pytest.raises(ValidationError) as bad:
        query.load({"from": "C00000001", "to": "C00000002", "layout": "a4-3x8", "start": 25})
    assert "24 labels" in str(bad.value.messages["start"])
    assert query.load({"from": "C1X", "to": "C2X", "layout": "a4-4x10", "start": 40})


def test_the_refusals_are_worded_on_the_screens():
    for language in ("zh-CN", "en"):
        path = REPO_ROOT / "web" / "src" / "locales" / language / "problems.json"
        problems = json.loads(path.read_text(encoding="utf-8"))
        limit = problems["label_range_too_large"]  # no placeholders: the number itself
        assert str(schemas.MAX_LABELS) in limit or f"{schemas.MAX_LABELS:,}" in limit
        for code in ("label_range_mixed", "label_range_reversed", "label_range_empty"):
            assert problems[code], code


def test_the_examples_in_the_docs_read_back_as_they_say():
    folder = REPO_ROOT / "examples" / "labels"
    [barcodes] = pdf_pages((folder / "barcode-a4-3x8.pdf").read_bytes())
    text = squeezed(barcodes)
    assert all(f"C{n:08d}" in text for n in range(101, 107))
    assert "红楼梦" in text and "教科…" in text
    [spines] = pdf_pages((folder / "spine-a4-4x10.pdf").read_bytes())
    assert "I246.57" in spines and "Z228.1" in spines and "北区" in squeezed(spines)


def test_a_long_run_pauses_after_each_sheet_so_a_server_serves_others_meanwhile():
    paused = []
    render(copies(50), LAYOUTS["a4-3x8"], "barcode", Words(), pause=lambda: paused.append(1))
    assert len(paused) == 2  # 24, 24, then 2: after the first sheet and the second
