"""Labels over HTTP with the real services: a range of copies, a sheet, a PDF (issue 16).

The PDF is read back with pdftotext, as the librarian would see it: the
barcodes, the Chinese titles, one page per full sheet; the range's limit, a bad
layout, a range backwards and one with no copies are clear 4xx answers.
"""

from __future__ import annotations

import pytest

from services.catalog.schemas import MAX_LABELS
from shared.paper.label_sheets import LAYOUTS
from tests.integration.test_gateway import ALL_SERVICES, problem, start_gateway
from tests.paper import pdf_pages, squeezed

CAMEL = {
    "isbn": "9787020042494",
    "title": "骆驼祥子",
    "author": "老舍",
    "price": "26.00",
    "classification": "I246.57",
    "campus": "north",
    "shelf": "N-I-02",
}
RED = {
    "isbn": "978-7-02-000220-7",
    "title": "红楼梦",
    "author": "曹雪芹",
    "price": "59.70",
    "classification": "I242.4",
    "campus": "south",
    "shelf": "S-I-01",
}
SEA = {
    "isbn": "9787020049295",
    "title": "海底两万里",
    "author": "儒勒·凡尔纳",
    "price": "32.00",
    "classification": "I565.44",
    "campus": "north",
    "shelf": "N-I-05",
}
FOUR = {**CAMEL, "isbn": "9787020024759", "title": "四世同堂"}  # 老舍 too, the same class
PDF = "application/pdf"  # fmt: skip


@pytest.fixture
def api(runner_factory, config):
    return start_gateway(runner_factory, config, *ALL_SERVICES)


def catalogue(api) -> list[str]:
    """26 copies: 20 of 骆驼祥子 at north, 4 of 红楼梦 at south, 2 of 海底两万里 at north."""
    return api.add_books(20, **CAMEL) + api.add_books(4, **RED) + api.add_books(2, **SEA)


def labels(api, first, last, role="librarian", **params):
    return api.get("/api/labels", role=role, params={"from": first, "to": last, **params})


def test_barcode_labels_for_a_range_fill_a_sheet_a_page_with_barcodes_and_chinese_titles(api):
    barcodes = catalogue(api)
    answer = labels(api, barcodes[0], barcodes[-1], layout="a4-3x8")
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"] == PDF
    disposition = answer.headers["Content-Disposition"]
    assert disposition == f'attachment; filename="labels-barcode-{barcodes[0]}-{barcodes[-1]}.pdf"'
    pages = pdf_pages(answer.content)
    assert len(pages) == 2  # 26 labels: a full sheet of 24, then 2
    first, second = squeezed(pages[0]), squeezed(pages[1])
    assert all(barcode in first for barcode in barcodes[:24])
    assert barcodes[24] not in first and barcodes[24] in second and barcodes[25] in second
    assert first.count("骆驼祥子") == 20 and first.count("红楼梦") == 4
    assert second.count("海底两万里") == 2
    assert "图书馆" in first and "北区" in first and "南区" in first

    # Part of the range, on a part-used 4x10 sheet from its 39th label: two pages.
    answer = labels(api, barcodes[20], barcodes[23], layout="a4-4x10", start=39)
    assert answer.status_code == 200, answer.text
    pages = [squeezed(page) for page in pdf_pages(answer.content)]
    assert len(pages) == 2
    assert barcodes[20] in pages[0] and barcodes[21] in pages[0]
    assert barcodes[22] in pages[1] and barcodes[23] in pages[1] and barcodes[19] not in pages[0]


def test_spine_labels_show_the_clc_class_and_the_titles_sequence_mark(api):
    barcodes = catalogue(api)
    later = api.add_books(1, **FOUR) + api.add_books(1, **CAMEL)  # 2nd title of I246.57
    answer = labels(api, barcodes[18], later[-1], kind="spine", layout="a4-4x10")
    assert answer.status_code == 200, answer.text
    assert "labels-spine-" in answer.headers["Content-Disposition"]
    [page] = pdf_pages(answer.content)
    rows = [line.split() for line in page.splitlines() if line.strip()]
    # Row by row, four labels a row: the class on top, the mark under it, the campus.
    assert rows[0] == ["I246.57", "I246.57", "I242.4", "I242.4"]
    assert rows[1] == ["1", "1", "1", "1"]
    assert rows[3] == ["I242.4", "I242.4", "I565.44", "I565.44"]
    assert rows[6] == ["I246.57", "I246.57"] and rows[7] == ["2", "1"]  # 四世同堂, 骆驼祥子
    assert squeezed(page).count("北区") == 6 and squeezed(page).count("南区") == 4

    english = labels(api, barcodes[0], barcodes[0], kind="spine", lang="en")
    assert "North campus" in pdf_pages(english.content)[0]


def test_a_range_over_the_limit_is_refused_naming_it(api):
    body = problem(labels(api, "C00000001", "C00100000"), 400)
    assert body["code"] == "label_range_too_large" and body["limit"] == MAX_LABELS
    assert str(MAX_LABELS) in body["detail"] and "to" in body["errors"]
    barcodes = catalogue(api)
    number = int(barcodes[0][1:])
    edge = labels(api, barcodes[0], f"C{number + MAX_LABELS - 1:08d}")  # the limit: printed
    assert edge.status_code == 200, edge.text


def test_bad_ranges_and_layouts_are_clear_answers(api):
    barcodes = catalogue(api)
    body = problem(labels(api, barcodes[0], barcodes[1], layout="a4-9x9"), 400)
    assert all(name in body["errors"]["layout"][0] for name in LAYOUTS)
    body = problem(labels(api, barcodes[5], barcodes[1]), 400)
    assert body["code"] == "label_range_reversed"
    body = problem(labels(api, barcodes[0], "NB-0001"), 400)
    assert body["code"] == "label_range_mixed"
    body = problem(labels(api, "C90000001", "C90000100"), 404)
    assert body["code"] == "label_range_empty"
    body = problem(labels(api, barcodes[0], barcodes[1], layout="a4-3x8", start=25), 400)
    assert list(body["errors"]) == ["start"] and "24 labels" in body["errors"]["start"][0]
    for start in (0, 41):  # the documented bounds, the largest sheet's 40 labels
        assert list(problem(labels(api, barcodes[0], barcodes[1], start=start), 400)["errors"]) == [
            "start"
        ]
    last = labels(api, barcodes[0], barcodes[1], layout="a4-4x10", start=40)
    assert last.status_code == 200 and len(pdf_pages(last.content)) == 2
    body = problem(labels(api, barcodes[0], barcodes[1], format="csv"), 400)
    assert body["code"] == "format_unsupported"
    problem(labels(api, barcodes[0], barcodes[1], role="reader"), 403)


def test_the_layouts_are_listed_with_their_sizes(api):
    answer = api.get("/api/labels/layouts")
    assert answer.status_code == 200, answer.text
    listed = answer.json()
    assert listed["default"] == "a4-3x8" and listed["layouts"][0]["name"] == "a4-3x8"
    assert {layout["name"] for layout in listed["layouts"]} == set(LAYOUTS)
    small = next(layout for layout in listed["layouts"] if layout["name"] == "a4-4x10")
    assert (small["columns"], small["rows"], small["per_sheet"]) == (4, 10, 40)
    assert (small["label_width_mm"], small["label_height_mm"]) == (48.5, 25.4)
    assert listed["kinds"] == ["barcode", "spine"] and listed["max_labels"] == MAX_LABELS
