"""MARC records as book suppliers send them, for the tests and examples/marc/.

``cnmarc`` and ``marc21`` write one ISO 2709 record (UTF-8) with pymarc, the fields
a supplier fills: ISBN and price, title and author, the CLC class, the publisher.
``python -m tests.unit.marc_samples`` writes the example files of examples/marc/
(a MARC 21 ``.mrc`` and a CNMARC ``.iso``, Chinese titles); the unit tests read
them back and check they are what this module makes.
"""

from __future__ import annotations

import random
from pathlib import Path

from pymarc import Field, Record, Subfield

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "marc"
LEADER = "     nam a22     3  4500"


def cnmarc(isbn: str, title: str, author: str, clc: str, price: str, publisher: str = "") -> bytes:
    """A CNMARC (UNIMARC) record: 010 $a ISBN $d price, 200 $a title $f author, 210 $c
    publisher, 690 $a CLC class, 701 $a author."""
    record = Record(force_utf8=True, leader=LEADER)
    record.add_field(
        Field("010", [" ", " "], [Subfield("a", isbn), Subfield("d", price)]),
        Field("200", ["1", " "], [Subfield("a", title), Subfield("f", author)]),
    )
    if publisher:
        record.add_field(Field("210", [" ", " "], [Subfield("c", publisher)]))
    record.add_field(
        Field("690", [" ", " "], [Subfield("a", clc), Subfield("v", "5")]),
        Field("701", [" ", "0"], [Subfield("a", author)]),
    )
    return record.as_marc()


def marc21(isbn: str, title: str, author: str, clc: str, price: str, publisher: str = "") -> bytes:
    """A MARC 21 record: 020 $a ISBN $c price, 084 $a CLC class ($2 clc), 100 $a author,
    245 $a title (with ISBD's " /"), 264 $b publisher (with its ",")."""
    record = Record(force_utf8=True, leader=LEADER)
    record.add_field(
        Field("020", [" ", " "], [Subfield("a", isbn), Subfield("c", price)]),
        Field("084", [" ", " "], [Subfield("a", clc), Subfield("2", "clc")]),
        Field("100", ["1", " "], [Subfield("a", author)]),
        Field("245", ["1", "0"], [Subfield("a", title + " /")]),
    )
    if publisher:
        record.add_field(Field("264", [" ", "1"], [Subfield("b", publisher + ",")]))
    return record.as_marc()


def isbn13(rng: random.Random | None = None) -> str:
    """A valid ISBN-13 (978-7, a Chinese publisher's), different each call."""
    digits = [9, 7, 8, 7] + [(rng or random).randrange(10) for _ in range(8)]
    check = (10 - sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10) % 10
    return "".join(map(str, [*digits, check]))


# The example files: three titles each, the second of the CNMARC one with a bad ISBN
# (a check digit that is wrong), to show a refused record in the middle.
CNMARC_EXAMPLE = (
    ("9787020002207", "红楼梦", "曹雪芹", "I242.4", "CNY59.70", "人民文学出版社"),
    ("9787020000000", "西游记", "吴承恩", "I242.4", "47.20元", "人民文学出版社"),
    ("9787532145096", "三体", "刘慈欣", "I247.55", "¥23.00", "重庆出版社"),
)
MARC21_EXAMPLE = (
    ("9787544253994", "百年孤独", "加西亚·马尔克斯", "I775.45", "CNY39.50", "南海出版公司"),
    ("9787020049295", "骆驼祥子", "老舍", "I246.5", "CNY19.00", "人民文学出版社"),
    ("9780141439518", "Pride and prejudice", "Austen, Jane", "I561.44", "12.50", "Penguin"),
)


def example_files() -> dict[str, bytes]:
    """The example files by name, as this module makes them."""
    return {
        "catalogue-cnmarc.iso": b"".join(cnmarc(*book) for book in CNMARC_EXAMPLE),
        "catalogue-marc21.mrc": b"".join(marc21(*book) for book in MARC21_EXAMPLE),
    }


if __name__ == "__main__":
    for name, data in example_files().items():
        (EXAMPLES / name).write_bytes(data)
        print(f"wrote examples/marc/{name} ({len(data)} bytes)")
