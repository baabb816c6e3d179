"""The catalogue's steps as a librarian takes them on the screens, for any scenario.

Each step does what a person does (fills the labelled fields, presses the named
buttons) and waits for what the screen then shows, never for a time; it returns
what the next step needs (the new barcodes, a title's line). The words are the
Chinese screens' (the default language).
"""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

# The copy page's buttons (and the words its success message starts with).
ACTIONS = {
    "damage": ("损坏", "确认登记损坏", "已登记损坏"),
    "repair": ("修补", "确认修补完成", "已修补"),
    "weed": ("剔除", "确认剔除", "已剔除"),
    "transfer": ("调拨", "确认调拨", "已调拨到"),
    "receive": ("接收", "确认接收", "已接收"),
}
CAMPUS = {"north": "北区", "south": "南区"}


def go(page: Page, path: str) -> Page:
    """Open a screen by its address within the page (the tab keeps what it has read),
    once the sign-in has taken the person to their first screen; returns when the
    address and the menu say the screen is open."""
    page.wait_for_function(
        "() => location.hash.length > 2 && !location.hash.startsWith('#/sign-in')"
    )
    page.evaluate("path => { location.hash = path }", path)
    page.wait_for_function(
        """path => decodeURI(location.hash) === '#' + path
                  && [...document.querySelectorAll('#menu a.router-link-active')]
                       .every(a => ('#' + path).startsWith(a.getAttribute('href')))""",
        arg=path,
    )
    return page


def add_title(
    page: Page,
    *,
    isbn: str,
    title: str,
    author: str,
    classification: str,
    campus: str,
    shelf: str,
    price: str,
    copies: int = 1,
    donation: bool = False,
    reference_only: bool = False,
) -> list[str]:
    """Catalogue a title with its copies on 新增图书; the barcodes the screen gives them."""
    go(page, "/catalogue/new")
    expect(page.get_by_role("heading", name="新增图书", level=1)).to_be_visible()
    page.get_by_label("ISBN", exact=True).fill(isbn)
    page.get_by_label("书名", exact=True).fill(title)
    page.get_by_label("作者", exact=True).fill(author)
    page.get_by_label("分类号", exact=True).fill(classification)
    page.get_by_label("校区", exact=True).select_option(label=CAMPUS[campus])
    page.get_by_label("书架", exact=True).fill(shelf)
    page.get_by_label("定价（元）").fill(price)
    page.get_by_label("册数").fill(str(copies))
    page.get_by_label("捐赠" if donation else "采购", exact=True).check()
    page.get_by_label("工具书", exact=True).set_checked(reference_only)
    page.get_by_role("button", name="登记入藏").click()
    added = page.get_by_role("status")
    expect(added).to_contain_text(f"已登记《{title}》{copies} 册，条码如下：")
    barcodes = page.get_by_role("list", name="新条码").get_by_role("link")
    expect(barcodes).to_have_count(copies)
    return barcodes.all_inner_texts()


def find(page: Page, q: str) -> Locator:
    """Search the collection for ``q`` on 编目; the lines of the titles found."""
    go(page, "/catalogue")
    expect(page).not_to_have_url(re.compile(r"q="))
    expect(page.get_by_role("status")).to_have_count(0)
    page.get_by_label("检索词").fill(q)
    page.get_by_role("button", name="检索", exact=True).click()
    expect(page.get_by_role("status")).to_have_text(re.compile(r"找到|没有找到"))
    expect(page).to_have_url(re.compile(r"q="))
    return page.locator("li.title-line")


def title_line(page: Page, title: str) -> Locator:
    """The line of one title among the results."""
    return page.locator("li.title-line").filter(
        has=page.get_by_role("heading", name=re.compile(f"^{re.escape(title)}"))
    )


def copies_of(page: Page, title: str) -> Locator:
    """Open a title's line; the rows of its copies."""
    line = title_line(page, title)
    line.get_by_role("button", name=re.compile("查看复本")).click()
    table = line.get_by_role("table")
    expect(table).to_be_visible()
    return table.locator("tbody tr")


def open_copy(page: Page, barcode: str) -> Page:
    """The copy's page (#/copies/<barcode>), with its facts shown."""
    if f"#/copies/{barcode}" not in page.url:
        go(page, f"/copies/{barcode}")
    expect(page.locator("main")).to_contain_text(f"条码 {barcode}")
    expect(page.get_by_role("heading", name="基本信息")).to_be_visible()
    return page


def fact(page: Page, name: str) -> Locator:
    """One fact of the copy page (状态, 校区, 书架...)."""
    return page.locator("dl.facts dt", has_text=re.compile(f"^{re.escape(name)}$")).locator(
        "xpath=following-sibling::dd[1]"
    )


def copy_action(
    page: Page,
    barcode: str,
    action: str,
    *,
    reason: str | None = None,
    shelf: str | None = None,
    note: str = "",
) -> str:
    """Damage, repair, weed (``reason`` as worded, e.g. 内容陈旧), transfer (to ``shelf``
    at the other campus) or receive a copy on its page; the success message shown."""
    open_copy(page, barcode)
    button, confirm, done = ACTIONS[action]
    page.get_by_role("button", name=button, exact=True).click()
    if reason is not None:
        page.get_by_label("剔除原因").select_option(label=reason)
    if shelf is not None:
        page.get_by_label("新书架").fill(shelf)
    if note:
        page.get_by_label("备注").fill(note)
    page.get_by_role("button", name=confirm).click()
    message = page.get_by_role("status")
    expect(message).to_contain_text(done)
    return message.inner_text()


def timeline(page: Page) -> Locator:
    """The steps of the copy's history, oldest first."""
    return page.get_by_role("list", name="该书的流转记录，按时间先后").get_by_role("listitem")
