"""The class teacher's screen: her class's overdue books, clearance and targets, and no other's.

王芳 (T001) teaches 初一(3)班 (G7-3). The test has lent 王小明 活着 thirty days
ago (sixteen days overdue) and 李雷 of 初二(6)班 a book as long ago. She lands on
我的班级 and sees 王小明's overdue book with its barcode, due date and days
overdue, and nothing of 李雷's; her class's clearance and term targets; she
reserves 红楼梦 for herself from the search box and sees the reservation.
Naming 初二(6)班 in the address gets the refusal in words, and no data.
"""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.scenarios.browser import Person, checked, chromium, report, school, table_rows

facts = school()
seen: dict[str, object] = {}
with chromium() as browser:
    for size in ("desk", "phone"):
        tab = Person(browser, facts, size=size)
        page = tab.sign_in("teacher")
        page.wait_for_url("**/#/teacher")
        expect(page.get_by_role("heading", level=1)).to_have_text("我的班级")
        seen[f"overdue-{size}"] = table_rows(page, "初一(3)班逾期未还图书")
        expect(page.get_by_text("共 1 本逾期未还")).to_be_visible()
        seen["clearance"] = page.get_by_text("已清还").inner_text()
        seen["outstanding"] = table_rows(page, "尚未清还的学生")
        seen["targets"] = table_rows(page, "各班达标情况")
        seen["page"] = page.locator("main").inner_text()
        checked(page, "teacher")
        tab.close()

    tab = Person(browser, facts)
    page = tab.sign_in("teacher")
    search = page.get_by_role("search")
    search.get_by_label("书名、作者或 ISBN").fill("红楼梦")
    search.get_by_role("button", name="搜索").click()
    book = page.get_by_role("article", name="《红楼梦》")
    expect(book).to_contain_text("北区：在架 3 册 / 共 3 册")
    book.get_by_role("button", name="在北区预约《红楼梦》").click()
    expect(page.get_by_role("status").filter(has_text="已预约")).to_have_text(
        "已预约《红楼梦》，到书后请到北区取书"
    )
    seen["reservations"] = table_rows(page, "我的预约")

    # Another class, asked for in the address: refused in words, nothing shown.
    tab.go("/teacher?class=G8-6")
    refusal = page.get_by_role("alert")
    expect(refusal).to_have_text(
        "初二(6)班不是您的班级，只能查看自己班级的情况（您的班级：初一(3)班）"
    )
    expect(page.get_by_role("table", name="初二(6)班逾期未还图书")).to_have_count(0)
    seen["refused_page"] = page.locator("main").inner_text()
    checked(page, "teacher-refused")
    tab.close()
report(seen)
