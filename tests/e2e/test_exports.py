"""Exports through the screens: 导出 Excel on the registers downloads the server's XLSX,
read back with openpyxl (Chinese headers, dates as dates, money with two decimals);
打印 PDF on the term report downloads the printed form."""

from __future__ import annotations

import pytest

from shared.runtime.school_calendar import calendar_from_config
from tests.e2e.school import SchoolApi
from tests.helpers import wait_until

pytestmark = pytest.mark.integration


def test_a_librarian_downloads_the_purchases_register_as_excel(library, school, scenario):
    api = SchoolApi(library)
    wait_until(
        lambda: api.call("GET", "/api/registers/purchases", params={"limit": 1})["total"] > 0,
        timeout=60,
        what="the school's purchases in the register",
    )
    register = api.call("GET", "/api/registers/purchases", params={"limit": 1000})
    calendar = calendar_from_config(library)
    today = calendar.today()
    term = calendar.term_of(today) or next(t for t in calendar.terms if t.starts <= today)

    seen = scenario("exports", term=term.name)

    xlsx = seen["xlsx"]
    assert xlsx["filename"] == "购书情况登记表.xlsx"
    assert xlsx["sheet"] == "购书情况登记表" and xlsx["bold"] and xlsx["frozen"] == "A2"
    assert xlsx["header"] == [
        "购入日期", "ISBN", "书名", "作者", "校区", "册数", "单价", "金额", "经办人", "经办人身份",
    ]  # fmt: skip
    assert xlsx["rows"] == register["total"]
    first = xlsx["first"]
    assert first["购入日期"]["type"] == "datetime" and first["购入日期"]["format"] == "yyyy-mm-dd"
    row = dict(zip(register["columns"], register["rows"][0], strict=True))
    assert first["购入日期"]["value"].startswith(row["purchased_on"])
    assert first["单价"]["type"] in ("int", "float") and first["单价"]["format"] == "0.00"
    assert float(first["单价"]["value"]) == float(row["unit_price"])
    assert first["册数"]["type"] == "int" and first["校区"]["value"] in ("北区", "南区")
    assert seen["pdf"]["filename"] == f"学期工作总结-{term.name}.pdf"
    assert seen["pdf"]["starts"] == "%PDF-"
