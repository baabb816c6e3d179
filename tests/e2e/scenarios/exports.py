"""The registers as Excel, from the records screen: 导出 Excel downloads the purchases
register the server made (?format=xlsx), read back here with openpyxl: Chinese headers,
dates as dates, money as numbers with two decimals; then 打印 PDF on the term report.
Prints what the files held, for the test to hold against the API.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import openpyxl

from tests.e2e.scenarios import steps_exports as exports
from tests.e2e.scenarios import steps_records as records
from tests.e2e.scenarios.browser import Person, chromium, report, school

facts = school()
seen: dict = {}
downloads = Path(tempfile.mkdtemp(prefix="exports-"))

with chromium() as browser:
    tab = Person(browser, facts)
    page = tab.sign_in("librarian")
    tab.go("/records/registers")
    records.show_register(page, "purchases")
    name, path = exports.export(page, "导出 Excel", downloads)
    sheet = openpyxl.load_workbook(path).active
    header, first = (list(row) for row in sheet.iter_rows(max_row=2))
    seen["xlsx"] = {
        "filename": name,
        "sheet": sheet.title,
        "header": [cell.value for cell in header],
        "bold": all(cell.font.bold for cell in header),
        "frozen": sheet.freeze_panes,
        "rows": sheet.max_row - 1,
        "first": {
            cell_header.value: {
                "value": str(cell.value),
                "type": type(cell.value).__name__,
                "format": cell.number_format,
            }
            for cell_header, cell in zip(header, first, strict=True)
        },
    }
    shown = records.show_term_report(page, facts["term"])
    name, path = exports.export(shown, "打印 PDF", downloads)
    seen["pdf"] = {"filename": name, "starts": path.read_bytes()[:5].decode("ascii")}
    tab.close()
report(seen)
