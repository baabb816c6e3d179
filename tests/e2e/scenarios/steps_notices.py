"""Sending overdue notices from the class screen, as a librarian does, for any scenario.

The part "逾期通知" (web/src/screens/teacher/OverdueNotices.vue) of 我的班级 sends the
chosen class's overdue list to its class teacher, or every class's; it answers who
was told and who has no address, and lists the notices sent. Chinese screens' words.
"""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

from tests.e2e.scenarios.browser import class_words, table_rows


def notices_part(page: Page) -> Locator:
    return page.get_by_role("region", name="逾期通知")


def send_class_notice(page: Page, class_code: str) -> Locator:
    """Press "给<class>班主任发送逾期通知"; the answer, once it has come."""
    part = notices_part(page)
    part.get_by_role("button", name=f"给{class_words(class_code)}班主任发送逾期通知").click()
    answer = part.get_by_role("status").filter(has_not_text="正在发送")
    expect(answer).to_be_visible()
    return answer


def send_every_notice(page: Page) -> Locator:
    part = notices_part(page)
    part.get_by_role("button", name="给全部班级发送逾期通知").click()
    answer = part.get_by_role("status").filter(has_not_text="正在发送")
    expect(answer).to_be_visible()
    return answer


def sent_notices(page: Page) -> list[list[str]]:
    return table_rows(page, "最近发送的通知")
