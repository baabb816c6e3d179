"""A librarian imports a supplier's CNMARC file on the catalogue screen and downloads
the catalogue as MARC.

A file of three records, the second with a wrong ISBN, is catalogued at 南区 with two
copies of each: the report, in Chinese, names each record by its number, the
refused one with why; the same file again catalogues nothing twice; the catalogue
downloaded as CNMARC reads back with pymarc with the new copies' barcodes. The
section has no accessibility fault and no sideways scroll on a phone.
"""

from __future__ import annotations

import uuid

from pymarc import MARCReader

from services.catalog import marc
from tests.e2e.scenarios.browser import Person, checked, chromium, report, school
from tests.e2e.scenarios.steps_catalogue import go
from tests.e2e.scenarios.steps_marc import export_marc, import_marc, marc_section
from tests.unit.marc_samples import cnmarc, isbn13

facts = school()
token = uuid.uuid4().hex[:6]
books = [
    (isbn13(), f"骆驼祥子{token}", "老舍", "I246.5", "CNY19.00", "人民文学出版社"),
    (isbn13(), f"西游记{token}", "吴承恩", "I242.4", "47.20元", "人民文学出版社"),
    (isbn13(), f"三体{token}", "刘慈欣", "I247.55", "¥23.00", "重庆出版社"),
]
good = books[1][0]
wrong = f"{good[:-1]}{(int(good[-1]) + 1) % 10}"  # the supplier's typo: a wrong check digit
data = cnmarc(*books[0]) + cnmarc(wrong, *books[1][1:]) + cnmarc(*books[2])
seen: dict = {"titles": [book[1] for book in books]}
with chromium() as browser:
    tab = Person(browser, facts)
    page = go(tab.sign_in("librarian"), "/catalogue")
    seen["first"] = import_marc(page, "books.iso", data, "south", 2)
    seen["again"] = import_marc(page, "books.iso", data, "south", 2)
    name, exported = export_marc(page, "cnmarc", "south")
    seen["file"] = name
    seen["exported"] = {}
    for record in MARCReader(exported, to_unicode=True, force_utf8=True):
        _, book = marc.book_of(record)
        if book["title"] in seen["titles"]:
            seen["exported"][book["title"]] = marc.holdings_of(record)["barcodes"]
    checked(page, "catalogue-marc")
    tab.close()

    phone = Person(browser, facts, size="phone")
    page = go(phone.sign_in("librarian"), "/catalogue")
    marc_section(page)
    import_marc(page, "books.iso", data, "south", 2)
    checked(page, "catalogue-marc-phone")
    phone.close()
report(seen)
