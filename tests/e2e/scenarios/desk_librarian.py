"""The librarian at the desk: a lost book paid for, a title reserved for a teacher.

The librarian lends 红楼梦 to 韩梅梅, opens 丢失 beside it (Escape leaves it), then
declares it lost: the confirmation shows the price to pay (照价赔偿 ¥30.00); the
book moves to the unpaid losses, she takes the payment (缴纳赔款) and the receipt
line (收据: who, which book, how much, the day, who took it) is shown while the
unpaid list is gone. Both north copies of 上下五千年 are out with 王小明; she
reserves the title for the teacher 王芳 (T001) at the desk and sees it in her
reservations; when 王小明 brings one back, its line says 该书已为王芳预约保留, a
student is refused it and 王芳 borrows it. An assistant sees no 丢失 or 缴纳赔款
(loans.manage). The panel passes axe at a desk and a phone, in Chinese and English.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.scenarios.browser import Person, checked, chromium, report, school
from tests.e2e.scenarios.steps_desk import (
    declare_lost,
    lend,
    next_reader,
    reserve_for,
    result_lines,
    return_books,
    scan_and_read,
    show_reader,
    take_payment,
)

facts = school()
barcodes = facts["barcodes"]
dream = barcodes["红楼梦@north"]
history = barcodes["上下五千年@north"]
teacher = facts["teacher"]
DAY = r"\d{4}-\d{2}-\d{2}"
seen: dict[str, object] = {}


def at_the_north_desk(page: Page) -> None:
    page.goto("/#/desk/lend")
    page.get_by_label("本借还台校区").select_option(label="北区")
    expect(page.get_by_label("本借还台校区")).to_have_value("north")
    page.get_by_label("读者证号", exact=True).focus()


def a_loss_declared_and_paid_for(page: Page) -> None:
    lent = lend(page, "S70302", [dream[0]])
    assert "已借出《红楼梦》" in lent[0], lent
    reader = page.get_by_test_id("reader")

    # 丢失 asks first; Escape leaves it, the reader stays.
    reader.get_by_role("button", name="丢失《红楼梦》").click()
    confirmation = reader.get_by_test_id("lost-confirm")
    expect(confirmation.get_by_role("heading")).to_have_text(f"登记丢失：《红楼梦》（{dream[0]}）")
    expect(confirmation.get_by_role("button", name="确认丢失")).to_be_focused()
    checked(page, "desk-lost")
    page.keyboard.press("Escape")
    expect(confirmation).to_have_count(0)
    expect(reader.get_by_role("heading", level=2)).to_have_text("韩梅梅")
    expect(reader.locator("tbody tr").filter(has_text=dream[0])).to_contain_text("在借")

    amount = declare_lost(page, "S70302", "红楼梦")
    assert "照价赔偿：¥30.00，由韩梅梅缴纳" in amount, amount
    reader = page.get_by_test_id("reader")
    expect(reader.get_by_role("heading", name="在借图书（0 册）")).to_be_visible()
    expect(reader.get_by_test_id("unpaid")).to_contain_text(
        f"《红楼梦》（{dream[0]}），应赔 ¥30.00"
    )
    expect(reader).to_contain_text("未缴赔款")
    expect(result_lines(page).first).to_contain_text("《红楼梦》已登记丢失，应赔 ¥30.00")
    checked(page, "desk-unpaid")

    receipt = take_payment(page, "S70302", "红楼梦")
    assert re.fullmatch(
        rf"收据：韩梅梅缴纳《红楼梦》赔款 ¥30\.00，{DAY}，经办人：陈静", receipt.strip()
    ), receipt
    expect(reader.get_by_role("heading", name="丢失图书，尚未赔偿")).to_have_count(0)
    expect(reader.get_by_test_id("unpaid")).to_have_count(0)
    expect(reader).not_to_contain_text("未缴赔款")
    expect(result_lines(page).first).to_have_attribute("data-kind", "payment")
    expect(result_lines(page).first).to_contain_text("收据：韩梅梅缴纳《红楼梦》赔款 ¥30.00")
    checked(page, "desk-receipt")
    seen["amount"], seen["receipt"] = amount, receipt


def a_title_reserved_for_the_teacher(page: Page) -> None:
    lent = lend(page, "S70301", history)  # both north copies out
    assert all("已借出《上下五千年》" in line for line in lent), lent

    reserved = reserve_for(page, teacher["patron_id"], "上下五千年")
    assert re.fullmatch(rf"《上下五千年》，北区，{DAY} 预约，等待到书", reserved.strip()), reserved
    reader = page.get_by_test_id("reader")
    expect(reader.get_by_role("heading", level=2)).to_have_text(teacher["name"])
    expect(result_lines(page).first).to_contain_text("已为王芳预约《上下五千年》（北区）")
    expect(reader.get_by_test_id("term-target")).to_have_text(
        re.compile(r"^本学期已借阅 0 次，目标 \d+ 次，还差 \d+ 次$")
    )
    # Found again, the title says it is reserved already: no second button.
    field = reader.get_by_label("书名、作者或 ISBN", exact=True)
    field.fill("shangxiawuqiannian")
    field.press("Enter")
    found = reader.get_by_test_id("reserve-results").get_by_role("listitem")
    expect(found).to_have_count(1)
    expect(found).to_contain_text("已预约")
    expect(found).to_have_text(re.compile(r"北区可借 0 册 / 共 2 册\s*已预约$"))
    expect(found.get_by_role("button")).to_have_count(0)
    checked(page, "desk-reserve")
    next_reader(page)
    seen["reserved"] = reserved


def the_book_comes_back_held_for_her(page: Page) -> None:
    back = return_books(page, [history[0]])
    assert "已还《上下五千年》（王小明）" in back[0], back
    assert "该书已为王芳预约保留" in back[0], back
    expect(result_lines(page).first).to_have_attribute("data-outcome", "notice")

    show_reader(page, "S70302")
    refused = scan_and_read(page, "条码", history[0])
    assert "该书已为预约读者保留" in refused, refused
    reader = show_reader(page, teacher["patron_id"])
    # Her reservation says the copy is put aside for her, and until when.
    expect(reader.get_by_test_id("reservations")).to_contain_text(
        re.compile(rf"《上下五千年》已到书：已留书 {history[0]}，请于 .+ 前取走")
    )
    lent = scan_and_read(page, "条码", history[0])
    assert "已借出《上下五千年》" in lent, lent
    expect(reader.get_by_test_id("reservations")).to_have_count(0)  # fulfilled
    expect(reader.get_by_test_id("term-target")).to_have_text(
        re.compile(r"^本学期已借阅 1 次，目标 \d+ 次，还差 \d+ 次$")
    )
    next_reader(page)
    seen["held"] = back[0]


def an_assistant_takes_no_payment(browser) -> None:
    person = Person(browser, facts)
    page = person.sign_in("assistant")
    reader = show_reader(page, "S70301")
    expect(reader.locator("tbody tr")).to_have_count(1)
    expect(reader.get_by_role("button", name=re.compile("^丢失"))).to_have_count(0)
    expect(reader.get_by_role("button", name=re.compile("^续借"))).to_have_count(1)
    expect(reader.get_by_label("书名、作者或 ISBN", exact=True)).to_be_visible()  # desk: 预约
    person.close()


def the_panel_everywhere(browser) -> None:
    """The reader panel with a loss to confirm and titles found: axe, no sideways scroll."""
    words = {
        "zh-CN": {"card": "读者证号", "lost": "丢失《上下五千年》", "confirm": "确认丢失",
                  "search": "书名、作者或 ISBN"},
        "en": {"card": "Card number", "lost": "Lost: 上下五千年", "confirm": "Declare lost",
               "search": "Title, author or ISBN"},
    }  # fmt: skip
    for size, language in (("phone", "zh-CN"), ("desk", "en"), ("phone", "en")):
        person = Person(browser, facts, size=size, language=language)
        page = person.sign_in("librarian")
        person.go("/desk/lend")
        said = words[language]
        field = page.get_by_label(said["card"], exact=True)
        field.fill("S70301")
        field.press("Enter")
        reader = page.get_by_test_id("reader")
        reader.get_by_role("button", name=said["lost"]).click()
        expect(reader.get_by_role("button", name=said["confirm"])).to_be_focused()
        search = reader.get_by_label(said["search"], exact=True)
        search.fill("红楼梦")
        search.press("Enter")
        expect(reader.get_by_test_id("reserve-results").get_by_role("listitem")).to_have_count(1)
        checked(page, "desk-librarian")
        person.close()


with chromium() as browser:
    librarian = Person(browser, facts)
    desk = librarian.sign_in("librarian")
    at_the_north_desk(desk)
    a_loss_declared_and_paid_for(desk)
    a_title_reserved_for_the_teacher(desk)
    the_book_comes_back_held_for_her(desk)
    librarian.close()
    an_assistant_takes_no_payment(browser)
    the_panel_everywhere(browser)
report(seen)
