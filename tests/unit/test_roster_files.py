"""Rosters as schools have them: GBK or UTF-8 (BOM or not) CSV, XLSX, Chinese headers."""

import io

import openpyxl
import pytest

from services.circulation.roster import class_of, read_roster
from shared.config import REPO_ROOT
from shared.roster_files import CSV, XLSX, UnknownCharset, UnreadableRoster, decode_roster

CHINESE = (
    "姓名,身份,班级,校区,学号\n"
    "王芳,学生,初一(3)班,北区,S70301\n"
    "李老师,教师,,南区,\n"
    "赵磊,学生,三年级二组,北区,\n"
    "钱多,学生,高二(5)班,东区,\n"
    "孙悦,校长,G8-1,南区,\n"
    "图书角,班级图书角,七年级3班,北区,\n"
)


def xlsx(rows):
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("written", "system"),
    [
        ("初一(3)班", "G7-3"),
        ("初一（3）班", "G7-3"),
        ("初三(12)班", "G9-12"),
        ("七年级3班", "G7-3"),
        ("高二(5)班", "G11-5"),
        ("高一1班", "G10-1"),
        ("一年级2班", "G1-2"),
        ("9年级1班", "G9-1"),
        ("G7-3", "G7-3"),
        (" g7-3 ", "G7-3"),
    ],
)
def test_each_way_a_school_writes_a_class_maps_to_one_system_class(written, system):
    assert class_of(written) == system


@pytest.mark.parametrize(
    "written", ["初四(1)班", "十年级1班", "9-3", "G13-1", "七年级", "3班", "G7-0"]
)
def test_anything_else_is_no_class(written):
    assert class_of(written) is None


def test_gbk_bytes_with_chinese_headers_keep_good_rows_and_report_bad_ones_by_line():
    text = decode_roster(CHINESE.encode("gbk"), CSV)
    roster = read_roster(text)
    assert [(line, card["name"], card["class_name"]) for line, card in roster.cards] == [
        (2, "王芳", "G7-3"),
        (3, "李老师", None),
        (7, "图书角", "G7-3"),
    ]
    kinds = {card["name"]: (card["kind"], card["campus"]) for _, card in roster.cards}
    assert kinds["李老师"] == ("teacher", "south") and kinds["图书角"][0] == "class_corner"
    errors = {error["line"]: error["errors"] for error in roster.errors}
    assert sorted(errors) == [4, 5, 6]
    assert "三年级二组" in errors[4]["class"][0]
    assert "东区" in errors[5]["campus"][0] and "class" not in errors[5]
    assert "校长" in errors[6]["kind"][0]


def test_utf8_with_and_without_bom_and_a_stated_charset():
    assert decode_roster(b"\xef\xbb\xbf" + CHINESE.encode(), CSV) == CHINESE
    assert decode_roster(CHINESE.encode(), CSV) == CHINESE
    assert decode_roster(CHINESE.encode("gb18030"), CSV, "GB18030") == CHINESE
    assert decode_roster(b"\xef\xbb\xbf" + CHINESE.encode(), CSV, "utf-8") == CHINESE
    assert decode_roster(CHINESE.encode("gbk"), CSV, "gbk") == CHINESE


def test_english_headers_still_read():
    roster = read_roster("name,kind,class,campus\nAnna,student,G7-3,north\n")
    assert roster.cards[0][1]["class_name"] == "G7-3" and not roster.errors


def test_an_xlsx_sheet_is_read_row_by_row_with_its_row_numbers():
    raw = xlsx(
        [
            ["姓名", "类型", "班级", "校区", "借书证号"],
            ["王芳", "学生", "初一（3）班", "北区", 2023070301],
            [None, None, None, None, None],
            ["赵磊", "学生", "三年级二组", "北区", None],
            ["多行\n名字", "学生", "高二(5)班", "南区", None],
        ]
    )
    roster = read_roster(decode_roster(raw, XLSX))
    assert [(line, card["patron_id"], card["class_name"]) for line, card in roster.cards] == [
        (2, "2023070301", "G7-3"),
        (5, None, "G11-5"),
    ]
    assert roster.cards[1][1]["name"] == "多行 名字"
    assert [error["line"] for error in roster.errors] == [4]


@pytest.mark.parametrize(
    ("raw", "media", "charset", "words"),
    [
        (b"PK\x03\x04 not really a zip", XLSX, None, "corrupt"),
        (b"name,kind\n", XLSX, None, "corrupt"),
        (b"\x00\x01\x02", CSV, None, "NUL"),
        ("姓名".encode("gbk") + b"\xff\xff\xff", CSV, None, "nor GBK"),
        (CHINESE.encode("gbk"), CSV, "utf-8", "not utf-8"),
        (b"", "application/pdf", None, "application/pdf"),
    ],
)
def test_files_that_are_no_roster_are_refused_naming_the_problem(raw, media, charset, words):
    with pytest.raises(UnreadableRoster, match=words):
        decode_roster(raw, media, charset)


def test_an_xlsx_sent_as_csv_is_named():
    with pytest.raises(UnreadableRoster, match="XLSX"):
        decode_roster(xlsx([["name"]]), CSV)


def test_an_unknown_charset_is_named():
    with pytest.raises(UnknownCharset, match="klingon"):
        decode_roster(b"name\n", CSV, "klingon")


@pytest.mark.parametrize(("path", "media"), [("roster-gbk.csv", CSV), ("roster.xlsx", XLSX)])
def test_the_example_files_in_docs_read_as_docs_rosters_md_says(path, media):
    raw = (REPO_ROOT / "examples" / "rosters" / path).read_bytes()
    roster = read_roster(decode_roster(raw, media))
    assert [line for line, _ in roster.cards] == [2, 3, 4, 5, 6, 7, 8]
    assert [error["line"] for error in roster.errors] == [9]
    assert [card["class_name"] for _, card in roster.cards] == [
        "G7-3", "G7-3", "G7-3", "G11-5", "G1-2", None, "G7-3"
    ]  # fmt: skip


@pytest.mark.parametrize("written", ["初一3班", "7年级(3)班"])
def test_the_other_forms_docs_rosters_md_lists(written):
    assert class_of(written) == "G7-3"
