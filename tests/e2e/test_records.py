"""The records through the screens: what was done over the API is in the registers and
ledgers, worded; CSV exports; the term report; closing a term only after 确定."""

from __future__ import annotations

import pytest

from shared.runtime.school_calendar import calendar_from_config
from tests.e2e.school import TITLES, SchoolApi
from tests.helpers import wait_until

pytestmark = pytest.mark.integration

PURCHASE = {
    "isbn": "978-7-5442-5399-4",
    "title": "百年孤独",
    "author": "加西亚·马尔克斯",
    "classification": "I775.45",
    "campus": "south",
    "shelf": "S-I-02",
    "price": "39.50",
    "copies": 2,
}
REGISTER_HEADER = "购入日期,ISBN,书名,作者,校区,册数,单价,金额,经办人,经办人身份"


def do_a_day(library: dict, school: dict) -> dict:
    """A teacher's loan, a purchase, a damage repaired, a weeding and a reservation,
    over the API as the development librarian; waits until the archives have them."""
    api = SchoolApi(library)
    barcodes = school["barcodes"]
    teacher = school["teacher"]["patron_id"]
    staff_copy = barcodes["活着@north"][0]
    repaired, weeded = barcodes["上下五千年@north"]
    api.call("POST", "/api/loans", json={"patron_id": teacher, "barcode": staff_copy,
                                         "campus": "north"})  # fmt: skip
    api.call("POST", "/api/books", json=PURCHASE)
    api.call("POST", f"/api/copies/{repaired}/damage", json={"note": "书脊开裂"})
    api.call("POST", f"/api/copies/{repaired}/repair", json={"note": "已粘好"})
    api.call("POST", f"/api/copies/{weeded}/weed", json={"reason": "outdated"})
    isbn = "978-7-5322-6734-7"  # 从一到无穷大, at south
    api.call("POST", "/api/reservations", json={"patron_id": teacher, "isbn": isbn,
                                                "campus": "south"})  # fmt: skip

    def registered(name: str, column: str, value: str) -> bool:
        table = api.call("GET", f"/api/registers/{name}")
        index = table["columns"].index(column)
        return any(row[index] == value for row in table["rows"])

    for name, column, value in (
        ("staff_loans", "barcode", staff_copy),
        ("purchases", "title", PURCHASE["title"]),
        ("repairs", "barcode", repaired),
        ("writeoffs", "barcode", weeded),
        ("teacher_reservations", "isbn", isbn),
    ):
        wait_until(
            lambda n=name, c=column, v=value: registered(n, c, v),
            timeout=60,
            what=f"{name}: {value}",
        )
    calendar = calendar_from_config(library)
    today = calendar.today()
    term = calendar.term_of(today) or next(t for t in calendar.terms if t.starts <= today)
    return {
        "staff_copy": staff_copy,
        "purchase_title": PURCHASE["title"],
        "repaired": repaired,
        "weeded": weeded,
        "reserved_isbn": isbn,
        "term": term.name,
    }


def test_the_registers_ledgers_and_term_report_show_what_the_library_did(library, school, scenario):
    done = do_a_day(library, school)
    api = SchoolApi(library)

    seen = scenario("records", done=done, api=_api_settings(library))

    # Registers: the lines, worded.
    assert seen["staff_headers"][:5] == ["借出日期", "借阅编号", "教师", "条码", "书名"]
    loan = seen["staff_loan"]
    assert loan["教师"] == "王芳" and loan["书名"] == "活着" and loan["校区"] == "北区"
    assert loan["状态"] == "借出中" and loan["归还日期"] == ""
    purchase = seen["purchase"]
    assert purchase["校区"] == "南区" and purchase["册数"] == "2"
    assert purchase["单价"] == "¥39.50" and purchase["金额"] == "¥79.00"
    assert purchase["作者"] == PURCHASE["author"]
    assert PURCHASE["title"] not in seen["north_purchase_titles"]
    assert "红楼梦" in seen["north_purchase_titles"]
    assert seen["writeoff"]["注销原因"] == "内容陈旧" and seen["writeoff"]["金额"] == "¥30.00"
    assert seen["repair"]["损坏情况"] == "书脊开裂" and seen["repair"]["修补情况"] == "已粘好"
    assert seen["repair"]["修补日期"] != ""
    reservation = seen["reservation"]
    assert reservation["教师"] == "王芳" and reservation["校区"] == "南区"
    assert reservation["状态"] == "等待到书"

    # CSV: the server's file (?format=csv), worded like the screen's table.
    csv = seen["purchases_csv"]
    assert csv["filename"] == "购书情况登记表-南区.csv"
    assert csv["lines"][0] == REGISTER_HEADER
    assert any(PURCHASE["title"] in line and ",南区," in line for line in csv["lines"][1:])
    assert all(",北区," not in line for line in csv["lines"][1:])
    ledger_csv = seen["general_csv"]
    assert ledger_csv["filename"] == "图书总括帐.csv"
    assert ledger_csv["lines"][0].split(",") == seen["general_headers"]
    assert ledger_csv["lines"][-1].startswith("合计,")

    # Ledgers per campus and overall: the API's figures.
    lines = {line["campus"]: line for line in api.call("GET", "/api/ledgers/general")["lines"]}
    shown = seen["general"]
    assert set(shown) == {"北区", "南区", "合计"}
    for campus, word in (("north", "北区"), ("south", "南区"), ("all", "合计")):
        assert shown[word][1] == f"{lines[campus]['held']:,}"
    assert set(seen["general_south"]) == {"南区", "合计"}
    assert seen["general_south"]["合计"][1] == f"{lines['south']['held']:,}"
    letters = {
        line["class_letter"]: line
        for line in api.call("GET", "/api/ledgers/classification")["lines"]
    }
    assert seen["classification"]["I 文学"][1] == f"{letters['I']['held']:,}"
    assert seen["classification"]["合计"][1] == f"{letters['all']['held']:,}"
    assert seen["writeoffs_by_reason"] == [["内容陈旧", "1", "¥30.00"]]

    # The term report: its figures, then closing it only after 确定.
    report = api.call("GET", f"/api/terms/{done['term']}/report")
    assert seen["term_title"].startswith("学期工作总结 · ") and "学年第" in seen["term_title"]
    figures = seen["term_figures"]
    assert figures["loans"] == f"{report['loans']['total']:,}"
    assert figures["students"] == f"{report['students']:,}"
    assert figures["copies_held_at_end"] == f"{report['copies_held_at_end']:,}"
    assert "无法撤销" in seen["close_question"]
    assert seen["closed_after_cancel"] is False
    assert seen["closed_after_confirm"] is True
    assert report["closed"] is True


def isbn13(body: str) -> str:
    """An ISBN-13 with its check digit, for made-up titles (``body``: twelve digits)."""
    total = sum(int(digit) * (3 if index % 2 else 1) for index, digit in enumerate(body))
    return f"{body}{(10 - total % 10) % 10}"


def test_a_long_register_is_shown_a_page_at_a_time(library, school, scenario):
    """A register is asked of the API a page at a time (a school's years of lines never
    come to the browser at once); the pages are the API's, the CSV is the whole."""
    api = SchoolApi(library)
    for number in range(55):
        api.call("POST", "/api/books", json={
            **PURCHASE, "isbn": isbn13(f"97875442{number:04d}"), "title": f"翻页用书{number + 1}",
            "copies": 1,
        })  # fmt: skip
    # The little school's own purchases at south, and these 55: every line there, so the
    # total the screen is compared with no longer moves.
    expected = sum(1 for title in TITLES if title[4] == "south") + 55
    wait_until(
        lambda: (
            api.call("GET", "/api/registers/purchases", params={"campus": "south"})["total"]
            == expected
        ),
        timeout=60,
        what=f"{expected} purchases at south",
    )
    south = {"campus": "south", "limit": 50}
    first = api.call("GET", "/api/registers/purchases", params={**south, "offset": 0})
    second = api.call("GET", "/api/registers/purchases", params={**south, "offset": 50})
    total = first["total"]
    assert 55 <= total <= 100, total  # two pages of 50

    seen = scenario("records_paging", done={"total": total})

    title = first["columns"].index("title")
    assert seen["first"] == [row[title] for row in first["rows"]]
    assert seen["second"] == [row[title] for row in second["rows"]]
    assert len(seen["first"]) == 50 and len(seen["second"]) == total - 50
    assert seen["first_again"] == seen["first"]
    pages = [(ask.get("limit"), ask.get("offset")) for ask in seen["asked"]]
    assert ("50", "50") in pages and ("50", "0") in pages, seen["asked"]
    assert seen["csv_lines"] == total + 1, "the CSV is the whole register, with its header"


def _api_settings(library: dict) -> dict:
    """What SchoolApi needs in the scenario's process: the address and the dev token."""
    return {
        "WEB_SERVER_ADDRESS": library["WEB_SERVER_ADDRESS"],
        "GATEWAY": {"tokens": {"librarian": library["GATEWAY"]["tokens"]["librarian"]}},
    }
