"""Printing labels on the catalogue screen, as a librarian does, for any scenario.

The form "打印标签" (web/src/screens/catalogue/LabelsPrint.vue) takes the first and
last barcode, the label sheet, where a part-used sheet starts and the kind of
label; "生成 PDF" saves the PDF. The words are the Chinese screens'.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

KINDS = {"barcode": "条码标签", "spine": "书标（索书号）"}


def labels_form(page: Page):
    """The labels form of the catalogue screen, once it has the label sheets."""
    form = page.get_by_role("form", name="打印标签")
    expect(form.get_by_label("标签纸")).not_to_have_value("")  # the label sheets came
    return form


def fill_labels(
    page: Page, first: str, last: str, layout: str = "a4-3x8", kind: str = "barcode", start: int = 1
) -> None:
    """Fill the form as a librarian types it."""
    form = labels_form(page)
    form.get_by_label("起始条码").fill(first)
    form.get_by_label("终止条码").fill(last)
    form.get_by_label("标签纸").select_option(layout)
    form.get_by_label("从第几枚开始").fill(str(start))
    form.get_by_label(KINDS[kind]).check()


def print_labels(page: Page, first: str, last: str, **choice) -> tuple[str, bytes]:
    """Ask for the labels and wait for the PDF: its file name and bytes."""
    fill_labels(page, first, last, **choice)
    form = labels_form(page)
    with page.expect_download() as download:
        form.get_by_role("button", name="生成 PDF").click()
    saved = download.value
    expect(form.get_by_role("status")).to_contain_text(saved.suggested_filename)
    with open(saved.path(), "rb") as file:
        return saved.suggested_filename, file.read()


def refused_labels(page: Page, first: str, last: str, **choice) -> str:
    """Ask for labels the library refuses: the words of the alert under the form."""
    fill_labels(page, first, last, **choice)
    form = labels_form(page)
    form.get_by_role("button", name="生成 PDF").click()
    alert = form.get_by_role("alert")
    expect(alert).to_be_visible()
    return alert.inner_text()
