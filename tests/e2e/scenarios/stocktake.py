"""The stock-take (清点) at the screen 图书清点, in Chinese, at a desk and on a phone.

The librarian opens a stock-take of the north campus's I2 shelves, scans copies
(one twice, one of the south campus, an unknown barcode), uploads a scanner's
file with a bad line, closes it and reads the report; a second stock-take finds
the same copies missing, and they are weeded as lost in one command.
"""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.scenarios.browser import Person, checked, chromium, report, school, table_rows
from tests.e2e.scenarios.steps_desk import lend
from tests.e2e.scenarios.steps_stocktake import (
    close_stocktake,
    copy_shows_status,
    counted,
    open_stocktake,
    report_figures,
    scan,
    upload,
    weed_twice_missing,
)

facts = school()
copies = facts["barcodes"]
novel, alive, south = copies["红楼梦@north"], copies["活着@north"], copies["活着@south"]
seen: dict = {}
with chromium() as browser:
    tab = Person(browser, facts)
    page = tab.sign_in("librarian")
    # A copy on loan that is back on the shelf unnoticed (the reader left it there).
    page.goto("/#/desk/lend")
    page.get_by_label("本借还台校区").select_option(label="北区")
    seen["lent"] = lend(page, "S70301", [novel[2]])
    page.get_by_role("navigation").first.get_by_role("link", name="图书清点").click()
    expect(page.get_by_role("heading", name="图书清点", exact=True)).to_be_visible()
    seen["empty"] = page.get_by_text("还没有清点记录").is_visible()

    first = open_stocktake(page, "north", "I2")
    seen["stocktake_id"] = first
    seen["scope"] = page.locator(".current .muted").first.inner_text()
    seen["scans"] = [
        scan(page, novel[0]),
        scan(page, novel[0]),
        scan(page, south[0]),
        scan(page, "C99999999"),
        scan(page, novel[2]),
    ]
    seen["count_after_scans"] = counted(page)
    checked(page, "stocktake")
    text = f"{novel[1]}\n书架!\n{alive[0]}\n".encode("gbk")
    seen["upload"] = upload(page, "scanner.txt", text)
    seen["count_after_upload"] = counted(page)

    # The copy found on loan was returned for its reader: its page says 在架 again.
    copy_shows_status(page, novel[2], "在架")
    page.goto("/#/stocktake")  # back to the open stock-take
    expect(page.get_by_role("heading", name=f"清点 {first}")).to_be_visible()
    close_stocktake(page, first)
    seen["figures"] = report_figures(page)
    seen["missing"] = [row[0] for row in table_rows(page, "缺失图书（账面在架，清点时未找到）")]
    seen["misplaced"] = table_rows(page, "错架图书")
    seen["found_on_loan"] = [row[0] for row in table_rows(page, "借出中发现的图书（已自动还书）")]
    with page.expect_download() as saved:
        page.get_by_role("button", name="导出 Excel", exact=True).click()
    seen["download"] = saved.value.suggested_filename
    checked(page, "stocktake-report")

    second = open_stocktake(page, "north", "I2")
    close_stocktake(page, second)
    seen["weeded"] = weed_twice_missing(page, "north")
    tab.close()

    phone = Person(browser, facts, size="phone")
    page = phone.sign_in("librarian")
    page = phone.go(f"/stocktake/{first}")
    expect(page.get_by_role("heading", name=f"清点结果 {first}")).to_be_visible()
    checked(page, "stocktake-phone")
    page = phone.go("/stocktake")
    open_stocktake(page, "south")
    seen["phone_scan"] = scan(page, south[1])
    checked(page, "stocktake-open-phone")
    phone.close()

    english = Person(browser, facts, language="en")
    page = english.sign_in("librarian")
    page = english.go(f"/stocktake/{first}")
    expect(page.get_by_role("heading", name=f"Stock-take report {first}")).to_be_visible()
    seen["english_missing"] = table_rows(page, "Missing (on the shelf in the books, not found)")
    checked(page, "stocktake-en")
    english.close()
report(seen)
