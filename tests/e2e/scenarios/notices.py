"""A librarian sends the overdue notices from 我的班级 and sees who was told.

The test gave 王芳 (T001, 初一(3)班) an address and lent 王小明 活着 thirty days ago;
the mail box the test runs catches the e-mail. The librarian opens 初一(3)班 on
我的班级, presses 给初一(3)班班主任发送逾期通知, reads "已通知 王芳（...）：初一(3)班，1 册",
and sees the notice in 最近发送的通知; on a phone too, without scrolling sideways.
"""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.scenarios.browser import Person, checked, chromium, report, school
from tests.e2e.scenarios.steps_notices import send_class_notice, sent_notices

facts = school()
seen: dict[str, object] = {}
with chromium() as browser:
    for size in ("desk", "phone"):
        tab = Person(browser, facts, size=size)
        page = tab.sign_in("librarian")
        tab.go("/teacher?class=G7-3")
        expect(page.get_by_role("heading", level=1)).to_have_text("我的班级")
        answer = send_class_notice(page, "G7-3")
        expect(answer).to_contain_text("已通知 王芳")
        seen[f"answer-{size}"] = answer.inner_text()
        expect(page.get_by_role("table", name="最近发送的通知").locator("tbody tr")).to_have_count(
            1 if size == "desk" else 2
        )
        seen[f"sent-{size}"] = sent_notices(page)
        checked(page, f"notices-{size}")
        tab.close()
report(seen)
