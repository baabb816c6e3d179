"""MARC files on the catalogue screen, as a librarian handles them, for any scenario.

The section "MARC 数据" (web/src/screens/catalogue/MarcFiles.vue) takes a supplier's
file, the campus and the copies of each title, and shows a line per record; it also
downloads the catalogue as a MARC file. The words are the Chinese screens'.
"""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

from tests.e2e.scenarios.browser import cells

CAMPUS = {"north": "北区", "south": "南区"}
FLAVOURS = {"cnmarc": "CNMARC（中国机读目录）", "marc21": "MARC 21"}


def marc_section(page: Page) -> Locator:
    """The MARC section of the catalogue screen."""
    section = page.get_by_role("region", name="MARC 数据")
    expect(section).to_be_visible()
    return section


def import_marc(page: Page, name: str, data: bytes, campus: str, copies: int) -> dict:
    """Choose the file, the campus and the copies, press 导入 and wait for the report:
    ``{"summary": text, "lines": [[记录号, 书名, ISBN, 结果, 条码], ...]}``."""
    form = page.get_by_role("form", name="导入 MARC 记录")
    form.get_by_label("MARC 文件").set_input_files(
        {"name": name, "mimeType": "application/marc", "buffer": data}
    )
    form.get_by_label("校区").select_option(label=CAMPUS[campus])
    form.get_by_label("每种册数").fill(str(copies))
    form.get_by_role("button", name="导入", exact=True).click()
    report = page.get_by_role("region", name="导入结果")
    summary = report.get_by_role("status")
    expect(summary).to_be_visible()
    table = report.get_by_role("table", name="导入结果")
    return {"summary": summary.inner_text().strip(), "lines": cells(table)}


def export_marc(page: Page, flavour: str, campus: str | None) -> tuple[str, bytes]:
    """Download the catalogue as MARC: the file's name and bytes."""
    form = page.get_by_role("form", name="导出馆藏 MARC 数据")
    form.get_by_label("格式").select_option(label=FLAVOURS[flavour])
    form.get_by_label("校区").select_option(label=CAMPUS[campus] if campus else "全校（南北区）")
    with page.expect_download() as download:
        form.get_by_role("button", name="下载 MARC 文件").click()
    saved = download.value
    expect(form.get_by_role("status")).to_contain_text(saved.suggested_filename)
    with open(saved.path(), "rb") as file:
        return saved.suggested_filename, file.read()
