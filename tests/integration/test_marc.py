"""MARC files through HTTP (issue 16, point 4): a supplier's MARC 21 and CNMARC records
catalogued at a campus with the copies asked for, a bad record refused by its number, a
re-import cataloguing nothing new, corrupt, foreign and oversized files refused whole,
and the catalogue exported and read back with pymarc as it was catalogued."""

from __future__ import annotations

import base64
import uuid

import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from pymarc import MARCReader

from services.catalog import marc
from services.catalog.schemas import MAX_MARC_BYTES
from tests.integration.test_gateway import ALL_SERVICES, problem, start_gateway
from tests.unit.marc_samples import cnmarc, isbn13, marc21

pytestmark = pytest.mark.integration

MARC = {"Content-Type": "application/marc"}


@pytest.fixture
def api(runner_factory, config):
    return start_gateway(runner_factory, config, *ALL_SERVICES)


def post(api, data, **query):
    params = {"campus": "north", "copies": "1", **query}
    return api.post("/api/books/marc", data=data, headers=MARC, params=params)


def books(count=3):
    """``count`` books no other test has: a unique ISBN and a title with a token in it."""
    token = uuid.uuid4().hex[:8]
    return [
        (isbn13(), f"红楼梦{token}第{n}卷", "曹雪芹", "I242.4", f"CNY{10 + n}.50", "人民文学出版社")
        for n in range(count)
    ]


def held(api, isbn):
    return api.get("/api/books", params={"isbn": isbn, "status": "on_shelf"}).json()["items"]


def test_both_formats_are_catalogued_with_their_copies_and_a_bad_record_refused_by_number(api):
    first, second, third = books()
    wrong = f"{second[0][:-1]}{(int(second[0][-1]) + 1) % 10}"  # the check digit is off
    data = cnmarc(*first) + marc21(wrong, *second[1:]) + marc21(*third)
    answer = post(api, data, copies="2", campus="south")
    assert answer.status_code == 201, answer.text
    report = answer.json()
    lines = report["records"]
    assert [line["record"] for line in lines] == [1, 2, 3]
    assert [line["status"] for line in lines] == ["catalogued", "refused", "catalogued"]
    assert (report["catalogued"], report["refused"], report["already"]) == (2, 1, 0)
    assert lines[1]["reason"] == "bad_isbn" and lines[1]["title"] == second[1]
    assert lines[0]["format"] == "cnmarc" and lines[2]["format"] == "marc21"
    assert lines[0]["publisher"] == "人民文学出版社"
    for line, book in ((lines[0], first), (lines[2], third)):
        copies = held(api, book[0])
        assert sorted(c["barcode"] for c in copies) == sorted(line["barcodes"])
        assert len(copies) == 2
        assert {(c["campus"], c["title"], c["price"], c["shelf"]) for c in copies} == {
            ("south", book[1], marc.parse_price(book[4]), "I")
        }
    assert held(api, second[0]) == []


def test_the_same_file_imported_again_catalogues_nothing_twice(api):
    data = b"".join(cnmarc(*book) for book in books(2))
    first = post(api, data, copies="2").json()
    assert first["catalogued"] == 2
    again = post(api, data, copies="3")  # other copies asked: still the same records
    assert again.status_code == 200, again.text
    body = again.json()
    assert (body["catalogued"], body["already"], body["refused"]) == (0, 2, 0)
    assert [line["status"] for line in body["records"]] == ["already", "already"]
    assert [line["barcodes"] for line in body["records"]] == [
        line["barcodes"] for line in first["records"]
    ]
    isbn = first["records"][0]["isbn"]
    assert len(held(api, isbn)) == 2
    # The same records at the other campus are that campus's copies.
    south = post(api, data, campus="south").json()
    assert south["catalogued"] == 2
    assert len(held(api, isbn)) == 3


def test_a_record_whose_structure_breaks_refuses_the_file_whole_naming_it(api):
    mine = books(2)
    good = [marc21(*book) for book in mine]
    body = problem(post(api, good[0] + good[1][:40]), 400)
    assert body["code"] == "marc_corrupt" and body["record"] == 2
    assert "record 2" in body["detail"]
    assert held(api, mine[0][0]) == []  # nothing of it was catalogued


def test_a_file_that_is_not_marc_is_refused(api):
    body = problem(post(api, "书名,作者\n红楼梦,曹雪芹\n".encode()), 400)
    assert body["code"] == "marc_not_marc" and body["record"] == 1
    assert "file" in problem(post(api, b""), 400)["errors"]  # an empty body: no file
    sent = api.post(
        "/api/books/marc", data=marc21(*books(1)[0]), headers={"Content-Type": "text/plain"},
        params={"campus": "north"},
    )  # fmt: skip
    problem(sent, 415)


def test_a_file_over_the_limit_is_refused_naming_the_limit(api):
    big = b"0" * (50 * 1024 * 1024)
    body = problem(post(api, big), 413)
    assert str(MAX_MARC_BYTES) in body["detail"]


def test_bad_import_choices_are_refused_naming_them(api):
    data = marc21(*books(1)[0])
    assert "campus" in problem(post(api, data, campus="east"), 400)["errors"]
    assert "copies" in problem(post(api, data, copies="0"), 400)["errors"]
    problem(api.post("/api/books/marc", data=data, headers=MARC, role="reader",
                     params={"campus": "north"}), 403)  # fmt: skip


@pytest.mark.parametrize("flavour", marc.FORMATS)
def test_the_catalogue_exported_reads_back_as_it_was_catalogued(api, flavour):
    mine = books(2)
    imported = post(api, b"".join(marc21(*book) for book in mine), copies="2").json()
    assert imported["catalogued"] == 2, imported
    exported = api.get("/api/books/marc", params={"flavour": flavour, "campus": "north"})
    assert exported.status_code == 200, exported.text
    assert exported.headers["Content-Type"].startswith("application/marc")
    assert f'filename="catalogue-north-{flavour}.mrc"' in exported.headers["Content-Disposition"]
    records = {}
    for record in MARCReader(exported.content, to_unicode=True, force_utf8=True):
        kind, book = marc.book_of(record)
        assert kind == flavour
        records[book["isbn"]] = (book, marc.holdings_of(record))
    for (isbn, title, author, clc, price, publisher), line in zip(
        mine, imported["records"], strict=True
    ):
        book, holdings = records[isbn]
        assert book == {
            "isbn": isbn, "title": title, "author": author, "classification": clc,
            "price": marc.parse_price(price), "publisher": publisher,
        }  # fmt: skip
        assert holdings == {"campus": "north", "barcodes": line["barcodes"]}
    assert problem(api.get("/api/books/marc", params={"flavour": "dublin"}), 400)["errors"]


def test_a_file_of_too_many_records_is_refused_before_any_is_catalogued(api):
    book = books(1)[0]
    body = problem(post(api, marc21(*book) * 1001), 400)
    assert body["code"] == "marc_too_many_records" and body["limit"] == 1000
    assert held(api, book[0]) == []


def test_the_export_pages_through_the_catalog_by_title_and_campus(api, config):
    """Small pages and large ones make the same file: the keyset paging drops and repeats
    no title, and a title held at both campuses is a record at each."""
    mine = books(3)
    data = b"".join(cnmarc(*book) for book in mine)
    assert post(api, data).json()["catalogued"] == 3
    assert post(api, data, campus="south").json()["catalogued"] == 3

    def pages(limit):
        found, after = b"", None
        with ServiceRpcProxy("catalog", config, timeout=30) as catalog:
            while True:
                page = catalog.export_marc({"flavour": "marc21", "limit": limit, "after": after})
                assert page["records"] <= limit
                found += base64.b64decode(page["file"])
                if (after := page["next"]) is None:
                    return found

    small, large = pages(2), pages(500)
    assert small == large
    held_at = [
        marc.holdings_of(record)["campus"]
        for record in MARCReader(small, to_unicode=True, force_utf8=True)
        if record["020"]["a"] == mine[0][0]
    ]
    assert sorted(held_at) == ["north", "south"]
