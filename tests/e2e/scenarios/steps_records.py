"""The records' steps, as a librarian does them: pick a register or a ledger, a campus,
look at the lines, export them, read a term's report and close the term.

Each step opens its tab (登记表, 帐簿, 学期总结) by its link, chooses by the labels
a person reads (登记表, 帐簿, 校区, 学期), presses 查询 and waits until the table
shown is the one asked for (its ``data-register``/``data-ledger`` and
``data-campus`` follow the answer shown, not the choice), then gives back what it
shows, so a scenario asserts the words on the screen. Also the dashboard's and
the operator's small readings, for the lead's day-long scenario.
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Locator, Page, expect

TABS = {"registers": "登记表", "ledgers": "帐簿", "terms": "学期总结"}
REGISTERS = {
    "staff_loans": "教职工借阅登记表",
    "purchases": "购书情况登记表",
    "repairs": "图书修补记载表",
    "writeoffs": "图书注销、剔除登记表",
    "teacher_reservations": "教师借阅书刊预约登记表",
    "compensations": "丢失图书赔偿登记表",
}
LEDGERS = {"general": "图书总括帐", "classification": "分类帐", "writeoffs": "注销帐"}
CAMPUSES = {None: "全校（南北区合计）", "north": "北区", "south": "南区"}


def open_records(page: Page, tab: str) -> None:
    """Open a records tab by its link (the records' address first if not shown)."""
    tabs = page.get_by_role("navigation", name="报表类别")
    if not tabs.is_visible():
        page.evaluate(f"() => {{ location.hash = '#/records/{tab}'; }}")  # as the menu does
    link = tabs.get_by_role("link", name=TABS[tab], exact=True)
    if link.get_attribute("aria-current") != "page":
        link.click()
    expect(link).to_have_attribute("aria-current", "page")


def _choose_period(page: Page, campus: str | None, since: str | None, until: str | None) -> None:
    page.get_by_label("校区", exact=True).select_option(label=CAMPUSES[campus])
    page.get_by_label("起始日期", exact=True).fill(since or "")
    page.get_by_label("截止日期", exact=True).fill(until or "")
    page.get_by_role("button", name="查询", exact=True).click()


def show_register(
    page: Page,
    name: str,
    campus: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> Locator:
    """Show one register (``staff_loans``...) for a campus (None: the whole school); its table."""
    open_records(page, "registers")
    page.get_by_label("登记表", exact=True).select_option(label=REGISTERS[name])
    _choose_period(page, campus, since, until)
    shown = f'[data-register="{name}"][data-campus="{campus or "all"}"]'
    table = page.locator(f".table-wrap.register{shown}")
    expect(table).to_be_visible()
    expect(page.locator("section.registers")).to_have_attribute("aria-busy", "false")
    return table


def show_ledger(page: Page, name: str, campus: str | None = None) -> Locator:
    """Show one ledger (``general``, ``classification``, ``writeoffs``) for a campus; its table."""
    open_records(page, "ledgers")
    page.get_by_label("帐簿", exact=True).select_option(label=LEDGERS[name])
    _choose_period(page, campus, None, None)
    shown = f'[data-ledger="{name}"][data-campus="{campus or "all"}"]'
    table = page.locator(f".table-wrap.ledger{shown}")
    expect(table).to_be_visible()
    expect(page.locator("section.ledgers")).to_have_attribute("aria-busy", "false")
    return table


def headers(table: Locator) -> list[str]:
    """A table's column headers, as shown."""
    return [text.strip() for text in table.locator("thead th").all_inner_texts()]


def rows(table: Locator) -> list[list[str]]:
    """A table's lines (the page shown), each a list of its cells' words (also when the
    table is folded away in a closed <details>: its text, not its rendering)."""
    lines = []
    for row in table.locator("tbody tr").all():
        cells = [" ".join(text.split()) for text in row.locator("td").all_text_contents()]
        if len(cells) > 1:  # not the "nothing registered" line
            lines.append(cells)
    return lines


def row_of(table: Locator, header: str, value: str) -> dict[str, str]:
    """The first line whose cell under ``header`` says ``value``: {header: words}."""
    names = headers(table)
    column = names.index(header)
    for line in rows(table):
        if line[column] == value:
            return dict(zip(names, line, strict=True))
    raise AssertionError(f"no line with {header} = {value!r} in {rows(table)}")


def pager(page: Page) -> Locator:
    """The pages of the register shown (翻页): 上一页, 第 1–50 条，共 N 条, 下一页."""
    return page.get_by_role("navigation", name="翻页")


def turn_page(page: Page, button: str, showing: str) -> None:
    """Press 上一页 or 下一页 and wait until the pager says ``showing`` and the
    register's answer is in (the page is asked of the API, not sliced here)."""
    with page.expect_response(lambda answer: "/api/registers/" in answer.url):
        pager(page).get_by_role("button", name=button, exact=True).click()
    expect(pager(page).get_by_text(showing, exact=True)).to_be_visible()
    expect(page.locator("section.registers")).to_have_attribute("aria-busy", "false")


def export_csv(page: Page, folder: Path) -> tuple[str, str]:
    """Press 导出 CSV; the file's suggested name and its text (the BOM left out)."""
    with page.expect_download() as waiting:
        page.get_by_role("button", name="导出 CSV", exact=True).click()
    download = waiting.value
    path = folder / download.suggested_filename
    download.save_as(path)
    return download.suggested_filename, path.read_text(encoding="utf-8-sig")


def show_term_report(page: Page, term: str) -> Locator:
    """Show a term's report (学期工作总结); the report once it is the term's."""
    open_records(page, "terms")
    field = page.get_by_label("学期", exact=True)
    field.fill(term)
    page.get_by_role("button", name="查看总结", exact=True).click()
    report = page.locator(f'article[data-term="{term}"]')
    expect(report).to_be_visible()
    return report


def figures(report: Locator) -> dict[str, str]:
    """The report's main figures as shown: {figure: words} (students, loans, ...)."""
    shown = {}
    for figure in report.get_by_test_id("term-figures").locator("dd[data-figure]").all():
        shown[figure.get_attribute("data-figure")] = figure.inner_text().strip()
    return shown


def close_term(page: Page, confirm: bool) -> str:
    """Press 结束本学期 and answer the confirmation: 确定 or 取消. The question's words."""
    page.get_by_role("button", name="结束本学期", exact=True).click()
    dialog = page.get_by_role("dialog", name="结束学期")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="取消", exact=True)).to_be_focused()
    question = dialog.inner_text()
    dialog.get_by_role("button", name="确定" if confirm else "取消", exact=True).click()
    expect(dialog).to_be_hidden()
    return question


# ------------------------------------------------------------ the dashboard and the operator


def dashboard_figure(page: Page, name: str) -> Locator:
    """A figure of the dashboard: held, on-loan, in-repair, weeded, overdue-total."""
    return page.get_by_test_id(name)


def choose_campus(page: Page, campus: str | None) -> None:
    """The dashboard's campus switch: 全校, 北区 or 南区."""
    label = {None: "全校", "north": "北区", "south": "南区"}[campus]
    button = page.get_by_role("group", name="校区").get_by_role("button", name=label, exact=True)
    button.click()
    expect(button).to_have_attribute("aria-pressed", "true")


def status_rows(page: Page, caption: str) -> list[list[str]]:
    """The operator's table with this caption (服务, 投影同步进度...): its lines' words."""
    return rows(page.get_by_role("region", name=caption))
