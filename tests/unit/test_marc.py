"""The MARC reader and writer (services/catalog/marc.py): both formats, Chinese titles,
prices as suppliers write them, bad records refused by number, corrupt files whole."""

from __future__ import annotations

import pytest
from pymarc import MARCReader

from services.catalog import marc
from tests.unit import marc_samples
from tests.unit.marc_samples import EXAMPLES, example_files


def cnmarc(isbn, title, author, clc, price):
    return marc_samples.cnmarc(isbn, title, author, clc, price, "人民文学出版社")


def marc21(isbn, title, author, clc, price):
    return marc_samples.marc21(isbn, title, author, clc, price, "Penguin")


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


def test_a_bad_record_in_the_middle_is_refused_with_its_reason_and_what_it_says():
    data = (
        marc21("9787020002207", "红楼梦", "曹雪芹", "I242.4", "59.70")
        + marc21("9787020002207", "红楼梦", "曹雪芹", "not a class", "59.70")
        + cnmarc("9787532145096", "三体", "刘慈欣", "I247.55", "23.00")
    )
    found = marc.read(data, 10)
    assert [(r.record, r.reason) for r in found] == [(1, None), (2, "bad_class"), (3, None)]
    assert found[1].format == "marc21" and found[1].book == {
        "isbn": "9787020002207",
        "title": "红楼梦",
    }
    assert "not a class" in found[1].detail
    assert found[0].digest == found[0].digest and found[0].digest != found[1].digest


def test_a_file_that_is_not_marc_is_told_from_a_broken_one():
    with pytest.raises(marc.CorruptFile) as foreign:
        marc.read("书名,作者\n红楼梦,曹雪芹\n".encode(), 10)
    assert (foreign.value.code, foreign.value.record) == (marc.NOT_MARC, 1)
    good = marc21("9787020002207", "红楼梦", "曹雪芹", "I242.4", "59.70")
    with pytest.raises(marc.CorruptFile) as broken:
        marc.read(good + b"00099" + good[5:40], 10)
    assert (broken.value.code, broken.value.record) == (marc.CORRUPT, 2)


@pytest.mark.parametrize("kind", marc.FORMATS)
def test_the_publisher_is_written_and_read_back(kind):
    title = {
        "isbn": "9787020002207", "title": "红楼梦", "author": "曹雪芹", "classification": "I242.4",
        "price": "59.70", "publisher": "人民文学出版社", "campus": "south", "shelf": "I",
        "barcodes": ["C00000007"],
    }  # fmt: skip
    (read,) = marc.read(marc.write([title], kind), 1)
    assert read.book == {k: title[k] for k in read.book}
    assert read.book["publisher"] == "人民文学出版社"


def test_the_example_files_are_what_the_samples_make_and_read_as_documented():
    for name, data in example_files().items():
        assert (EXAMPLES / name).read_bytes() == data, "run python -m tests.unit.marc_samples"
    cnmarc_file = marc.read((EXAMPLES / "catalogue-cnmarc.iso").read_bytes(), 10)
    assert [(r.format, r.reason) for r in cnmarc_file] == [
        ("cnmarc", None), ("cnmarc", "bad_isbn"), ("cnmarc", None),
    ]  # fmt: skip
    assert cnmarc_file[0].book["title"] == "红楼梦" and cnmarc_file[2].book["price"] == "23.00"
    marc21_file = marc.read((EXAMPLES / "catalogue-marc21.mrc").read_bytes(), 10)
    assert [r.book["title"] for r in marc21_file] == ["百年孤独", "骆驼祥子", "Pride and prejudice"]
    assert marc21_file[0].book["publisher"] == "南海出版公司"
