"""Library cards on the screens: issue, import a roster, block, unblock, retire, clearance.

A librarian issues a card (a student without a class is refused beside the
field), imports the school office's roster written in Chinese (姓名,类型,班级,校区,
借书证号; 学生, 北区, 初一(3)班) where one row is bad: the screen names its line in
the file and why, and the good rows get their cards; she blocks a card with a
reason, unblocks it, retires it after its confirmation, and cannot retire the
card of a reader who still holds a book. The clearance of class G7-3 and of
grade G7 shows who holds what, prints without the menu and saves as CSV.

Two loans are made over the API first, as the desk would (the desk's screens
are tested by their own scenario).
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from pathlib import Path

import requests
from playwright.sync_api import Page, expect

from tests.e2e.scenarios.browser import Person, checked, chromium, report, school
from tests.e2e.scenarios.steps_cards import (
    block_card,
    card_status,
    clearance,
    find_card,
    import_roster,
    issue_card,
    retire_card,
    unblock_card,
)
from tests.e2e.scenarios.steps_catalogue import go

# The roster as a school office writes it; line 5 is blank, line 6 has a bad class.
ROSTER = (
    "姓名,类型,班级,校区,借书证号\n"
    "钱一,学生,初一(3)班,北区,S70311\n"
    "孙二,学生,G7-3,北区,S70312\n"
    "周老师,教师,,南区,T0411\n"
    "\n"
    "吴五,学生,七年级三班,北区,S70313\n"
)


def librarian_headers(facts: dict) -> dict[str, str]:
    """The librarian signed in over the API: the headers of her calls."""
    person = facts["people"]["librarian"]
    signed_in = requests.post(
        f"{facts['base']}/api/sessions",
        json={"username": person["username"], "password": person["password"]},
        timeout=30,
    )
    signed_in.raise_for_status()
    return {"Authorization": f"Bearer {signed_in.json()['token']}"}


def lend_over_the_api(facts: dict, loans: list[tuple[str, str]]) -> None:
    """What the north desk lent today: (barcode, card) pairs, as the librarian."""
    base = facts["base"]
    headers = librarian_headers(facts)
    for barcode, patron_id in loans:
        lent = requests.post(
            f"{base}/api/loans",
            json={"barcode": barcode, "patron_id": patron_id, "campus": "north"},
            headers=headers,
            timeout=30,
        )
        assert lent.status_code == 201, lent.text


def issuing(page: Page) -> str:
    go(page, "/cards/issue")
    expect(page.get_by_role("heading", name="办理借书证")).to_be_visible()
    checked(page, "cards-issue")
    # A student's card needs the class: refused, and said beside the field.
    page.get_by_label("姓名").fill("赵小兰")
    page.get_by_label("校区").select_option(label="北区")
    page.get_by_role("button", name="办证", exact=True).click()
    expect(page.locator("#card-class-error")).to_have_text("学生和班级图书角的借书证须填写班级")
    patron = issue_card(page, name="赵小兰", class_name="G7-3", patron_id="S70399")
    assert patron == "S70399", patron
    # The same number twice: 该借书证号已存在, beside the number.
    page.get_by_label("借书证号").fill("S70399")
    page.get_by_label("姓名").fill("赵小兰")
    page.get_by_label("班级").fill("G7-3")
    page.get_by_role("button", name="办证", exact=True).click()
    expect(page.locator("#card-patron-error")).to_have_text("该借书证号已存在")
    made_up = issue_card(
        page, name="G8-6班图书角", kind="class_corner", class_name="G8-6", campus="south"
    )
    assert re.fullmatch(r"P\d{7}", made_up), made_up
    return patron


def importing(page: Page) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "初一3班名单.csv"
        path.write_bytes(ROSTER.encode("gbk"))  # as Excel on Chinese Windows saves it
        result = import_roster(page, path)
    expect(result.get_by_role("status")).to_have_text("已办证 3 人，有问题 1 行")
    bad = result.get_by_role("table", name="有问题的行（未办证）").locator("tbody tr")
    expect(bad).to_have_count(1)
    class_rule = re.escape("班级：应写作初一(3)班、七年级3班或 G7-3")
    expect(bad.first).to_have_text(re.compile(rf"^\s*6\s*{class_rule}\s*$"))
    good = result.get_by_role("table", name="已办证").locator("tbody tr")
    expect(good).to_have_count(3)
    for line, patron, name in (
        ("2", "S70311", "钱一"),
        ("3", "S70312", "孙二"),
        ("4", "T0411", "周老师"),
    ):
        expect(good.filter(has_text=patron)).to_contain_text(name)
        expect(good.filter(has_text=patron).locator("td").first).to_have_text(line)
    checked(page, "cards-import")
    return {"bad": bad.all_inner_texts(), "good": good.all_inner_texts()}


def managing(page: Page, facts: dict) -> dict:
    panel = find_card(page, "S70311")
    # 初一(3)班 in the roster is class G7-3, shown in words.
    expect(panel.locator("dl.facts")).to_contain_text("初一(3)班")
    card = requests.get(
        f"{facts['base']}/api/cards/S70311", headers=librarian_headers(facts), timeout=30
    )
    assert card.json()["class_name"] == "G7-3", card.text
    expect(card_status(panel)).to_have_text("正常")
    checked(page, "cards-manage")
    block_card(page, "S70311", "损坏图书未赔偿")
    expect(page.get_by_role("status")).to_have_text("已停用钱一的借书证")
    unblock_card(page, "S70311")
    panel = retire_card(page, "S70311", "转学")
    expect(page.get_by_role("status")).to_have_text("已注销钱一的借书证")
    expect(card_status(panel)).to_have_text("已注销")
    expect(panel.get_by_role("button", name="停用")).to_have_count(0)
    # A reader who still holds a book is not retired.
    retire_card(page, "S70301")
    expect(page.get_by_role("alert")).to_have_text("还有图书未还或赔款未缴，不能注销借书证")
    expect(card_status(find_card(page, "S70301"))).to_have_text("正常")
    return {"retired": "S70311"}


def clearing(page: Page, facts: dict, held: dict[str, str]) -> dict:
    result = clearance(page, "G7-3")
    expect(result.get_by_role("status")).to_contain_text("未清还 2 人")
    rows = result.get_by_role("table", name="未清还的图书").locator("tbody tr")
    expect(rows).to_have_count(2)
    for patron, name, title in (("S70301", "王小明", "红楼梦"), ("S70302", "韩梅梅", "活着")):
        row = rows.filter(has_text=f"{name}（{patron}）")
        expect(row).to_contain_text("初一(3)班")
        expect(row).to_contain_text(title)
        expect(row).to_contain_text(held[patron])
    checked(page, "cards-clearance")

    # 打印: the browser's print, and on paper no menu, no form, no buttons.
    page.evaluate("() => { window.printed = 0; window.print = () => { window.printed += 1 } }")
    result.get_by_role("button", name="打印", exact=True).click()
    assert page.evaluate("() => window.printed") == 1
    page.emulate_media(media="print")
    expect(page.get_by_role("banner")).to_be_hidden()
    expect(page.get_by_role("button", name="查询")).to_be_hidden()
    expect(rows.first).to_be_visible()
    page.emulate_media(media="screen")

    with page.expect_download() as download:
        result.get_by_role("button", name="导出 CSV").click()
    saved = Path(download.value.path()).read_text(encoding="utf-8-sig")
    table = list(csv.reader(io.StringIO(saved)))
    assert table[0] == [  # the server's file (GET /api/clearance?format=csv)
        "班级",
        "借书证号",
        "姓名",
        "项目",
        "条码",
        "书名",
        "应还日期",
        "逾期天数",
        "应赔金额",
    ], table[0]
    assert sorted(row[1] for row in table[1:]) == ["S70301", "S70302"], table

    grade = clearance(page, "G7")
    expect(grade.get_by_role("table", name="未清还的图书").locator("tbody tr")).to_have_count(2)
    return {"csv": table, "filename": download.value.suggested_filename}


def main() -> None:
    facts = school()
    held = {
        "S70301": facts["barcodes"]["红楼梦@north"][0],
        "S70302": facts["barcodes"]["活着@north"][0],
    }
    lend_over_the_api(facts, [(barcode, patron) for patron, barcode in held.items()])
    seen: dict = {}
    with chromium() as browser:
        tab = Person(browser, facts)
        page = tab.sign_in("librarian")
        seen["issued"] = issuing(page)
        seen["import"] = importing(page)
        seen["manage"] = managing(page, facts)
        seen["clearance"] = clearing(page, facts, held)
        tab.close()
        # At a phone's width the clearance still fits.
        tab = Person(browser, facts, size="phone")
        page = tab.sign_in("librarian")
        clearance(page, "G7-3")
        checked(page, "cards-clearance")
        tab.close()
    report(seen)


if __name__ == "__main__":
    main()
