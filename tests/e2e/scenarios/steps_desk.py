"""The desk's steps, as a person at the desk does them: scan, read the line, go on.

A barcode scanner types the code and then Enter; these steps type into the field
by its label (读者证号, 条码) the same way, then wait for the line the desk shows
for that scan (no sleeps) and give back its words, so a scenario asserts what the
screen said. Each step opens its tab (借书, 还书, 续借, 今日记录) by its name, so
the lead's day-long scenario can call them in any order. A librarian's steps at the
reader's panel: declare a loan lost (丢失), take the payment (缴纳赔款), reserve a
title for the reader (预约).
"""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

TABS = {"lend": "借书", "return": "还书", "renew": "续借", "today": "今日记录"}


def open_tab(page: Page, tab: str) -> None:
    """Open a desk tab by its link (the desk's address first if it is not shown)."""
    if not page.get_by_role("navigation", name="借还台功能").is_visible():
        page.evaluate(f"() => {{ location.hash = '#/desk/{tab}'; }}")  # as the menu's link does
    link = page.get_by_role("navigation", name="借还台功能").get_by_role(
        "link", name=TABS[tab], exact=True
    )
    if link.get_attribute("aria-current") != "page":  # the tab's field takes the focus
        link.click()
    expect(link).to_have_attribute("aria-current", "page")


def result_lines(page: Page) -> Locator:
    """This session's lines, newest first."""
    return page.locator(".desk-results ol.results > li")


def scan(page: Page, label: str, code: str) -> None:
    """Type ``code`` into the field labelled ``label`` and press Enter, as a scanner does."""
    field = page.get_by_label(label, exact=True)
    expect(field).to_be_focused()
    field.press_sequentially(code)
    field.press("Enter")


def scan_and_read(page: Page, label: str, code: str) -> str:
    """Scan ``code`` and wait for its line to say how it went; the line's words."""
    before = result_lines(page).count()
    scan(page, label, code)
    expect(result_lines(page)).to_have_count(before + 1)
    line = result_lines(page).first
    expect(line).to_have_attribute("data-barcode", code)
    expect(line).not_to_have_attribute("data-outcome", "pending")
    return line.inner_text()


def show_reader(page: Page, card: str) -> Locator:
    """Scan a reader's card on the 借书 tab (Escape first, if another reader is shown);
    her panel once it shows her card number."""
    open_tab(page, "lend")
    if page.get_by_test_id("reader").count():
        next_reader(page)
    scan(page, "读者证号", card)
    reader = page.get_by_test_id("reader")
    expect(reader).to_contain_text(card)
    expect(page.get_by_label("条码", exact=True)).to_be_focused()
    return reader


def lend(page: Page, card: str, barcodes: list[str]) -> list[str]:
    """Lend ``barcodes`` to ``card`` by scanning: the line shown for each, in order."""
    show_reader(page, card)
    return [scan_and_read(page, "条码", barcode) for barcode in barcodes]


def next_reader(page: Page) -> None:
    """Escape clears the reader: the card field is empty and has the focus."""
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("reader")).to_have_count(0)
    expect(page.get_by_label("读者证号", exact=True)).to_be_focused()


def return_books(page: Page, barcodes: list[str], damaged: bool = False) -> list[str]:
    """Return ``barcodes`` by scanning, each marked damaged with F2 first if asked."""
    open_tab(page, "return")
    lines = []
    for barcode in barcodes:
        if damaged:
            page.get_by_label("条码", exact=True).press("F2")
            expect(page.get_by_label("损坏", exact=True)).to_be_checked()
        lines.append(scan_and_read(page, "条码", barcode))
        expect(page.get_by_label("损坏", exact=True)).not_to_be_checked()
    return lines


def renew(page: Page, barcode: str) -> str:
    """Renew a book by scanning it on the 续借 tab: its line."""
    open_tab(page, "renew")
    return scan_and_read(page, "条码", barcode)


def renew_from_list(page: Page, card: str, title: str) -> str:
    """Renew a reader's loan with the 续借 button beside it in her list: the line."""
    reader = show_reader(page, card)
    before = result_lines(page).count()
    reader.get_by_role("button", name=f"续借《{title}》").click()
    expect(result_lines(page)).to_have_count(before + 1)
    line = result_lines(page).first
    expect(line).not_to_have_attribute("data-outcome", "pending")
    return line.inner_text()


def today(page: Page, at_least: int = 1) -> list[str]:
    """The 今日记录 table once it lists at least ``at_least`` rows: each row's words."""
    open_tab(page, "today")
    rows = page.locator(".desk table tbody tr:not(:has(td.empty))")
    expect(rows.nth(at_least - 1)).to_be_visible()
    return rows.all_inner_texts()


def declare_lost(page: Page, card: str, title: str) -> str:
    """A librarian declares ``card``'s loan of ``title`` lost with 丢失: the confirmation
    shows what is to be paid (照价赔偿); she confirms, and the loss is listed unpaid with
    缴纳赔款. The confirmation's words (the amount among them)."""
    reader = show_reader(page, card)
    reader.get_by_role("button", name=f"丢失《{title}》").click()
    confirmation = reader.get_by_test_id("lost-confirm")
    expect(confirmation.get_by_test_id("lost-amount")).to_contain_text("照价赔偿")
    words = confirmation.inner_text()
    confirm = confirmation.get_by_role("button", name="确认丢失")
    expect(confirm).to_be_focused()
    confirm.press("Enter")
    expect(confirmation).to_have_count(0)
    unpaid = reader.get_by_test_id("unpaid").get_by_role("listitem").filter(has_text=f"《{title}》")
    expect(unpaid).to_have_count(1)
    expect(reader.get_by_role("button", name=f"丢失《{title}》")).to_have_count(0)
    expect(unpaid.get_by_role("button", name=f"缴纳赔款《{title}》")).to_be_focused()
    return words


def take_payment(page: Page, card: str, title: str) -> str:
    """A librarian takes ``card``'s payment for the lost ``title`` (缴纳赔款): the loss
    leaves the unpaid list and a receipt is shown. The receipt's words (收据: ...)."""
    reader = page.get_by_test_id("reader").filter(has_text=card)
    if not reader.is_visible():  # her panel is not shown (her losses, once declared, are)
        reader = show_reader(page, card)
    unpaid = reader.get_by_test_id("unpaid").get_by_role("listitem").filter(has_text=f"《{title}》")
    unpaid.get_by_role("button", name=f"缴纳赔款《{title}》").click()
    receipt = reader.get_by_test_id("receipts").get_by_role("listitem").filter(has_text=title)
    expect(receipt.first).to_contain_text("收据")
    expect(unpaid).to_have_count(0)
    return receipt.first.get_by_test_id("receipt-line").inner_text()  # not its 打印收据


def reserve_for(page: Page, card: str, query: str) -> str:
    """Reserve, at this desk's campus, the first title a search for ``query`` finds for
    ``card`` (预约): her reservations list shows it at once. That line's words."""
    reader = show_reader(page, card)
    field = reader.get_by_label("书名、作者或 ISBN", exact=True)
    field.fill(query)
    field.press("Enter")
    found = reader.get_by_test_id("reserve-results").get_by_role("listitem").first
    expect(found).to_be_visible()
    title = found.locator("strong").inner_text().split("》")[0].lstrip("《")
    found.get_by_role("button", name=re.compile(r"^为.+预约《")).click()
    line = (
        reader.get_by_test_id("reservations")
        .get_by_role("listitem")
        .filter(has_text=f"《{title}》")
    )
    expect(line).to_have_count(1)
    expect(result_lines(page).first).to_have_attribute("data-outcome", "ok")
    return line.inner_text()
