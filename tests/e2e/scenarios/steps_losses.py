"""Settling a lost book at the desk, as a librarian does (docs/losses.md).

The reader's lost book is listed unpaid with the amount still owed in its 缴纳金额
field: she pays all of it or a part (缴纳赔款), or brings a new copy whose barcode
is scanned (以新书赔偿). Each payment is listed with its receipt (收据), which
prints as a PDF (打印收据).
"""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

from tests.e2e.scenarios.steps_desk import result_lines, show_reader
from tests.paper import pdf_pages

RECEIPT_NUMBER = re.compile(r"收据 (\d{4}-\d{6})：")


def loss_of(page: Page, card: str, title: str) -> Locator:
    """The settling of ``card``'s lost ``title`` in her panel (shown if it is not)."""
    reader = page.get_by_test_id("reader").filter(has_text=card)
    if not reader.is_visible():
        reader = show_reader(page, card)
    unpaid = reader.get_by_test_id("unpaid").get_by_role("listitem").filter(has_text=f"《{title}》")
    return unpaid.get_by_role("group", name=f"赔偿《{title}》")


def pay(page: Page, card: str, title: str, amount: str | None = None) -> str:
    """Take a payment for the lost ``title``: ``amount`` typed over what is owed (a part),
    or what the field holds (all that is owed). The new receipt's number."""
    settle = loss_of(page, card, title)
    field = settle.get_by_label("缴纳金额（元）")
    expect(field).not_to_have_value("")
    if amount is not None:
        field.fill(amount)
    before = result_lines(page).count()
    settle.get_by_role("button", name=f"缴纳赔款《{title}》").click()
    expect(result_lines(page)).to_have_count(before + 1)
    line = result_lines(page).first
    expect(line).to_have_attribute("data-outcome", "ok")
    receipts = page.get_by_test_id("reader").get_by_test_id("receipts")
    newest = receipts.get_by_role("listitem").first
    return newest.get_by_role("button", name=re.compile(r"^打印收据 ")).get_attribute(
        "data-receipt"
    )


def owed(page: Page, card: str, title: str) -> str:
    """What the settling says was paid and is still owed (已缴 ¥10.00，尚欠 ¥20.00)."""
    line = loss_of(page, card, title).get_by_test_id("loss-owed")
    expect(line).to_be_visible()
    return line.inner_text()


def print_receipt(page: Page, number: str) -> list[str]:
    """Print a receipt with its 打印收据 button: the PDF saved, each page's text."""
    button = page.get_by_role("button", name=f"打印收据 {number}").first
    with page.expect_download() as downloaded:
        button.click()
    saved = downloaded.value
    assert saved.suggested_filename.endswith(f"{number}.pdf"), saved.suggested_filename
    with open(saved.path(), "rb") as pdf:
        return pdf_pages(pdf.read())


def replace_with_new_copy(page: Page, card: str, title: str, barcode: str) -> str:
    """Settle the lost ``title`` with a new copy: its barcode scanned into 以新书赔偿. The
    desk's line for it."""
    settle = loss_of(page, card, title)
    field = settle.get_by_label("以新书赔偿：扫描新书条码")
    before = result_lines(page).count()
    field.press_sequentially(barcode)
    field.press("Enter")
    expect(result_lines(page)).to_have_count(before + 1)
    line = result_lines(page).first
    expect(line).not_to_have_attribute("data-outcome", "pending")
    return line.inner_text()
