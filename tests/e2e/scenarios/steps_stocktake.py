"""The stock-take's steps (清点), as a librarian does them at the screen 图书清点.

Each step uses the labels a person reads (清点校区, 书架范围, 扫描图书条码, 扫描器文件)
and waits for what the screen says back (the running count, the last scan, the
report's heading), then gives back what it shows, so a scenario asserts the words.
"""

from __future__ import annotations

import time

from playwright.sync_api import Page, expect

from tests.e2e.scenarios.browser import cells

CAMPUSES = {"north": "北区", "south": "南区"}


def open_stocktake(page: Page, campus: str = "north", classes: str = "") -> str:
    """Start a stock-take of a campus (and of the shelves of ``classes``); its id."""
    page.get_by_label("清点校区").select_option(label=CAMPUSES[campus])
    page.get_by_label("书架范围（分类号，可留空）").fill(classes)
    page.get_by_role("button", name="开始清点", exact=True).click()
    heading = page.get_by_role("heading", name="清点 ST", exact=False).first
    expect(heading).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="已清点 0 册")).to_be_visible()
    return heading.inner_text().split()[-1]


def counted(page: Page) -> str:
    """The running count as shown (已清点 N 册)."""
    return page.locator(".current .count").inner_text()


def scan(page: Page, barcode: str) -> str:
    """Scan one barcode (typed and Enter, as the scanner does); what the last scan says."""
    field = page.get_by_label("扫描图书条码")
    last = page.get_by_test_id("last-scan")
    before = int(last.get_attribute("data-scans") or 0) if last.count() else 0
    field.fill(barcode)
    field.press("Enter")
    expect(last).to_have_attribute("data-scans", str(before + 1))
    expect(field).to_be_focused()
    return last.inner_text()


def upload(page: Page, name: str, content: bytes) -> list[str]:
    """Upload a handheld scanner's file; the summary and the bad lines as shown."""
    page.get_by_label("扫描器文件").set_input_files(
        files=[{"name": name, "mimeType": "text/plain", "buffer": content}]
    )
    page.get_by_role("button", name="上传并清点", exact=True).click()
    summary = page.locator(".uploaded .success")
    expect(summary).to_be_visible()
    return [summary.inner_text(), *page.locator(".bad-lines li").all_inner_texts()]


def close_stocktake(page: Page, stocktake_id: str) -> None:
    """结束清点, confirmed (确定); waits for the report's heading."""
    page.get_by_role("button", name="结束清点", exact=True).click()
    dialog = page.get_by_role("dialog", name=f"结束清点 {stocktake_id}？")
    dialog.get_by_role("button", name="确定", exact=True).click()
    expect(page.get_by_role("heading", name=f"清点结果 {stocktake_id}")).to_be_visible()


def report_figures(page: Page) -> dict[str, str]:
    """The report's figures as shown: {缺失: "2 册", ...}."""
    figures = page.locator(".report dl.figures")
    terms = figures.locator("dt").all_inner_texts()
    values = figures.locator("dd").all_inner_texts()
    return dict(zip(terms, values, strict=True))


def weed_twice_missing(page: Page, campus: str = "north") -> tuple[list[str], str]:
    """List the copies missing twice in a row at a campus, weed them all as lost; the
    barcodes listed and what the screen says after."""
    section = page.locator("section.weed")
    section.get_by_label("校区").select_option(label=CAMPUSES[campus])
    section.get_by_role("button", name="列出", exact=True).click()
    table = section.locator(".twice-missing table")
    expect(table).to_be_visible()
    listed = [row[0] for row in cells(table)]
    section.get_by_role("button", name="全部按丢失剔除", exact=False).click()
    page.get_by_role("dialog").get_by_role("button", name="确定", exact=True).click()
    done = section.get_by_role("status")
    expect(done).to_contain_text("已按丢失剔除")
    return listed, done.inner_text()


def copy_shows_status(page: Page, barcode: str, words: str, within: float = 20) -> None:
    """Open the copy's page until its status (状态) reads ``words``: a change another
    service makes (circulation's return of a copy found on loan) is not pushed to that
    page, so it is asked again, as a librarian would refresh it."""
    deadline = time.monotonic() + within
    while True:
        page.goto(f"/#/copies/{barcode}")
        page.reload()
        status = page.locator('dd[data-field="status"]')
        expect(status).to_be_visible()
        if status.inner_text() == words or time.monotonic() > deadline:
            break
    expect(status).to_have_text(words)
