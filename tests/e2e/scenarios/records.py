"""The records as a librarian reads them: registers, ledgers, the term report, closing a term.

What the test did over the API beforehand (a teacher's loan, a purchase at south,
a damage and its repair, a weeding, a teacher's reservation) must be in the
registers, worded (教师 王芳, 内容陈旧, 借出中, ¥39.50); the campus filter keeps
the other campus's lines out; 导出 CSV downloads the register with the API's
header row, a ledger with its worded one; the ledgers per campus; the term
report's figures; closing the term asks first, 取消 does nothing, 确定 closes it.
Prints what the screens showed, for the test to hold against the API.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from playwright.sync_api import expect

from tests.e2e.scenarios import steps_records as records
from tests.e2e.scenarios.browser import Person, checked, chromium, report, school
from tests.e2e.school import SchoolApi

facts = school()
done = facts["done"]  # what the test did over the API
api = SchoolApi(facts["api"])
seen: dict = {}
downloads = Path(tempfile.mkdtemp(prefix="records-csv-"))

with chromium() as browser:
    tab = Person(browser, facts)
    page = tab.sign_in("librarian")
    tab.go("/records/registers")

    # ------------------------------------------------------------ registers
    table = records.show_register(page, "staff_loans")
    seen["staff_loan"] = records.row_of(table, "条码", done["staff_copy"])
    seen["staff_headers"] = records.headers(table)
    checked(page, "records-registers")

    table = records.show_register(page, "purchases", campus="south")
    seen["purchase"] = records.row_of(table, "书名", done["purchase_title"])
    assert all(line["校区"] == "南区" for line in map(
        lambda cells: dict(zip(records.headers(table), cells, strict=True)), records.rows(table)
    )), "the south register shows only south's lines"  # fmt: skip
    filename, text = records.export_csv(page, downloads)
    seen["purchases_csv"] = {"filename": filename, "lines": text.splitlines()}

    table = records.show_register(page, "purchases", campus="north")
    seen["north_purchase_titles"] = [dict(zip(records.headers(table), line, strict=True))["书名"]
                                     for line in records.rows(table)]  # fmt: skip

    table = records.show_register(page, "writeoffs")
    seen["writeoff"] = records.row_of(table, "条码", done["weeded"])
    table = records.show_register(page, "repairs")
    seen["repair"] = records.row_of(table, "条码", done["repaired"])
    table = records.show_register(page, "teacher_reservations")
    seen["reservation"] = records.row_of(table, "ISBN", done["reserved_isbn"])

    # ------------------------------------------------------------ ledgers
    table = records.show_ledger(page, "general")
    seen["general"] = {line[0]: line for line in records.rows(table)}
    seen["general_headers"] = records.headers(table)
    filename, text = records.export_csv(page, downloads)
    seen["general_csv"] = {"filename": filename, "lines": text.splitlines()}
    checked(page, "records-ledgers")
    table = records.show_ledger(page, "general", campus="south")
    seen["general_south"] = {line[0]: line for line in records.rows(table)}
    table = records.show_ledger(page, "classification")
    seen["classification"] = {line[0]: line for line in records.rows(table)}
    records.show_ledger(page, "writeoffs")
    by_reason = page.locator(".table-wrap.by-reason")
    seen["writeoffs_by_reason"] = records.rows(by_reason)

    # ------------------------------------------------------------ the term report
    term = done["term"]
    shown = records.show_term_report(page, term)
    expect(shown.get_by_test_id("term-state")).to_have_text("本学期尚未结束，以下为截至目前的统计")
    seen["term_title"] = shown.get_by_role("heading", level=2).inner_text()
    seen["term_figures"] = records.figures(shown)
    checked(page, "records-terms")

    question = records.close_term(page, confirm=False)
    seen["close_question"] = question
    expect(shown.get_by_test_id("term-state")).to_have_text("本学期尚未结束，以下为截至目前的统计")
    expect(page.get_by_role("button", name="结束本学期", exact=True)).to_be_visible()
    seen["closed_after_cancel"] = api.call("GET", f"/api/terms/{term}/report")["closed"]

    records.close_term(page, confirm=True)
    expect(page.get_by_role("status").filter(has_text="已结束")).to_contain_text("工作总结已冻结")
    expect(shown.get_by_test_id("term-state")).to_have_text("本学期已结束，总结已冻结，不再变化")
    expect(page.get_by_role("button", name="结束本学期", exact=True)).to_have_count(0)
    seen["closed_after_confirm"] = api.call("GET", f"/api/terms/{term}/report")["closed"]
    tab.close()

    # A phone: the register scrolls inside itself, never the page.
    tab = Person(browser, facts, size="phone")
    page = tab.sign_in("librarian")
    tab.go("/records/registers")
    table = records.show_register(page, "staff_loans")
    assert records.row_of(table, "条码", done["staff_copy"])["教师"] == "王芳"
    checked(page, "records-registers")
    tab.close()
report(seen)
