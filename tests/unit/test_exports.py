"""Lists as files: CSV that Excel on Chinese Windows opens right, XLSX with real dates and
money, formulas never run, headers in the asked language; the gateway's ?format= rules."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal

import openpyxl
import pytest

from services.gateway import formats, lists, prints
from services.gateway.exports import disposition, pages
from services.gateway.problems import InvalidRequest
from shared.paper.classes import written_class
from shared.paper.tables import (
    BOM,
    CLASS,
    DATE,
    INTEGER,
    MONEY,
    Column,
    Table,
    csv_bytes,
    csv_chunks,
    neutralise,
    xlsx_bytes,
)
from shared.paper.words import Words
from tests.paper import pdf_pages, squeezed

PURCHASES = Table(
    "purchases",
    (
        Column("purchased_on", DATE),
        Column("title"),
        Column("copies", INTEGER),
        Column("unit_price", MONEY),
        Column("class_name", CLASS),
    ),
)
ROWS = [
    ["2026-10-12", "红楼梦", 3, "39.50", "G7-3"],
    ["2026-10-13", '=HYPERLINK("http://x")', 1, "-3.00", None],
    ["2026-10-14", "@SUM(A1)", "2", "12.345", "G12-5"],
]
HOSTILE = ["=1+1", "+1", "-1", "@cmd", "\tx", "\rx"]


def read_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_csv_starts_with_a_bom_has_crlf_and_chinese_headers():
    data = csv_bytes(PURCHASES, ROWS, Words("zh-CN"))
    assert data.startswith(BOM.encode("utf-8"))
    data.decode("utf-8")  # opens as UTF-8
    assert b"\r\n" in data and data.count(b"\r\n") == 1 + len(ROWS)
    rows = read_csv(data)
    assert rows[0] == ["购入日期", "书名", "册数", "单价", "班级"]
    assert rows[1] == ["2026-10-12", "红楼梦", "3", "39.50", "初一(3)班"]
    assert rows[3][3] == "12.35" and rows[3][4] == "高三(5)班"  # money: two places, half up


def test_english_headers_with_lang_en():
    rows = read_csv(csv_bytes(PURCHASES, ROWS, Words("en")))
    assert rows[0] == ["Purchased on", "Title", "Copies", "Unit price", "Class"]
    assert rows[1][4] == "Grade 7 Class 3"


def test_formula_cells_are_neutralised_but_negative_money_stays_a_number():
    rows = read_csv(csv_bytes(PURCHASES, ROWS, Words()))
    assert rows[2][1] == '\'=HYPERLINK("http://x")'
    assert rows[3][1] == "'@SUM(A1)"
    assert rows[2][3] == "-3.00"  # a number typed as one, not text
    assert [neutralise(text) for text in HOSTILE] == ["'" + text for text in HOSTILE]
    assert neutralise("王小明") == "王小明"
    # A date column holding text that is no date is text, neutralised like any other.
    odd = csv_bytes(Table("x", (Column("lent_on", DATE),)), [["-1"]], Words())
    assert read_csv(odd)[1] == ["'-1"]


def test_csv_is_made_a_chunk_at_a_time():
    many = ([f"2026-10-{1 + n % 28:02d}", f"书{n}", n, "1.00", "G7-1"] for n in range(1200))
    chunks = list(csv_chunks(PURCHASES, many, Words(), lines=500))
    assert len(chunks) == 3  # the header and 500 rows, 500, the last 200
    assert len(read_csv(b"".join(chunks))) == 1201


def test_xlsx_reads_back_with_dates_money_and_bold_frozen_chinese_headers():
    book = openpyxl.load_workbook(io.BytesIO(xlsx_bytes(PURCHASES, ROWS, Words())))
    sheet = book.active
    assert sheet.title == "购书情况登记表" and sheet.freeze_panes == "A2"
    header = [cell.value for cell in sheet[1]]
    assert header == ["购入日期", "书名", "册数", "单价", "班级"]
    assert all(cell.font.bold for cell in sheet[1])
    first = sheet[2]
    assert isinstance(first[0].value, datetime) and first[0].value.date() == date(2026, 10, 12)
    assert first[0].number_format == "yyyy-mm-dd"
    assert first[2].value == 3 and isinstance(first[2].value, int)
    assert first[3].value == 39.5 and first[3].number_format == "0.00"
    assert first[4].value == "初一(3)班"
    second = sheet[3]
    assert second[1].value == '\'=HYPERLINK("http://x")' and second[1].data_type == "s"
    assert second[3].value == -3.0 and second[3].data_type == "n"
    assert sheet.column_dimensions["B"].width >= 10


def test_xlsx_headers_in_english():
    book = openpyxl.load_workbook(io.BytesIO(xlsx_bytes(PURCHASES, ROWS, Words("en"))))
    assert [cell.value for cell in book.active[1]][:2] == ["Purchased on", "Title"]


def test_every_column_a_list_names_is_worded_in_both_languages():
    codes = set(lists.COLUMNS) | {"section", "item", "value", "patron_id", "teacher", "loan_id"}
    for board in lists.BOARDS.values():
        codes |= set(board)
    for language in ("zh-CN", "en"):
        words = Words(language)
        missing = [code for code in codes if not words.has(f"exports.columns.{code}")]
        assert missing == [], language


def test_format_is_the_gateways_and_an_unsupported_one_names_those_there_are():
    offered = formats.produces("csv", "xlsx")
    query = {"format": "xlsx", "lang": "en", "campus": "north"}
    assert formats.negotiate(offered, query, None) == (formats.XLSX, "en")
    assert query == {"campus": "north"}  # the service's schema never sees them
    assert formats.negotiate(offered, {}, "en-GB,en;q=0.8") == (None, "en")
    assert formats.negotiate(offered, {}, None) == (None, "zh-CN")
    with pytest.raises(InvalidRequest) as refused:
        formats.negotiate(offered, {"format": "pdf"}, None)
    assert refused.value.code == "format_unsupported"
    assert refused.value.members == {"formats": "json, csv, xlsx"}


def test_the_file_name_is_ascii_with_the_chinese_one_beside_it():
    header = disposition("购书情况登记表-north", "purchases-north", "xlsx")
    assert header.startswith('attachment; filename="purchases-north.xlsx"; ')
    assert "filename*=UTF-8''%E8%B4%AD" in header
    header.encode("latin-1")  # a header's bytes


def test_pages_are_asked_one_after_the_other_as_rows_are_read():
    asked = []

    def fetch(limit, offset):
        asked.append(offset)
        rows = [[n] for n in range(offset, min(offset + limit, 5))]
        return {"rows": rows, "total": 5, "limit": limit}

    rows = pages(fetch, limit=2)
    assert next(rows) == [0] and asked == [0]
    assert [row[0] for row in rows] == [1, 2, 3, 4] and asked == [0, 2, 4]


def test_a_class_is_written_as_schools_write_it():
    words = Words()
    assert [written_class(c, words) for c in ("G7-3", "G12-5", "G1-2", "(staff)", "x")] == [
        "初一(3)班",
        "高三(5)班",
        "一年级(2)班",
        "教职工",
        "x",
    ]


def test_overdue_notices_print_a_page_per_class_with_the_class_teacher():
    from shared.paper.pdf import render

    loan = {"name": "王小明", "title": "红楼梦", "isbn": "9787020002207", "barcode": "N0001",
            "due_on": "2026-11-20", "days_overdue": 17}  # fmt: skip
    answer = {"on": "2026-12-07", "classes": [
        {"class_name": "G7-3", "loans": [loan]},
        {"class_name": "G8-1", "loans": [{**loan, "name": "李华", "barcode": "N0002"}]},
    ]}  # fmt: skip
    words = Words()
    sheets = prints.overdue(answer, {"G7-3": "张丽"})(words)
    text = pdf_pages(render(sheets, words, "逾期", "2026-12-07 08:00"))
    assert len(text) == 2
    first, second = (squeezed(page) for page in text)
    assert "初一(3)班" in first and "张丽老师" in first and "王小明" in first and "N0001" in first
    assert "初二(1)班" in second and "李华" in second and "张丽" not in second


def test_money_from_a_decimal_and_an_int_stays_two_places():
    table = Table("t", (Column("unit_price", MONEY),))
    assert read_csv(csv_bytes(table, [[Decimal("5")], [7]], Words()))[1:] == [["5.00"], ["7.00"]]
