"""The MARC reader and writer (services/catalog/marc.py): both formats, Chinese titles,
prices as suppliers write them, bad records refused by number, corrupt files whole."""

from __future__ import annotations

import pytest
from pymarc import Field, MARCReader, Record, Subfield

from services.catalog import marc


def cnmarc(isbn, title, author, clc, price):
    record = Record(force_utf8=True, leader="     nam a22     3  4500")
    record.add_field(
        Field("010", [" ", " "], [Subfield("a", isbn), Subfield("d", price)]),
        Field("200", ["1", " "], [Subfield("a", title), Subfield("f", author)]),
        Field("210", [" ", " "], [Subfield("c", "人民文学出版社")]),
        Field("690", [" ", " "], [Subfield("a", clc)]),
        Field("701", [" ", "0"], [Subfield("a", author)]),
    )
    return record.as_marc()


def marc21(isbn, title, author, clc, price):
    record = Record(force_utf8=True, leader="     nam a22     3  4500")
    record.add_field(
        Field("020", [" ", " "], [Subfield("a", isbn), Subfield("c", price)]),
        Field("084", [" ", " "], [Subfield("a", clc), Subfield("2", "clc")]),
        Field("100", ["1", " "], [Subfield("a", author)]),
        Field("245", ["1", "0"], [Subfield("a", title + " /")]),
        Field("264", [" ", "1"], [Subfield("b", "Penguin,")]),
    )
    return record.as_marc()


@pytest.mark.parametrize(
    ("written", "amount"),
    [("CNY12.50", "12.50"), ("12.50元", "12.50"), ("¥12.5", "12.50"), ("RMB 1,012", "1012.00")],
)
def test_prices_as_suppliers_write_them(written, amount):
    assert marc.parse_price(written) == amount


def test_no_price_in_text():
    assert marc.parse_price("赠送") is None


def test_both_formats_are_read_and_a_bad_record_refused_by_its_number():
    data = (
        cnmarc("7-02-000220-X", "三国演义", "罗贯中", "I242.4", "12.50元")
        + marc21("9787020002207", "红楼梦", "曹雪芹", "i242.4", "CNY59.70")
        + cnmarc("9787020002207", "", "曹雪芹", "I242.4", "CNY59.70")
        + marc21("9787020002207", "红楼梦", "曹雪芹", "I242.4", "free")
    )
    found = marc.read(data, 10)
    assert [r.format for r in found[:2]] == ["cnmarc", "marc21"]
    assert found[0].book["title"] == "三国演义" and found[0].book["price"] == "12.50"
    assert found[0].book["publisher"] == "人民文学出版社"
    assert found[1].book == {
        "isbn": "9787020002207", "title": "红楼梦", "author": "曹雪芹",
        "classification": "I242.4", "price": "59.70", "publisher": "Penguin",
    }  # fmt: skip
    assert [(r.record, r.refused) for r in found] == [(1, False), (2, False), (3, True), (4, True)]
    assert found[2].reason == "no_title" and found[3].reason == "bad_price"


def test_a_corrupt_file_names_the_record_where_it_broke():
    good = marc21("9787020002207", "红楼梦", "曹雪芹", "I242.4", "59.70")
    with pytest.raises(marc.CorruptFile) as broken:
        marc.read(good + good + good[:50], 10)
    assert broken.value.record == 3
    with pytest.raises(marc.CorruptFile):
        marc.read(b"", 10)
    with pytest.raises(marc.TooManyRecords):
        marc.read(good * 3, 2)


@pytest.mark.parametrize("kind", marc.FORMATS)
def test_written_records_read_back(kind):
    title = {
        "isbn": "9787020002207", "title": "红楼梦", "author": "曹雪芹", "classification": "I242.4",
        "price": "59.70", "campus": "north", "shelf": "N-I-03",
        "barcodes": ["C00000001", "C00000002"],
    }  # fmt: skip
    data = marc.write([title], kind)
    (record,) = MARCReader(data, to_unicode=True, force_utf8=True)
    assert marc.holdings_of(record) == {"campus": "north", "barcodes": title["barcodes"]}
    (read,) = marc.read(data, 1)
    assert read.format == kind
    assert {k: read.book[k] for k in ("isbn", "title", "author", "price")} == {
        k: title[k] for k in ("isbn", "title", "author", "price")
    }
