"""The calendar's steps on the screens, for any scenario: a librarian adds and removes
closed days and sets or clears a class's rota slot on 校历; the desk shows today's rota.
Each step waits for what the screen shows next (in Chinese)."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

from tests.e2e.scenarios.browser import cells, class_words
from tests.e2e.scenarios.steps_catalogue import go

CALENDAR_TITLE = "校历与借阅轮流表"
CLOSED_CAPTION = "闭馆日（应还日期遇闭馆日顺延至下一个开馆日）"
ROTA_CAPTION = "借阅轮流表（每班每周轮借一次）"
WEEKDAYS = dict(enumerate("星期一 星期二 星期三 星期四 星期五 星期六 星期日".split(), start=1))
CAMPUS = {"north": "北区", "south": "南区"}


def open_calendar(page: Page) -> None:
    go(page, "/calendar")
    expect(page.get_by_role("heading", name=CALENDAR_TITLE, level=1)).to_be_visible()


def closed_days(page: Page) -> list[list[str]]:
    """The closed-days table's rows: name, first day, last day, kind, source, (action)."""
    return _rows(page, CLOSED_CAPTION)


def rota(page: Page) -> list[list[str]]:
    """The rota table's rows: weekday, class, period, campus, source, (action)."""
    return _rows(page, ROTA_CAPTION)


def _rows(page: Page, heading: str) -> list[list[str]]:
    section = page.get_by_role("region", name=heading, exact=True)
    expect(section).to_be_visible()
    return cells(section.get_by_role("table"))


def _status(page: Page, heading: str) -> Locator:
    """What a section of 校历 says it just did."""
    return page.get_by_role("region", name=heading, exact=True).get_by_role("status")


def add_closed_days(
    page: Page, name: str, starts: str, ends: str | None = None, make_up: bool = False
) -> None:
    """Add a named holiday (dates as 2026-12-17), or make-up school days (调休开馆);
    waits for the screen to say it was added."""
    page.get_by_label("名称", exact=True).fill(name)
    page.get_by_label("开始日期", exact=True).fill(starts)
    page.get_by_label("结束日期（只闭馆一天可不填）").fill(ends or "")
    page.get_by_label("类型", exact=True).select_option(label="调休开馆" if make_up else "闭馆")
    page.get_by_role("button", name="添加闭馆日").click()
    expect(_status(page, CLOSED_CAPTION)).to_have_text(f"已添加闭馆日：{name}")


def remove_closed_days(page: Page, name: str, starts_words: str) -> None:
    """Remove the holiday ``name`` from ``starts_words`` (its first day as the screen writes it)."""
    page.get_by_role("button", name=f"删除闭馆日：{name}（{starts_words}起）").click()
    expect(_status(page, CLOSED_CAPTION)).to_have_text(f"已删除闭馆日：{name}")


def set_rota_slot(page: Page, class_name: str, campus: str, weekday: int, period: str) -> None:
    """Give a class (G8-6) its weekly slot on the rota; waits for 已保存."""
    page.get_by_label("班级", exact=True).fill(class_words(class_name))
    page.locator("#rota-campus").select_option(label=CAMPUS[campus])
    page.get_by_label("星期", exact=True).select_option(label=WEEKDAYS[weekday])
    page.get_by_label("节次（如 3）或时间（如 12:00-12:50）").fill(period)
    page.get_by_role("button", name="保存轮借时间").click()
    expect(_status(page, ROTA_CAPTION)).to_contain_text(f"已保存：{class_words(class_name)}")


def clear_rota_slot(page: Page, class_name: str) -> None:
    page.get_by_role("button", name=f"从借阅轮流表移除 {class_words(class_name)}").click()
    expect(_status(page, ROTA_CAPTION)).to_have_text(f"已移除：{class_words(class_name)}")


def rota_today(page: Page) -> str:
    """What the desk's 今日轮借 strip says (after the desk has opened)."""
    strip = page.get_by_role("region", name="今日轮借", exact=False)
    expect(strip).to_be_visible()
    return strip.inner_text()
