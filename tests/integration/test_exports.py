"""Every list as a file over HTTP, with the real services: CSV that Excel on Chinese Windows
opens (a BOM, Chinese headers), XLSX read back with openpyxl, printed forms read back with
pdftotext, ``format_unsupported`` naming the formats a route has; and a big school's
purchases register paged through the archives and streamed, its memory roughly flat."""

from __future__ import annotations

import csv
import io
import time
import tracemalloc
from datetime import date, datetime

import openpyxl
import pytest

from tests.helpers import wait_until
from tests.integration.test_gateway import ALL_SERVICES, TITLE, problem, start_gateway
from tests.paper import pdf_pages, squeezed

HOSTILE = '=HYPERLINK("http://x")'
WEEK = "2026-W42"  # the week of TODAY (2026-10-12), when the loans are made
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LISTS = {  # route: (params, formats beyond json, a header its Chinese file has)
    "/api/registers/purchases": ({}, ("csv", "xlsx"), "购入日期"),
    "/api/registers/staff_loans": ({}, ("csv", "xlsx"), "教师"),
    "/api/registers/repairs": ({}, ("csv", "xlsx"), "损坏日期"),
    "/api/registers/writeoffs": ({}, ("csv", "xlsx"), "注销原因"),
    "/api/registers/teacher_reservations": ({}, ("csv", "xlsx"), "预约日期"),
    "/api/ledgers/general": ({}, ("csv", "xlsx"), "馆藏册数"),
    "/api/ledgers/classification": ({}, ("csv", "xlsx"), "分类"),
    "/api/ledgers/writeoffs": ({}, ("csv", "xlsx"), "注销日期"),
    "/api/terms/2026-autumn/report": ({}, ("csv", "xlsx", "pdf"), "栏目"),
    "/api/overdue": ({}, ("csv", "xlsx", "pdf"), "逾期天数"),
    "/api/clearance": ({"grade": "G7"}, ("csv", "xlsx", "pdf"), "项目"),
    "/api/bulletin": ({"week": WEEK}, ("csv", "xlsx", "pdf"), "人均借阅"),
    "/api/leaderboards/students": ({"period": "term", "on": "2026-10-12"}, ("csv", "xlsx"), "名次"),
    "/api/leaderboards/classes": ({"period": "term", "on": "2026-10-12"}, ("csv", "xlsx"), "班级"),
    "/api/leaderboards/campuses": ({"period": "term", "on": "2026-10-12"}, ("csv", "xlsx"), "校区"),
}


@pytest.fixture
def api(runner_factory, config):
    return start_gateway(runner_factory, config, *ALL_SERVICES)


def isbn(n: int) -> str:
    """A valid ISBN-13 (978 + 9 digits + its check digit)."""
    body = f"978{n:09d}"
    total = sum((3 if i % 2 else 1) * int(c) for i, c in enumerate(body))
    return body + str((10 - total % 10) % 10)


def rows_of_csv(answer) -> list[list[str]]:
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert answer.content.startswith(b"\xef\xbb\xbf")  # the BOM Excel on Chinese Windows needs
    return list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"), newline="")))


def sheet_of_xlsx(answer):
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"] == XLSX
    return openpyxl.load_workbook(io.BytesIO(answer.content)).active


@pytest.fixture
def school(api):
    """A class teacher, two classes with an overdue book each (one reader with a name a
    spreadsheet would run), a repair, a write-off and a teacher's reservation."""
    barcodes = api.add_books(copies=6, price="39.50")
    teacher = api.card(name="张丽", kind="teacher", class_name="G7-3")
    hostile = api.card(name=HOSTILE, class_name="G7-3")
    other = api.card(name="王小明", class_name="G8-1")
    for barcode, patron in ((barcodes[0], hostile), (barcodes[1], other)):
        assert api.lend(barcode, patron).status_code == 201
    assert api.lend(barcodes[4], teacher, on=date.today()).status_code == 201  # not yet due
    assert api.lend(barcodes[5], hostile).status_code == 201  # read and brought back: ranked
    back = {"barcode": barcodes[5], "campus": "north", "on": "2026-10-14"}
    assert api.post("/api/returns", back, role="assistant").status_code == 200
    wait_until(
        lambda: api.get(f"/api/accounts/{teacher}").status_code == 200,
        timeout=20,
        what="the teacher's account",
    )
    assert api.post(f"/api/accounts/{teacher}/classes", {"classes": ["G7-3"]}).ok
    damaged = api.post(f"/api/copies/{barcodes[2]}/damage", {"note": "书脊破损"})
    assert damaged.status_code == 200, damaged.text
    weeded = api.post(f"/api/copies/{barcodes[3]}/weed", {"reason": "outdated"})
    assert weeded.status_code == 200, weeded.text
    reserved = api.post(
        "/api/reservations", {"patron_id": teacher, "isbn": TITLE["isbn"], "campus": "north"}
    )
    assert reserved.status_code == 201, reserved.text

    def recorded():
        registers = ("purchases", "staff_loans", "repairs", "writeoffs")
        for name in registers:
            if not api.get(f"/api/registers/{name}", role="reader").json()["rows"]:
                return False
        board = api.get("/api/leaderboards/students", params=LISTS["/api/leaderboards/students"][0])
        overdue = api.get("/api/overdue").json()["classes"]
        return board.json()["entries"] and len(overdue) == 2

    wait_until(recorded, timeout=30, what="the registers, the board and the overdue list")
    return {"teacher": teacher, "hostile": hostile, "barcodes": barcodes}


def test_every_list_route_answers_each_of_its_formats(api, school):
    for route, (params, formats, header) in LISTS.items():
        as_json = api.get(route, params=params)
        assert as_json.status_code == 200 and as_json.headers["Content-Type"].startswith(
            "application/json"
        ), (route, as_json.text)
        rows = rows_of_csv(api.get(route, params={**params, "format": "csv"}))
        assert header in rows[0], (route, rows[0])
        disposition = api.get(route, params={**params, "format": "csv"}).headers[
            "Content-Disposition"
        ]
        assert (
            disposition.startswith("attachment; filename=") and "filename*=UTF-8''" in disposition
        )
        sheet = sheet_of_xlsx(api.get(route, params={**params, "format": "xlsx"}))
        assert [cell.value for cell in next(sheet.iter_rows(max_row=1))] == rows[0], route
        assert sheet.max_row == len(rows), route
        if "pdf" in formats:
            printed = api.get(route, params={**params, "format": "pdf"})
            assert (
                printed.status_code == 200 and printed.headers["Content-Type"] == "application/pdf"
            )
            assert pdf_pages(printed.content), route
        else:
            refused = problem(api.get(route, params={**params, "format": "pdf"}), 400)
            assert refused["code"] == "format_unsupported"
            assert refused["formats"] == ", ".join(("json", *formats)), route


def test_the_purchases_register_as_xlsx_has_dates_money_and_chinese_headers(api, school):
    answer = api.get("/api/registers/purchases", role="reader", params={"format": "xlsx"})
    disposition = answer.headers["Content-Disposition"]
    assert 'filename="purchases.xlsx"' in disposition
    assert "filename*=UTF-8''%E8%B4%AD%E4%B9%A6" in disposition  # 购书情况登记表.xlsx
    sheet = sheet_of_xlsx(answer)
    header, first = (list(row) for row in sheet.iter_rows(max_row=2))
    names = [cell.value for cell in header]
    assert names[:4] == ["购入日期", "ISBN", "书名", "作者"] and header[0].font.bold
    assert sheet.freeze_panes == "A2"
    bought = first[names.index("购入日期")]
    assert isinstance(bought.value, datetime) and bought.number_format == "yyyy-mm-dd"
    price = first[names.index("单价")]
    assert price.value == 39.5 and price.number_format == "0.00"
    assert first[names.index("册数")].value == 6
    assert first[names.index("金额")].value == 237.0


def test_english_headers_with_lang_or_accept_language(api, school):
    by_lang = rows_of_csv(api.get("/api/overdue", params={"format": "csv", "lang": "en"}))
    assert by_lang[0][:3] == ["Class", "Card number", "Name"]
    by_header = api.get("/api/overdue?format=csv", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert rows_of_csv(by_header)[0] == by_lang[0]
    chinese = rows_of_csv(api.get("/api/overdue", params={"format": "csv"}))
    assert chinese[0][:3] == ["班级", "借书证号", "姓名"]
    assert {row[0] for row in chinese[1:]} == {"初一(3)班", "初二(1)班"}


def test_a_name_a_spreadsheet_would_run_comes_back_neutralised(api, school):
    rows = rows_of_csv(api.get("/api/overdue", params={"format": "csv"}))
    names = [row[2] for row in rows[1:]]
    assert "'" + HOSTILE in names and HOSTILE not in names
    sheet = sheet_of_xlsx(api.get("/api/overdue", params={"format": "xlsx"}))
    cells = [row[2] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert "'" + HOSTILE in cells
    board = rows_of_csv(api.get("/api/leaderboards/students", params={
        "period": "term", "on": "2026-10-12", "format": "csv"}))  # fmt: skip
    assert "'" + HOSTILE in [row[1] for row in board[1:]]


def test_accept_text_csv_still_works_and_json_stays_the_default(api, school):
    accepted = api.get("/api/registers/purchases", headers={"Accept": "text/csv"})
    assert rows_of_csv(accepted) == rows_of_csv(
        api.get("/api/registers/purchases", params={"format": "csv"})
    )
    assert api.get("/api/registers/purchases").json()["name"] == "purchases"
    assert api.get("/api/registers/purchases", params={"format": "json"}).json()["total"] == 1


def test_an_unsupported_format_is_a_400_naming_those_the_route_has(api):
    for route, asked, offered in (
        ("/api/registers/purchases", "pdf", "json, csv, xlsx"),
        ("/api/overdue", "docx", "json, csv, xlsx, pdf"),
        ("/api/ledgers/general", "XLS", "json, csv, xlsx"),
    ):
        refused = problem(api.get(route, params={"format": asked}), 400)
        assert refused["code"] == "format_unsupported" and refused["formats"] == offered
        assert asked in refused["detail"] and "format" in refused["errors"]
    doc = api.get("/openapi.json", role=None).json()
    operation = doc["paths"]["/api/overdue"]["get"]
    listed = {p["name"]: p for p in operation["parameters"] if isinstance(p, dict) and "name" in p}
    assert listed["format"]["schema"]["enum"] == ["json", "csv", "xlsx", "pdf"]
    assert set(operation["responses"]["200"]["content"]) == {
        "application/json", "text/csv", XLSX, "application/pdf"}  # fmt: skip


def test_overdue_notices_print_one_page_per_class_with_the_class_teacher(api, school):
    printed = api.get("/api/overdue", params={"format": "pdf"})
    assert printed.status_code == 200, printed.text
    assert "filename*=UTF-8''" in printed.headers["Content-Disposition"]
    pages = [squeezed(page) for page in pdf_pages(printed.content)]
    assert len(pages) == 2
    seventh = next(page for page in pages if "初一(3)班" in page)
    eighth = next(page for page in pages if "初二(1)班" in page)
    assert "张丽老师" in seventh and "=HYPERLINK" in seventh  # the name, wrapped in its cell
    assert school["barcodes"][0] in seventh and "逾期天数" in seventh
    assert "王小明" in eighth and "张丽" not in eighth
    one = api.get("/api/overdue", params={"class": "G8-1", "format": "pdf"})
    assert len(pdf_pages(one.content)) == 1
    disposition = one.headers["Content-Disposition"]  # 逾期图书名单-初二(1)班.pdf
    assert 'filename="overdue-G8-1.pdf"' in disposition and "%E5%88%9D%E4%BA%8C" in disposition
    english = pdf_pages(api.get("/api/overdue?class=G7-3&format=pdf&lang=en").content)
    assert "Grade7Class3" in squeezed(english[0])


def test_clearance_bulletin_and_term_report_print_in_chinese(api, school):
    clearance = [
        squeezed(p) for p in pdf_pages(api.get("/api/clearance?grade=G7&format=pdf").content)
    ]
    assert "毕业离校图书清还名单" in clearance[0] and "初一(3)班" in clearance[0]
    assert "未还图书" in clearance[0]
    bulletin = squeezed(pdf_pages(api.get(f"/api/bulletin?week={WEEK}&format=pdf").content)[0])
    assert (
        "每周借阅情况公布" in bulletin and "初一(3)班" in bulletin and "2026年10月12日" in bulletin
    )
    report = [
        squeezed(p) for p in pdf_pages(api.get("/api/terms/2026-autumn/report?format=pdf").content)
    ]
    assert "学期工作总结" in report[0] and "借阅最多的书" in "".join(report)


# ------------------------------------------------------------------ a big school


def seed_purchases(api, count: int, campus: str, start: int) -> None:
    for first in range(start, start + count, 2000):
        titles = [
            {**TITLE, "isbn": isbn(n), "title": f"图书 {n}", "campus": campus, "copies": 1,
             "price": f"{10 + n % 50}.50"}
            for n in range(first, min(first + 2000, start + count))
        ]  # fmt: skip
        answer = api.post("/api/books/batch", {"titles": titles})
        assert answer.status_code == 201, answer.text[:500]


def measured(api, params) -> tuple[int, float, int, int]:
    """Peak bytes allocated in this process (the gateway's, and here the services' too,
    tracemalloc) while the file is made and read as a stream, the least of three reads
    (a consumer or a timer working meanwhile in this process can only add to a peak:
    one CI run's CSV peak was 3.1 MB against 1.9); then, untraced, the seconds
    it takes, the bytes of the file and the chunks it came in."""
    peaks = []
    for _ in range(3):
        tracemalloc.start()
        tracemalloc.reset_peak()
        traced = api.get("/api/registers/purchases", params=params, stream=True)
        for _ in traced.iter_content(chunk_size=None):
            pass
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    peak = min(peaks)
    started = time.monotonic()
    answer = api.get("/api/registers/purchases", params=params, stream=True)
    size = chunks = 0
    for chunk in answer.iter_content(chunk_size=None):
        size, chunks = size + len(chunk), chunks + 1
    seconds = time.monotonic() - started
    assert traced.status_code == answer.status_code == 200
    return peak, seconds, size, chunks


def test_a_big_schools_purchases_register_is_paged_and_streamed(api):
    small, big = 1000, 6000
    seed_purchases(api, small, "south", 1)
    seed_purchases(api, big - small, "north", small + 1)

    def registered():
        return api.get("/api/registers/purchases", params={"limit": 1}).json()["total"] == big

    wait_until(registered, timeout=240, what=f"{big} purchase lines in the register")
    figures = {}
    for fmt in ("csv", "xlsx"):
        few = measured(api, {"format": fmt, "campus": "south"})
        many = measured(api, {"format": fmt})
        figures[fmt] = (few, many)
        print(f"\n{fmt}: {small} rows: peak {few[0] / 1e6:.1f} MB, {few[1]:.1f} s, "
              f"{few[2] / 1e3:.0f} KB; {big} rows: peak {many[0] / 1e6:.1f} MB, "
              f"{many[1]:.1f} s, {many[2] / 1e3:.0f} KB, {many[3]} chunks")  # fmt: skip
        # Six times the rows, not six times the memory: a page (1000 rows) at a time (the
        # XLSX's pages are all read while the workbook is written to its temporary file).
        assert many[0] < (1.5 if fmt == "csv" else 2) * few[0], (fmt, few, many)
    csv_answer = api.get("/api/registers/purchases", params={"format": "csv"}, stream=True)
    assert "Content-Length" not in csv_answer.headers  # streamed as it is written
    rows = sum(1 for _ in csv.reader(io.StringIO(csv_answer.content.decode("utf-8-sig"))))
    assert rows == 1 + big
