"""The reading programme's steps, as a student, a teacher and a librarian do them.

Each step opens its tab by address (#/reading/<tab>), fills the fields by their
labels in Chinese, presses the button by its name and waits for the words the
screen shows when it is done (no sleeps), which it gives back so a scenario
asserts what the screen said. The lead's day-long scenario can call them in any
order, signed in as the right person.
"""

from __future__ import annotations

from collections.abc import Sequence

from playwright.sync_api import Page, expect

from tests.e2e.scenarios.browser import cells

ESSAY = "征文比赛"
TAB_NAMES = {
    "notes": "读书笔记",
    "competitions": "比赛",
    "targets": "学期目标",
    "bulletin": "每周借阅公布",
    "leaderboards": "阅读排行榜",
}


def open_tab(page: Page, tab: str) -> None:
    """Open a reading programme tab (notes, competitions, targets, bulletin, leaderboards)."""
    page.evaluate(f"() => {{ location.hash = '#/reading/{tab}'; }}")
    tabs = page.get_by_role("navigation", name="阅读活动栏目")
    link = tabs.get_by_role("link", name=TAB_NAMES[tab], exact=True)
    expect(link).to_have_attribute("aria-current", "page")


def submit_note(page: Page, title: str, text: str) -> str:
    """A student writes a reading note about a book he borrowed; the words it got."""
    open_tab(page, "notes")
    book = page.get_by_label("书名", exact=True)
    option = book.locator("option", has_text=f"《{title}》")
    expect(option).to_have_count(1)
    book.select_option(value=option.get_attribute("value"))
    page.get_by_label("读书笔记内容").fill(text)
    page.get_by_role("button", name="提交读书笔记").click()
    done = page.get_by_role("status").filter(has_text="已提交")
    expect(done).to_have_text(f"已提交《{title}》的读书笔记")
    mine = page.get_by_role("table", name="我的读书笔记")
    expect(mine.get_by_role("row").filter(has_text=title)).to_contain_text("未评奖")
    return done.inner_text()


def award_note(
    page: Page, student: str, title: str, award: str = "优秀读书笔记", teacher_card: str = ""
) -> str:
    """A teacher (or a librarian naming the teacher's card) awards a student's note."""
    open_tab(page, "notes")
    page.get_by_role("button", name=f"阅读并评奖：{student}的《{title}》读书笔记").click()
    note = page.get_by_role("article")
    expect(note.get_by_role("heading")).to_have_text(f"{student}：《{title}》读书笔记")
    note.get_by_label("奖项").fill(award)
    if teacher_card:
        note.get_by_label("评奖教师借书证号").fill(teacher_card)
    note.get_by_role("button", name="评奖", exact=True).click()
    done = page.get_by_role("status").filter(has_text="读书笔记获得")
    expect(done).to_have_text(f"{student}的《{title}》读书笔记获得“{award}”")
    row = page.get_by_role("table", name="学生读书笔记").get_by_role("row").filter(has_text=title)
    expect(row.filter(has_text=student)).to_contain_text(award)
    return done.inner_text()


def open_competition(page: Page, title: str, kind: str = ESSAY, closes_on: str = "") -> None:
    """A librarian or teacher opens a competition; the screen then shows it."""
    open_tab(page, "competitions")
    page.get_by_label("比赛名称").fill(title)
    page.get_by_label("比赛类型").select_option(label=kind)
    if closes_on:
        page.get_by_label("截止日期").fill(closes_on)
    page.get_by_role("button", name="发起比赛").click()
    expect(page.get_by_role("heading", name=title, exact=True)).to_be_visible()
    expect(page.get_by_role("link", name=title, exact=True)).to_have_attribute(
        "aria-current", "true"
    )


def enter_student(page: Page, card: str, work: str) -> str:
    """Enter a student by card number with his work's title (staff), in the competition shown."""
    page.get_by_label("学生借书证号").fill(card)
    page.get_by_label("作品题目").fill(work)
    page.get_by_role("button", name="报名参赛").click()
    done = page.get_by_role("status").filter(has_text=f"《{work}》")
    expect(done).to_contain_text("已报名")
    return done.inner_text()


def score_entry(page: Page, work: str, score: int, scorer_card: str = "") -> str:
    """Score the entry titled ``work`` (the scorer's card when the account has none)."""
    scorer = page.get_by_label("评分教师借书证号")
    if scorer_card and scorer.is_visible():
        scorer.fill(scorer_card)
    entries = page.get_by_role("table", name="参赛作品与评分（比赛进行中）")
    row = entries.get_by_role("row").filter(has_text=work)
    row.get_by_role("spinbutton").fill(str(score))
    row.get_by_role("button").click()
    done = page.get_by_role("status").filter(has_text=f"{score} 分")
    expect(done).to_be_visible()
    expect(row.get_by_role("cell").first).not_to_be_empty()  # a scored entry has a place
    return done.inner_text()


def close_competition(page: Page, title: str) -> list[list[str]]:
    """Close the open competition after its warning; the final ranking's rows, cell by cell."""
    page.get_by_role("button", name="结束比赛", exact=True).click()
    expect(page.get_by_text("结束后排名即为最终结果")).to_be_visible()
    page.get_by_role("button", name="确定结束比赛").click()
    expect(page.get_by_role("status")).to_have_text(f"《{title}》已结束，排名如下")
    results = page.get_by_role("table", name="比赛结果（最终排名）")
    expect(results).to_be_visible()
    return cells(results)


def run_competition(
    page: Page,
    title: str,
    entrants: Sequence[tuple[str, str, int]],
    kind: str = ESSAY,
    scorer_card: str = "",
) -> list[list[str]]:
    """A competition from opening to results: ``entrants`` are (card, work, score).

    Returns the final ranking's rows: place, student, class, work, score.
    """
    open_competition(page, title, kind)
    for card, work, _ in entrants:
        enter_student(page, card, work)
    for _, work, score in entrants:
        score_entry(page, work, score, scorer_card)
    return close_competition(page, title)
