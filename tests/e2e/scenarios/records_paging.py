"""A long register, a page at a time: the screen asks the API for the page it shows.

South's purchases register is longer than a page (the test bought many titles
there over the API). It shows 50 lines and 第 1–50 条，共 N 条; 下一页 asks for
the next 50 (limit=50&offset=50) and shows the rest; 上一页 goes back; 导出 CSV
is still the whole register. Prints what each page showed and what was asked.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from tests.e2e.scenarios import steps_records as records
from tests.e2e.scenarios.browser import Person, checked, chromium, report, school

facts = school()
total = facts["done"]["total"]
seen: dict = {"asked": []}
downloads = Path(tempfile.mkdtemp(prefix="records-paging-"))


def titles(table) -> list[str]:
    """The 书名 of every line shown."""
    column = records.headers(table).index("书名")
    return [line[column] for line in records.rows(table)]


with chromium() as browser:
    tab = Person(browser, facts)
    page = tab.sign_in("librarian")

    def asked(request) -> None:
        if "/api/registers/purchases" in request.url:
            query = parse_qs(urlparse(request.url).query)
            seen["asked"].append({name: values[0] for name, values in query.items()})

    page.on("request", asked)
    tab.go("/records/registers")
    table = records.show_register(page, "purchases", campus="south")
    records.pager(page).get_by_text(f"第 1–50 条，共 {total} 条", exact=True).wait_for()
    seen["first"] = titles(table)
    checked(page, "records-registers-paged")

    records.turn_page(page, "下一页", f"第 51–{total} 条，共 {total} 条")
    seen["second"] = titles(table)
    records.turn_page(page, "上一页", f"第 1–50 条，共 {total} 条")
    seen["first_again"] = titles(table)

    filename, text = records.export_csv(page, downloads)
    seen["csv_lines"] = len(text.splitlines())
    tab.close()
report(seen)
