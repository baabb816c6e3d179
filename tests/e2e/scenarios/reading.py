"""The reading programme through the screens: a note and its award, a competition, the figures.

The test has lent 王小明 (S70301) 活着 and brought two other books back for him
and one for 韩梅梅 over the API. 王小明 writes a reading note about 活着; his class
teacher 王芳 reads it among her class's notes and awards it, and he sees the
award; it makes him the month's best note writer. The librarian opens an essay
competition, enters both students, scores them in the teacher's name, closes
it and reads the final ranking. The term targets and the weekly bulletin show
初一(3)班; the leaderboard draws its chart and says "2 册" (in English "2 books"
and "1 book"), and at a phone's 390 px its chart fits. Every screen passes the
accessibility check.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.scenarios.browser import Person, checked, chromium, report, school, table_rows
from tests.e2e.scenarios.steps_reading import (
    award_note,
    open_tab,
    run_competition,
    submit_note,
)

NOTE = "福贵的一生让我明白了活着本身的意义。读完以后，我更珍惜和家人在一起的日子。"
COMPETITION = "2026 年冬季读书征文"
CLASS = "初一(3)班"


def chart_drawn(page: Page, label: str) -> None:
    """The ECharts chart labelled ``label`` has drawn its bars (SVG) inside the page's width."""
    chart = page.get_by_role("img", name=label)
    expect(chart.locator("svg")).to_be_visible()
    expect(chart.locator("svg path").first).to_be_attached()
    box = chart.bounding_box()
    width = page.viewport_size["width"] if page.viewport_size else 0
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= width, f"chart outside: {box}"


facts = school()
seen: dict[str, object] = {}
with chromium() as browser:
    # 王小明 writes a note about the book he borrowed.
    student = Person(browser, facts)
    page = student.sign_in("student")
    student.go("/reading/notes")
    books = page.get_by_label("书名", exact=True)
    expect(books.locator("option", has_text="《活着》")).to_have_count(1)
    seen["offered"] = books.locator("option").all_inner_texts()
    seen["submitted"] = submit_note(page, "活着", NOTE)
    checked(page, "reading-notes-student")

    # His class teacher reads her class's notes and awards his.
    teacher = Person(browser, facts)
    page = teacher.sign_in("teacher")
    teacher.go("/reading/notes")
    notes = table_rows(page, "学生读书笔记")
    seen["teacher_notes"] = notes
    seen["awarded"] = award_note(page, "王小明", "活着")
    note = page.get_by_role("article")
    expect(note).to_contain_text("福贵的一生")
    seen["winners"] = table_rows(page, "北区获奖者")
    checked(page, "reading-notes-teacher")
    teacher.close()

    # He sees the award on his own list.
    page = student.page
    student.go("/reading/leaderboards")
    open_tab(page, "notes")
    mine = page.get_by_role("table", name="我的读书笔记")
    expect(mine.get_by_role("row").filter(has_text="活着")).to_contain_text("优秀读书笔记")
    student.close()

    # The librarian runs a competition from opening to results.
    librarian = Person(browser, facts)
    page = librarian.sign_in("librarian")
    seen["ranking"] = run_competition(
        page,
        COMPETITION,
        [("S70301", "我读《活着》", 88), ("S70302", "红楼梦人物谈", 95)],
        scorer_card=facts["teacher"]["patron_id"],
    )
    competitions = table_rows(page, "阅读比赛")
    seen["competitions"] = competitions
    checked(page, "reading-competitions")

    # Term targets: the class, and who is behind.
    open_tab(page, "targets")
    seen["targets"] = table_rows(page, "各班达标情况")
    seen["behind"] = table_rows(page, f"{CLASS}未达标学生")
    checked(page, "reading-targets")

    # The weekly bulletin, ready to print or publish as CSV.
    open_tab(page, "bulletin")
    seen["bulletin"] = table_rows(page, "各班借阅情况")
    expect(page.get_by_role("button", name="打印", exact=True)).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("button", name="导出 CSV").click()
    seen["bulletin_csv"] = download.value.path().read_text(encoding="utf-8-sig")
    checked(page, "reading-bulletin")

    # The leaderboards, a chart and a table; then the classes' board.
    open_tab(page, "leaderboards")
    chart_drawn(page, "柱状图：学生排行榜（本学期），数字见下表")
    seen["students"] = table_rows(page, "学生排行榜（本学期）")
    seen["titles"] = table_rows(page, "学生借阅最多的书")
    checked(page, "reading-leaderboards")
    page.get_by_label("排行榜", exact=True).select_option(label="班级排行榜")
    seen["classes"] = table_rows(page, "班级排行榜（本学期）")
    librarian.close()

    # At a phone's width, in both languages: the chart fits and English counts right.
    for language in ("zh-CN", "en"):
        tab = Person(browser, facts, size="phone", language=language)
        page = tab.sign_in("librarian")
        tab.go("/reading/leaderboards")
        if language == "en":
            chart_drawn(page, "Bar chart: Students (This term); the figures are in the table below")
            seen["students_en"] = table_rows(page, "Students (This term)")
        else:
            chart_drawn(page, "柱状图：学生排行榜（本学期），数字见下表")
        checked(page, "reading-leaderboards")
        tab.close()
report(seen)
