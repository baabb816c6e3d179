"""The student catalogue (馆藏查询): the collection, and only one's own loans and notes.

王小明 (S70301) has 活着, sixteen days overdue, and 上下五千年, due in two weeks,
and a reading note about 上下五千年; 李雷 (S80601) has 从一到无穷大 and a note
about it. Each student lands on 馆藏查询 and sees his own loans with their due
dates (the overdue one marked), his own note and his term target, and nothing
of the other's. A search for 活着 shows each campus's copies, on the shelf or
lent, with shelf and due date. In English on a phone, the count reads "1 book".
"""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.scenarios.browser import Person, cells, checked, chromium, report, school, table_rows

facts = school()
seen: dict[str, object] = {}
with chromium() as browser:
    tab = Person(browser, facts)
    page = tab.sign_in("student")
    page.wait_for_url("**/#/opac")
    expect(page.get_by_role("heading", level=1)).to_have_text("馆藏查询")
    seen["loans"] = table_rows(page, "我的借阅")
    seen["warning"] = page.get_by_text("已逾期，请尽快归还").inner_text()
    seen["notes"] = table_rows(page, "我的读书笔记")
    seen["target"] = page.locator("label[for=target-progress]").inner_text()
    search = page.get_by_role("search")
    search.get_by_label("书名、作者或 ISBN").fill("活着")
    search.get_by_role("button", name="搜索").click()
    book = page.get_by_role("article", name="《活着》")
    expect(book).to_be_visible()
    seen["where"] = book.get_by_role("listitem").all_inner_texts()
    seen["copies"] = cells(book)
    seen["page"] = page.locator("main").inner_text()
    checked(page, "opac")
    tab.close()

    tab = Person(browser, facts)
    page = tab.sign_in("student-2")
    page.wait_for_url("**/#/opac")
    seen["loans-2"] = table_rows(page, "我的借阅")
    seen["notes-2"] = table_rows(page, "我的读书笔记")
    seen["page-2"] = page.locator("main").inner_text()
    tab.close()

    tab = Person(browser, facts, size="phone", language="en")
    page = tab.sign_in("student")
    expect(page.get_by_role("heading", level=1)).to_have_text("Catalogue")
    seen["warning_en"] = page.get_by_text("is overdue").inner_text()
    seen["loans_en"] = table_rows(page, "My loans")
    checked(page, "opac")
    tab.close()
report(seen)
