"""The cards' steps as a librarian or assistant takes them on the screens, for any scenario.

Issue a card, import a roster file, find a card and block, unblock or retire
it, and ask for a class's or a grade's leavers' clearance. Each step waits for
what the screen shows next (in Chinese) and returns what the next step needs.
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from tests.e2e.scenarios.browser import class_words
from tests.e2e.scenarios.steps_catalogue import go

KINDS = {"student": "学生", "teacher": "教师", "class_corner": "班级图书角"}
CAMPUS = {"north": "北区", "south": "南区"}
GRADE = re.compile(r"^G(1[0-2]|[1-9])$")


def issue_card(
    page: Page,
    *,
    name: str,
    kind: str = "student",
    class_name: str | None = None,
    campus: str = "north",
    patron_id: str | None = None,
) -> str:
    """Issue a card on 办证; the card number the screen says it has."""
    go(page, "/cards/issue")
    expect(page.get_by_role("heading", name="办理借书证")).to_be_visible()
    page.get_by_label("借书证号").fill(patron_id or "")
    page.get_by_label("姓名").fill(name)
    page.get_by_label("类型").select_option(label=KINDS[kind])
    page.get_by_label("班级").fill(class_name or "")
    page.get_by_label("校区").select_option(label=CAMPUS[campus])
    page.get_by_role("button", name="办证", exact=True).click()
    issued = page.get_by_role("status")
    expect(issued).to_contain_text(f"已为{name}办理借书证，借书证号 ")
    return issued.inner_text().rsplit(" ", 1)[-1]


def import_roster(page: Page, path: Path) -> Locator:
    """Upload a roster file on 导入名单; the result (its summary, bad rows, cards issued)."""
    go(page, "/cards/import")
    expect(page.get_by_role("heading", name="导入名单", level=2)).to_be_visible()
    page.get_by_label("名单文件（Excel 或 CSV）").set_input_files(str(path))
    page.get_by_role("button", name="导入", exact=True).click()
    result = page.locator("section", has=page.locator("#roster-result"))
    expect(result.get_by_role("status")).to_contain_text("已办证")
    return result


def find_card(page: Page, patron_id: str) -> Locator:
    """Find a card on 管理; the card's panel."""
    go(page, "/cards/manage")
    page.get_by_label("借书证号").fill(patron_id)
    page.get_by_role("button", name="查找").click()
    panel = page.locator("section", has=page.get_by_role("heading", name="借书证信息"))
    expect(panel.locator("dl.facts")).to_contain_text(patron_id)
    return panel


def card_status(panel: Locator) -> Locator:
    """The card's status as the panel says it (正常, 已停用, 已注销)."""
    return panel.locator("dt", has_text=re.compile("^状态$")).locator(
        "xpath=following-sibling::dd[1]"
    )


def block_card(page: Page, patron_id: str, reason: str) -> Locator:
    """停用 with a reason; the card's panel once it says 已停用."""
    panel = find_card(page, patron_id)
    panel.get_by_role("button", name="停用", exact=True).click()
    panel.get_by_label("停用原因").fill(reason)
    panel.get_by_role("button", name="确认停用").click()
    expect(page.get_by_role("status")).to_contain_text("的借书证")
    expect(card_status(panel)).to_have_text("已停用")
    return panel


def unblock_card(page: Page, patron_id: str) -> Locator:
    """恢复 a blocked card; its panel once it says 正常."""
    panel = find_card(page, patron_id)
    panel.get_by_role("button", name="恢复", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("已恢复")
    expect(card_status(panel)).to_have_text("正常")
    return panel


def retire_card(page: Page, patron_id: str, reason: str | None = None) -> Locator:
    """注销 a card after its confirmation; the panel (已注销, or the refusal shown)."""
    panel = find_card(page, patron_id)
    panel.get_by_role("button", name="注销", exact=True).click()
    expect(panel.get_by_text("注销后该借书证不能再使用")).to_be_visible()
    if reason is not None:
        panel.get_by_label("注销原因").fill(reason)
    panel.get_by_role("button", name="确定注销").click()
    expect(page.get_by_role("status").or_(page.get_by_role("alert"))).to_be_visible()
    return panel


def clearance(page: Page, class_or_grade: str) -> Locator:
    """A class's (G7-3) or a grade's (G7) clearance on 离校清还; the result section, headed
    by the class or grade in words (初一(3)班, 初一)."""
    go(page, "/cards/clearance")
    by = "按年级" if GRADE.match(class_or_grade) else "按班级"
    page.get_by_label(by).check()
    page.get_by_label("年级" if by == "按年级" else "班级", exact=True).fill(class_or_grade)
    page.get_by_role("button", name="查询").click()
    result = page.locator("section.result")
    expect(result.get_by_role("heading", level=2)).to_have_text(
        f"{class_words(class_or_grade)}离校图书清还情况"
    )
    return result
