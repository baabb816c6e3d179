"""A lost book settled at the desk in Chinese: paid in two parts, each receipt printed;
another replaced with a new copy the reader brought (docs/losses.md).

The librarian lends 红楼梦 to 张伟 and declares it lost (照价赔偿 ¥30.00). The
amount field holds ¥30.00; she takes 10.00 (a part): the loss shows 已缴 ¥10.00，尚欠
¥20.00 with the payment and its receipt; she prints it (a PDF in Chinese with the
amount in capitals and who took it). Paying 25.00 is refused (more than is owed);
the field then holds 20.00, which she takes: the loss is settled and leaves the
unpaid list, both receipts stay listed to print. 活着 lost too is replaced with a new
copy scanned at the desk: nothing is owed. Axe and no sideways scroll at each step.
"""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.scenarios.browser import Person, checked, chromium, report, school
from tests.e2e.scenarios.steps_desk import declare_lost, lend, result_lines
from tests.e2e.scenarios.steps_losses import (
    loss_of,
    owed,
    pay,
    print_receipt,
    replace_with_new_copy,
)
from tests.e2e.scenarios.steps_records import show_register
from tests.paper import squeezed

facts = school()
barcodes = facts["barcodes"]
dream = barcodes["红楼梦@north"][1]
alive = barcodes["活着@north"][0]
CARD = "S70303"
seen: dict[str, object] = {}

with chromium() as browser:
    for size in ("desk", "phone"):
        person = Person(browser, facts, size=size)
        page = person.sign_in("librarian")
        page.goto("/#/desk/lend")
        page.get_by_label("本借还台校区").select_option(label="北区")
        expect(page.get_by_label("本借还台校区")).to_have_value("north")
        page.get_by_label("读者证号", exact=True).focus()
        if size == "phone":  # the same screen on a phone: the settling fits, no sideways scroll
            lend(page, "S70301", [barcodes["红楼梦@north"][2]])
            declare_lost(page, "S70301", "红楼梦")
            expect(loss_of(page, "S70301", "红楼梦")).to_be_visible()
            checked(page, "desk-loss-phone")
            person.close()
            continue

        assert "已借出《红楼梦》" in lend(page, CARD, [dream])[0]
        seen["amount"] = declare_lost(page, CARD, "红楼梦")
        settle = loss_of(page, CARD, "红楼梦")
        expect(settle.get_by_label("缴纳金额（元）")).to_have_value("30.00")
        checked(page, "desk-loss")

        first = pay(page, CARD, "红楼梦", "10.00")
        seen["owed"] = owed(page, CARD, "红楼梦")
        expect(settle.get_by_label("缴纳金额（元）")).to_have_value("20.00")
        expect(settle.get_by_test_id("loss-payments").get_by_role("listitem")).to_have_count(1)
        seen["payment"] = settle.get_by_test_id("loss-payments").inner_text()
        checked(page, "desk-loss-part-paid")
        seen["first"] = squeezed(print_receipt(page, first)[0])

        settle.get_by_label("缴纳金额（元）").fill("25.00")
        settle.get_by_role("button", name="缴纳赔款《红楼梦》").click()
        expect(result_lines(page).first).to_have_attribute("data-outcome", "refused")
        seen["too_much"] = result_lines(page).first.inner_text()

        settle.get_by_label("缴纳金额（元）").fill("20.00")
        second = pay(page, CARD, "红楼梦")
        reader = page.get_by_test_id("reader")
        expect(reader.get_by_test_id("unpaid")).to_have_count(0)
        expect(reader).not_to_contain_text("未缴赔款")
        receipts = reader.get_by_test_id("receipts").get_by_role("listitem")
        expect(receipts).to_have_count(2)
        seen["numbers"] = [first, second]
        seen["second"] = squeezed(print_receipt(page, second)[0])
        checked(page, "desk-loss-settled")

        page.get_by_label("条码", exact=True).focus()  # back at the desk's scan field
        assert "已借出《活着》" in lend(page, CARD, [alive])[0]
        declare_lost(page, CARD, "活着")
        seen["replaced"] = replace_with_new_copy(page, CARD, "活着", "RPL-20261207")
        expect(page.get_by_test_id("reader").get_by_test_id("unpaid")).to_have_count(0)

        # The compensations register: the loss, both payments and the replacement.
        table = show_register(page, "compensations", "north")
        mine = table.locator("tbody tr").filter(has_text="张伟")
        expect(mine.filter(has_text="缴纳赔款")).to_have_count(2)
        seen["register"] = [" | ".join(row.split("\t")) for row in mine.all_inner_texts()]
        checked(page, "records-compensations")
        person.close()
report(seen)
