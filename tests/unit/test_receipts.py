"""The receipt for a lost book's payment: amounts in capitals (大写) and the printed page."""

from decimal import Decimal
from pathlib import Path

import pytest

from shared.paper.pdf import render
from shared.paper.receipts import in_capitals, receipt_sheet
from shared.paper.words import Words
from tests.paper import pdf_pages, squeezed


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("12.50", "壹拾贰元伍角整"),
        ("59.70", "伍拾玖元柒角整"),
        ("12.00", "壹拾贰元整"),
        ("12.35", "壹拾贰元叁角伍分"),
        ("100.05", "壹佰元零伍分"),
        ("0.50", "伍角整"),
        ("0.05", "伍分"),
        ("0", "零元整"),
        ("1005", "壹仟零伍元整"),
        ("1010.10", "壹仟零壹拾元壹角整"),
        ("10050", "壹万零伍拾元整"),
        ("100000", "壹拾万元整"),
        ("120003.40", "壹拾贰万零叁元肆角整"),
        ("999999.99", "玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
    ],
)
def test_amounts_in_capitals_as_chinese_receipts_write_them(amount, words):
    assert in_capitals(Decimal(amount)) == words
    assert in_capitals(amount) == words


def test_a_negative_amount_has_no_capitals():
    with pytest.raises(ValueError, match="negative"):
        in_capitals("-1")


PAYMENT = {
    "receipt_no": "2026-000007",
    "loan_id": "L1",
    "patron_id": "P0000123",
    "name": "王小明",
    "class_name": "G7-3",
    "barcode": "C00000042",
    "title": "红楼梦",
    "isbn": "9787020002207",
    "campus": "north",
    "replacement_cost": "12.50",
    "amount": "5.00",
    "balance": "7.50",
    "paid_at": "2026-12-07T02:30:00+00:00",
    "taken_by": "李老师",
    "taken_by_username": "li",
}


def test_the_printed_receipt_shows_reader_book_amounts_and_who_took_it():
    words = Words("zh-CN")
    (page,) = pdf_pages(render([receipt_sheet(PAYMENT, words)], words, "收据", "2026-12-07"))
    text = squeezed(page)
    for shown in (
        "丢失图书赔偿收据",
        "北区图书馆",
        "收据号：2026-000007",
        "2026年12月7日",
        "王小明（初一(3)班）",
        "红楼梦",
        "C00000042",
        "¥5.00",
        "伍元整",
        "¥7.50",
        "收款人李老师",
    ):
        assert shown in text, shown


def test_a_settled_receipt_in_english_says_so():
    words = Words("en")
    settled = {**PAYMENT, "amount": "12.50", "balance": "0.00", "class_name": None}
    (page,) = pdf_pages(render([receipt_sheet(settled, words)], words, "Receipt", "now"))
    assert "Receipt for a lost book" in page and "paid for in full" in page
    assert "壹拾贰元伍角整" in squeezed(page) and "2026-12-07" in page


def test_the_example_receipt_in_the_docs_reads_back_as_they_say():
    example = Path(__file__).resolve().parents[2] / "examples/receipts/receipt-2026-000007.pdf"
    (page,) = pdf_pages(example.read_bytes())
    assert "收据号：2026-000007" in squeezed(page) and "伍元整" in squeezed(page)
