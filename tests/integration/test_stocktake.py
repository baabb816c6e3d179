"""The stock-take (清点) over HTTP against the real services: open, scan, upload, close, weed."""

from __future__ import annotations

import codecs
import io
from concurrent.futures import ThreadPoolExecutor

import openpyxl
import pytest

from services.catalog.stocktake_books import Stocktakes
from shared.eventsourcing.rebuild import rebuild
from shared.eventsourcing.store import EventStore
from tests.helpers import wait_until
from tests.integration.test_gateway import ALL_SERVICES, problem, start_gateway

pytestmark = pytest.mark.integration

NOVEL = {"classification": "I247.5", "shelf": "N-I-03"}
PHYSICS = {"classification": "O41", "shelf": "N-O-01", "isbn": "978-7-04-019435-7"}


@pytest.fixture
def api(runner_factory, config):
    return start_gateway(runner_factory, config, *ALL_SERVICES)


def status_of(api, barcode):
    return api.get(f"/api/copies/{barcode}").json()["status"]


def open_stocktake(api, campus="north", classes=()):
    answer = api.post("/api/stocktakes", {"campus": campus, "classes": list(classes)})
    assert answer.status_code == 201, answer.text
    opened = answer.json()
    assert opened["status"] == "open" and opened["counted"] == 0
    return opened["stocktake_id"]


def scan(api, stocktake_id, *barcodes):
    answer = api.post(f"/api/stocktakes/{stocktake_id}/scans", {"barcodes": list(barcodes)})
    assert answer.status_code == 200, answer.text
    return answer.json()


def close(api, stocktake_id):
    answer = api.post(f"/api/stocktakes/{stocktake_id}/close")
    assert answer.status_code == 200, answer.text
    return answer.json()


def barcodes_of(lines):
    return sorted(line["barcode"] for line in lines)


def test_a_stocktake_reports_missing_misplaced_and_found_on_loan_and_returns_the_lent_copy(api):
    found, missing, lent = api.add_books(3, **NOVEL)
    physics = api.add_books(1, **PHYSICS)[0]
    southern = api.add_books(1, campus="south", shelf="S-I-01")[0]
    reader = api.card()
    assert api.lend(lent, reader).status_code == 201
    wait_until(lambda: status_of(api, lent) == "on_loan", timeout=15, what="the loan")

    stocktake_id = open_stocktake(api, "north", ["i2"])
    counted = scan(
        api, stocktake_id, found, found.lower(), southern, lent, physics, "C99999999", "书架!"
    )
    outcomes = [
        (s["barcode"], s["outcome"], s["misplaced"], s["on_loan"]) for s in counted["scans"]
    ]
    assert outcomes == [
        (found, "counted", None, False),
        (found, "already_counted", None, False),  # scanned twice, counted once
        (southern, "counted", "other_campus", False),
        (lent, "counted", None, True),
        (physics, "counted", "out_of_range", False),
        ("C99999999", "unknown_barcode", None, False),
    ]
    assert counted["errors"] == [{"line": None, "text": "书架!", "code": "not_a_barcode"}]
    assert counted["stocktake"]["counted"] == 4
    assert counted["stocktake"]["classes"] == ["I2"]
    assert counted["stocktake"]["last_counted"] in (found, southern, lent, physics)

    # Found although on loan: circulation returns it, naming the stock-take.
    wait_until(lambda: status_of(api, lent) == "on_shelf", timeout=20, what="the return")

    def archived_returns() -> list[dict]:
        # The feed is the archives': they follow circulation a moment behind.
        events = api.get("/api/events", params={"source": "circulation", "limit": 500}).json()
        return [e for e in events["events"] if e["type"] == "Returned"]

    returned = wait_until(archived_returns, timeout=20, what="the return in the replay feed")
    assert [(e["data"]["barcode"], e["data"].get("stocktake_id")) for e in returned] == [
        (lent, stocktake_id)
    ]
    assert returned[0]["data"]["campus"] == "north" and returned[0]["data"]["patron_id"] == reader
    assert api.get(f"/api/patrons/{reader}/loans").json()["loans"] == []

    report = close(api, stocktake_id)
    assert report["status"] == "closed"
    assert barcodes_of(report["missing_copies"]) == [missing]
    assert barcodes_of(report["misplaced_copies"]) == sorted([southern, physics])
    assert barcodes_of(report["found_on_loan_copies"]) == [lent]
    assert report["found_on_loan_copies"][0]["loan_id"]
    assert (report["expected"], report["counted"], report["missing"]) == (3, 4, 1)
    assert (report["misplaced"], report["found_on_loan"]) == (2, 1)
    assert report["missing_copies"][0]["title"] and report["missing_copies"][0]["shelf"]
    assert api.get(f"/api/stocktakes/{stocktake_id}").json() == report

    # The report as files: CSV (UTF-8 with a BOM, Chinese headers) and XLSX.
    csv = api.get(f"/api/stocktakes/{stocktake_id}", params={"format": "csv"})
    assert csv.status_code == 200 and csv.content.startswith(codecs.BOM_UTF8)
    assert stocktake_id in csv.headers["Content-Disposition"]
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0].split(",")[:3] == ["清点结果", "条码", "书名"]
    findings = sorted(line.split(",")[:2] for line in lines[1:])
    assert findings == sorted(
        [
            ["缺失", missing],
            ["错架（属于另一校区）", southern],
            ["错架（不在清点范围）", physics],
            ["借出中发现（已还）", lent],
        ]
    )
    xlsx = api.get(f"/api/stocktakes/{stocktake_id}", params={"format": "xlsx", "lang": "en"})
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("Finding", "Barcode") and len(rows) == 5
    assert problem(api.get(f"/api/stocktakes/{stocktake_id}", params={"format": "pdf"}), 400)

    refused = problem(
        api.post(f"/api/stocktakes/{stocktake_id}/scans", {"barcodes": [missing]}), 409
    )
    assert refused["code"] == "stocktake_closed" and stocktake_id in refused["detail"]
    assert problem(api.post(f"/api/stocktakes/{stocktake_id}/close"), 409)["code"] == (
        "stocktake_closed"
    )
    assert problem(api.get("/api/stocktakes/ST999999"), 404)
    listed = api.get("/api/stocktakes", params={"campus": "north"}).json()["items"]
    assert [s["stocktake_id"] for s in listed] == [stocktake_id]


def test_copies_missing_twice_in_a_row_are_listed_and_weeded_as_lost_in_one_command(api):
    kept, gone, once = api.add_books(3, **NOVEL)
    for missed in ([gone, once], [gone]):
        stocktake_id = open_stocktake(api)
        scan(api, stocktake_id, *({kept, gone, once} - set(missed)))
        assert barcodes_of(close(api, stocktake_id)["missing_copies"]) == sorted(missed)

    listed = api.get("/api/stocktakes/twice-missing", params={"campus": "north"}).json()["items"]
    assert [copy["barcode"] for copy in listed] == [gone]
    first, second = (s["stocktake_id"] for s in api.get("/api/stocktakes").json()["items"][::-1])
    assert listed[0]["stocktakes"] == [second, first]

    body = {"campus": "north", "barcodes": [gone, once]}
    refused = problem(api.post("/api/stocktakes/weed-missing", body), 409)
    assert refused["code"] == "not_twice_missing" and once in refused["detail"]
    assert status_of(api, gone) == "on_shelf"  # all or none

    answer = api.post("/api/stocktakes/weed-missing", {"campus": "north", "barcodes": [gone]})
    assert answer.status_code == 200, answer.text
    (weeded,) = answer.json()["weeded"]
    assert (weeded["barcode"], weeded["status"], weeded["weed_reason"]) == (gone, "weeded", "lost")
    assert api.get("/api/stocktakes/twice-missing", params={"campus": "north"}).json() == {
        "items": []
    }

    def in_ledger():
        ledger = api.get("/api/ledgers/writeoffs").json()
        at = ledger["columns"].index("barcode") if "barcode" in ledger["columns"] else 0
        return [row for row in ledger["rows"] if gone in (row[at], *row)]

    wait_until(in_ledger, timeout=20, what="the write-off ledger")
    assert "lost" in in_ledger()[0]


def test_a_scanner_file_counts_its_good_lines_and_reports_the_bad_ones(api):
    first, second = api.add_books(2, **NOVEL)
    stocktake_id = open_stocktake(api)
    lines = ["条码,扫描时间", f"{first},09:01", "书架N-I-03,09:01", "", "C99999999,09:02"]
    text = "\r\n".join([*lines, f"{first},09:03", ""])
    answer = api.post(
        f"/api/stocktakes/{stocktake_id}/scans/file",
        data=text.encode("gbk"),
        headers={"Content-Type": "text/csv"},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [(s["line"], s["outcome"]) for s in body["scans"]] == [
        (2, "counted"),
        (5, "unknown_barcode"),
        (6, "already_counted"),
    ]
    assert body["errors"] == [{"line": 3, "text": "书架N-I-03", "code": "not_a_barcode"}]

    plain = f"{second}\n{first}\n".encode()
    again = api.post(
        f"/api/stocktakes/{stocktake_id}/scans/file",
        data=plain,
        headers={"Content-Type": "text/plain"},
    )
    assert [s["outcome"] for s in again.json()["scans"]] == ["counted", "already_counted"]
    assert again.json()["stocktake"]["counted"] == 2

    url = f"/api/stocktakes/{stocktake_id}/scans/file"
    assert problem(
        api.post(url, data=b"%PDF-1.4", headers={"Content-Type": "application/pdf"}), 415
    )
    unreadable = problem(
        api.post(url, data=b"\x00\x01", headers={"Content-Type": "text/plain"}), 400
    )
    assert unreadable["code"] == "scanner_file_unreadable"
    assert problem(api.post(f"/api/stocktakes/{stocktake_id}/scans", {}), 400)["errors"]
    assert close(api, stocktake_id)["missing"] == 0


def test_only_a_librarian_takes_stock(api):
    refused = problem(api.post("/api/stocktakes", {"campus": "north"}, role="assistant"), 403)
    assert refused["code"] == "missing_right"
    assert problem(api.post("/api/stocktakes", {"campus": "east"}), 400)["errors"]["campus"]


def test_the_same_copy_scanned_at_two_desks_at_once_is_counted_once(api):
    (book,) = api.add_books(1, **NOVEL)
    stocktake_id = open_stocktake(api)
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: scan(api, stocktake_id, book), range(4)))
    outcomes = sorted(answer["scans"][0]["outcome"] for answer in answers)
    assert outcomes == ["already_counted"] * 3 + ["counted"]
    assert api.get(f"/api/stocktakes/{stocktake_id}").json()["counted"] == 1


def test_the_stocktakes_read_model_rebuilds_to_what_was_kept_inline(api, pool_for):
    books = api.add_books(3, **NOVEL) + api.add_books(1, campus="south", shelf="S-I-01")
    for scanned in (books[:2] + books[3:], books[:1]):
        stocktake_id = open_stocktake(api, "north", ["I"])
        scan(api, stocktake_id, *scanned, "C99999999")
        close(api, stocktake_id)
    open_stocktake(api, "south")  # and one still open
    pool, store = pool_for("catalog"), EventStore("catalog")

    def read_feed(source, after, limit):
        with pool.transaction() as cursor:
            return store.read(cursor, after, limit)

    def snapshot():
        with pool.transaction() as cursor:
            tables = {}
            for table in Stocktakes.tables:
                cursor.execute(f"SELECT * FROM {table} ORDER BY 1, 2")
                tables[table] = cursor.fetchall()
            return tables

    live = snapshot()
    # ST1: three found, one missing; ST2: one found, two missing.
    assert len(live["stocktakes"]) == 3 and len(live["stocktake_copies"]) == 4 + 3
    report = rebuild(pool, Stocktakes(), read_feed, batch=3)
    assert report.events > 0
    assert snapshot() == live


def test_a_copy_found_on_loan_is_held_for_the_reader_waiting_for_its_title(api):
    """Taken back as at the desk: the next reader who reserved the title gets it, no other."""
    isbn = "978-7-5442-5399-4"
    [lent] = api.add_books(1, **NOVEL, isbn=isbn, title="百年孤独")
    borrower, waiting, other = api.card(), api.card(name="韩梅梅"), api.card(name="张伟")
    assert api.lend(lent, borrower).status_code == 201
    reserved = api.post(
        "/api/reservations", {"patron_id": waiting, "isbn": isbn, "campus": "north"}
    )
    assert reserved.status_code == 201, reserved.text
    # The scan finds a copy on loan by the catalog's view of the loans, which follows circulation.
    wait_until(lambda: status_of(api, lent) == "on_loan", what="the catalog to see the loan")

    stocktake_id = open_stocktake(api, "north")
    scan(api, stocktake_id, lent)
    wait_until(lambda: status_of(api, lent) == "on_shelf", timeout=20, what="the return")

    def held() -> list[dict]:
        events = api.get("/api/events", params={"source": "circulation", "limit": 500}).json()
        return [e["data"] for e in events["events"] if e["type"] == "HoldReady"]

    [hold] = wait_until(held, timeout=20, what="the hold for the reader waiting")
    assert (hold["barcode"], hold["patron_id"]) == (lent, waiting)
    refused = problem(api.lend(lent, other), 409)
    assert refused["code"] == "held_for_reservation"
    assert api.lend(lent, waiting).status_code == 201
