"""The school year's steps, as a librarian takes them on 学年升级: turn the year (after
the confirmation says what will happen), read the graduating classes' clearance,
retire the graduates who hold nothing and read who was left active.

Each step waits for what the screen says after the command (its status line), and
gives back the words shown, so a scenario asserts what a person reads.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.scenarios.browser import table_rows

TITLE = "学年升级"
GRADUATES = "毕业班清还情况"
MOVED = "升级的班级"


def open_school_year(page: Page) -> None:
    """Open 学年升级 from the menu, as a librarian does."""
    page.get_by_role("navigation").first.get_by_role("link", name=TITLE, exact=True).click()
    expect(page.get_by_role("heading", level=1, name=TITLE, exact=True)).to_be_visible()


def turn_year(page: Page, year: int, starts: str | None = None) -> dict[str, object]:
    """Turn ``year`` (its first day ``starts``, YYYY-MM-DD, or today): the confirmation's
    words, then what the screen says was done."""
    page.get_by_label("学年", exact=True).fill(str(year))
    if starts:
        page.get_by_label("新学年第一天", exact=True).fill(starts)
    page.get_by_role("button", name="学年升级…", exact=True).click()
    dialog = page.get_by_role("dialog", name=f"确认 {year} 学年升级")
    expect(dialog).to_be_visible()
    said = dialog.inner_text()
    dialog.get_by_role("button", name="确定", exact=True).click()
    expect(dialog).to_be_hidden()
    status = page.get_by_role("status").filter(has_text=f"{year} 学年")
    expect(status).to_be_visible()
    moved = table_rows(page, MOVED) if page.get_by_role("table", name=MOVED).count() else []
    return {"confirmation": said, "status": status.inner_text(), "moved": moved}


def graduates(page: Page) -> list[list[str]]:
    """The graduating classes' clearance table, row by row."""
    return table_rows(page, GRADUATES)


def retire_graduates(page: Page) -> dict[str, object]:
    """Retire the cleared graduates' cards: what was said, retired and left active."""
    page.get_by_role("button", name="注销已清还毕业生的借书证").click()
    dialog = page.get_by_role("dialog", name="确认注销毕业生借书证")
    expect(dialog).to_be_visible()
    said = dialog.inner_text()
    dialog.get_by_role("button", name="确定", exact=True).click()
    expect(dialog).to_be_hidden()
    status = page.get_by_role("status").filter(has_text="已注销")
    expect(status).to_be_visible()
    left = page.get_by_role("region", name="保留借书证的毕业生（图书未还或赔款未缴）")
    return {
        "confirmation": said,
        "status": status.inner_text(),
        "retired": table_rows(page, "已注销借书证的毕业生"),
        "left_active": left.get_by_role("listitem").all_inner_texts() if left.count() else [],
    }
