"""The catalogue on the screens: a librarian adds a title, finds it, and works one copy.

She catalogues 围城 with three copies and sees their barcodes (a blank form is
refused field by field, in Chinese); the search shows the new title at once, one
line with its copies at 北区 and 南区, found by title, ISBN, author and class;
on a copy's page she marks it damaged, repaired, transfers it to 南区 (it is in
transit until 南区 receives it), receives it, and weeds it with a reason; each
step shows on the page at once and in the copy's timeline with her name.

``python -m tests.e2e.scenarios.catalogue pinyin`` instead finds 红楼梦 by its
pinyin (hongloumeng) and initials (hlm), as Chinese readers type.
"""

from __future__ import annotations

import re
import sys

from playwright.sync_api import Page, expect

from tests.e2e.scenarios.browser import Person, checked, chromium, report, school
from tests.e2e.scenarios.steps_catalogue import (
    add_title,
    copies_of,
    copy_action,
    fact,
    find,
    go,
    open_copy,
    timeline,
    title_line,
)
from tests.paper import pdf_pages, squeezed

TITLE = "围城"
AUTHOR = "钱锺书"
ISBN = "978-7-02-002475-9"  # 人民文学出版社's; its check digit is right
CLASS = "I246.57"


def refused_field_by_field(page: Page) -> list[str]:
    """A blank form and a wrong ISBN: each field says what is wrong, next to it."""
    go(page, "/catalogue/new")
    page.get_by_role("button", name="登记入藏").click()
    expect(page.get_by_role("alert")).to_have_text("请修改标出的内容后再提交")
    expect(page.locator("#book-title-error")).to_have_text("请填写书名")
    expect(page.locator("#book-campus-error")).to_have_text("请选择校区")
    expect(page.get_by_label("书名", exact=True)).to_have_attribute("aria-invalid", "true")
    page.get_by_label("ISBN", exact=True).fill("978-7-02-002475-0")
    page.get_by_label("定价（元）").fill("39.505")
    page.get_by_role("button", name="登记入藏").click()
    expect(page.locator("#book-isbn-error")).to_contain_text("ISBN 不正确")
    expect(page.locator("#book-price-error")).to_contain_text("定价不正确")
    checked(page, "catalogue-new")
    return page.locator(".field-error").all_inner_texts()


def catalogue_day(page: Page, librarian: str) -> dict:
    seen: dict = {}
    go(page, "/catalogue")
    expect(page.get_by_role("heading", name="编目", level=1)).to_be_visible()
    checked(page, "catalogue")

    seen["refusals"] = refused_field_by_field(page)
    barcodes = add_title(
        page, isbn=ISBN, title=TITLE, author=AUTHOR, classification=CLASS, campus="north",
        shelf="N-I-02", price="39.00", copies=3,
    )  # fmt: skip
    assert len(set(barcodes)) == 3, barcodes
    seen["barcodes"] = barcodes

    # Their labels, printed at once from the same page (one run of barcodes).
    with page.expect_download() as download:
        page.get_by_role("button", name="打印这些书的条码标签").click()
    with open(download.value.path(), "rb") as file:
        printed = squeezed("".join(pdf_pages(file.read())))
    seen["labels"] = [barcode for barcode in barcodes if barcode in printed]

    # The link under the new barcodes: the search shows the title at once.
    page.get_by_role("link", name="在检索中查看").click()
    line = title_line(page, TITLE)
    expect(line).to_contain_text(f"{AUTHOR} · ISBN {ISBN} · 分类号 {CLASS}")
    expect(line).to_contain_text("北区：可借 3 / 共 3 册")
    expect(line).to_contain_text("南区：无")
    checked(page, "catalogue-search")

    found = {}
    for q in (TITLE, ISBN.replace("-", ""), AUTHOR, CLASS):
        find(page, q)
        expect(title_line(page, TITLE)).to_have_count(1)
        found[q] = page.locator("li.title-line h3").all_inner_texts()
    seen["found"] = found

    rows = copies_of(page, TITLE)
    expect(rows).to_have_count(3)
    for barcode in barcodes:
        expect(rows.filter(has_text=barcode)).to_contain_text("在架")
    barcode = barcodes[0]
    rows.filter(has_text=barcode).get_by_role("link", name=barcode).click()

    open_copy(page, barcode)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"《{TITLE}》")
    expect(fact(page, "状态")).to_have_text("在架")
    expect(fact(page, "定价（元）")).to_have_text("¥39.00")
    expect(timeline(page)).to_have_count(1)
    expect(timeline(page).first).to_contain_text("编目入藏：北区，书架 N-I-02，采购，定价 ¥39.00")
    expect(timeline(page).first).to_contain_text(f"经办人：{librarian}")
    checked(page, "copy")

    copy_action(page, barcode, "damage", note="封面破损")
    expect(fact(page, "状态")).to_have_text("修补中")
    expect(page.get_by_text("不可借", exact=True)).to_be_visible()
    expect(timeline(page).last).to_contain_text("登记损坏，下架待修补")
    expect(timeline(page).last).to_contain_text("备注：封面破损")

    copy_action(page, barcode, "repair")
    expect(fact(page, "状态")).to_have_text("在架")
    expect(timeline(page).last).to_contain_text("修补完成，重新上架")

    copy_action(page, barcode, "transfer", shelf="S-I-02")
    expect(page.get_by_role("status")).to_have_text("已调拨到南区")
    expect(fact(page, "校区")).to_have_text("南区")
    expect(fact(page, "书架")).to_have_text("S-I-02")
    expect(page.locator("dl.facts")).to_contain_text("在途")
    expect(page.locator("dl.facts")).to_contain_text("从北区送往南区")
    expect(page.get_by_role("main")).to_contain_text("调拨：北区→南区，书架 S-I-02")
    expect(timeline(page).last).to_contain_text("在途：从北区送往南区")
    checked(page, "copy-in-transit")

    copy_action(page, barcode, "receive")
    expect(fact(page, "状态")).to_have_text("在架")
    expect(timeline(page).last).to_contain_text("已接收：在南区到馆上架")

    # Weeding needs a reason: without one the form says so and nothing is done.
    page.get_by_role("button", name="剔除", exact=True).click()
    expect(page.get_by_text("剔除后该书不能再借出，此操作不能撤销。")).to_be_visible()
    page.get_by_role("button", name="确认剔除").click()
    expect(page.locator("#copy-reason-error")).to_have_text("请选择剔除原因")
    page.get_by_role("button", name="取消").click()
    copy_action(page, barcode, "weed", reason="内容陈旧")
    expect(fact(page, "状态")).to_have_text("已剔除")
    expect(fact(page, "剔除原因")).to_have_text("内容陈旧")
    expect(timeline(page).last).to_contain_text("剔除：内容陈旧（金额 ¥39.00）")
    expect(page.get_by_role("heading", name="操作")).to_have_count(0)

    steps = timeline(page)
    expect(steps).to_have_count(7)
    texts = steps.all_inner_texts()
    assert all(f"经办人：{librarian}" in text for text in texts), texts
    seen["timeline"] = steps.locator(".what").all_inner_texts()

    # In search, the weeded copy no longer counts: 2 held at 北区, none moved to 南区.
    find(page, TITLE)
    expect(title_line(page, TITLE)).to_contain_text("北区：可借 2 / 共 2 册")
    return seen


def pinyin(page: Page) -> dict:
    """红楼梦 by its pinyin in full and by initials, the way Chinese readers type."""
    found = {}
    for q in ("hongloumeng", "hlm", "HongLouMeng", "caoxueqin"):
        find(page, q)
        expect(title_line(page, "红楼梦")).to_have_count(1)
        found[q] = page.locator("li.title-line h3").all_inner_texts()
    return found


def main() -> None:
    facts = school()
    librarian = facts["people"]["librarian"]["name"]
    with chromium() as browser:
        tab = Person(browser, facts)
        page = tab.sign_in("librarian")
        if sys.argv[1:] == ["pinyin"]:
            seen = {"pinyin": pinyin(page)}
        else:
            seen = catalogue_day(page, librarian)
            tab.close()
            # The same at a phone's width: the search and a copy's page fit.
            tab = Person(browser, facts, size="phone")
            page = tab.sign_in("librarian")
            find(page, TITLE)
            checked(page, "catalogue-search")
            go(page, f"/copies/{seen['barcodes'][1]}")
            expect(page.get_by_role("heading", name=re.compile("流转记录"))).to_be_visible()
            checked(page, "copy")
        tab.close()
    report(seen)


if __name__ == "__main__":
    main()
