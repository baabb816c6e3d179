"""Steps for the export buttons (导出 Excel / 导出 CSV / 打印 PDF): press one, keep the file."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Locator, Page


def export(where: Page | Locator, button: str, folder: Path) -> tuple[str, Path]:
    """Press an export button (导出 Excel...) in ``where``; the file's suggested name and
    where it was saved."""
    page = where if isinstance(where, Page) else where.page
    with page.expect_download() as waiting:
        where.get_by_role("button", name=button, exact=True).click()
    download = waiting.value
    path = folder / download.suggested_filename
    download.save_as(path)
    return download.suggested_filename, path
