"""A librarian's and an assistant's whole day, through the screens alone.

Morning: the librarian catalogues a new title with three copies and issues a
card. The north desk's assistant lends by scanning, renews by scanning, takes a
book back damaged. The librarian has it repaired, reserves a title for a teacher
at the desk, declares a lost book and takes the payment, weeds a worn copy with
its reason, transfers one to 南区 (in transit until 南区 receives it) and
receives it there. Afternoon: the purchases register to CSV, a class's overdue
list, a grade's clearance, a student's reading note and the teacher's award, a
competition from opening to results, and the term's report. Then the teacher
and the student sign in and see only what is theirs.

Every step checks what the screen shows (in Chinese), not only that no error
appeared. The one overdue loan of the day was lent weeks ago (the test makes it
over the API before the day starts: time cannot pass in a test).
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from playwright.sync_api import expect

from tests.e2e.scenarios import steps_cards as cards
from tests.e2e.scenarios import steps_catalogue as catalogue
from tests.e2e.scenarios import steps_desk as desk
from tests.e2e.scenarios import steps_reading as reading
from tests.e2e.scenarios import steps_records as records
from tests.e2e.scenarios.browser import Person, chromium, report, school

NEW = {
    "isbn": "978-7-02-002475-9",
    "title": "围城",
    "author": "钱锺书",
    "classification": "I246.57",
}


def main() -> None:
    facts = school()
    done = facts["done"]  # what the test made before the day: an overdue loan, the term
    student, classmate = facts["students"][0], facts["students"][1]
    downloads = Path(tempfile.mkdtemp(prefix="day-csv-"))
    seen: dict = {}
    with chromium() as browser:
        librarian = Person(browser, facts)
        lib = librarian.sign_in("librarian")

        # ---------------------------------------------------------------- morning
        barcodes = catalogue.add_title(
            lib, **NEW, campus="north", shelf="N-I-05", price="39.00", copies=3
        )
        assert len(barcodes) == 3
        lines = catalogue.find(lib, NEW["title"])
        expect(lines).to_have_count(1)
        expect(lines.first).to_contain_text("北区")
        card = cards.issue_card(lib, name="赵一鸣", class_name="G7-3", campus="north")
        seen["card"] = card

        assistant = Person(browser, facts)
        desk_page = assistant.sign_in("assistant")
        classic = facts["barcodes"]["红楼梦@north"][0]
        lent = desk.lend(desk_page, student["patron_id"], [barcodes[0], classic])
        assert all("应还" in line for line in lent), lent
        refused = desk.lend(desk_page, card, [done["reference"]])
        assert "工具书不外借" in refused[0], refused
        renewed = desk.renew(desk_page, barcodes[0])
        assert "续借" in renewed and "应还" in renewed, renewed
        returned = desk.return_books(desk_page, [classic], damaged=True)
        assert "损坏" in returned[0], returned

        catalogue.copy_action(lib, classic, "repair")
        expect(catalogue.fact(lib, "状态")).to_have_text(re.compile("在架"))

        reserved = desk.reserve_for(lib, facts["teacher"]["patron_id"], "红楼梦")
        assert "红楼梦" in reserved, reserved
        amount = desk.declare_lost(lib, done["lost_card"], done["lost_title"])
        assert "30.00" in amount, amount
        receipt = desk.take_payment(lib, done["lost_card"], done["lost_title"])
        assert "30.00" in receipt, receipt

        catalogue.copy_action(lib, barcodes[2], "weed", reason="破损无法修复")
        expect(catalogue.fact(lib, "状态")).to_have_text(re.compile("已剔除"))
        moved = facts["barcodes"]["上下五千年@north"][0]
        catalogue.copy_action(lib, moved, "transfer", shelf="S-K-01")
        expect(catalogue.fact(lib, "状态")).to_have_text(re.compile("在途"))
        catalogue.copy_action(lib, moved, "receive")
        expect(catalogue.fact(lib, "状态")).to_have_text(re.compile("在架"))
        expect(catalogue.fact(lib, "校区")).to_have_text(re.compile("南区"))
        steps = catalogue.timeline(lib)
        expect(steps.last).to_contain_text("已接收：在南区到馆上架")
        expect(steps.filter(has_text="调拨：北区→南区")).to_contain_text("经办人：陈静")
        expect(steps.last).to_contain_text("经办人：陈静")
        seen["desk_today"] = desk.today(desk_page, at_least=3)

        # ---------------------------------------------------------------- afternoon
        table = records.show_register(lib, "purchases")
        records.row_of(table, "书名", NEW["title"])
        filename, text = records.export_csv(lib, downloads)
        assert filename.endswith(".csv") and NEW["title"] in text, (filename, text[:300])
        seen["purchases_csv"] = filename

        catalogue.go(lib, "/teacher?class=G7-3")
        overdue = lib.get_by_role("table", name=re.compile("逾期"))
        expect(overdue).to_contain_text(done["overdue_title"])
        expect(overdue).to_contain_text(classmate["name"])

        result = cards.clearance(lib, "G7")
        expect(result).to_contain_text(student["name"])
        expect(result).to_contain_text(NEW["title"])

        pupil = Person(browser, facts)
        student_page = pupil.sign_in("student")
        reading.submit_note(student_page, "红楼梦", "宝黛的故事让我想了很多。" * 5)
        teacher = Person(browser, facts)
        teacher_page = teacher.sign_in("teacher")
        awarded = reading.award_note(teacher_page, student["name"], "红楼梦")
        assert "优秀读书笔记" in awarded

        ranking = reading.run_competition(
            lib,
            "冬季征文",
            [(student["patron_id"], "我的寒假读书计划", 92), (classmate["patron_id"], "书香", 88)],
            scorer_card=facts["teacher"]["patron_id"],
        )
        assert [row[1] for row in ranking[:2]] == [student["name"], classmate["name"]], ranking

        shown = records.show_term_report(lib, done["term"])
        figures = records.figures(shown)
        assert figures, "the term report shows its figures"
        seen["term_figures"] = figures

        # ---------------------------------------------------------------- their own
        catalogue.go(teacher_page, "/teacher")
        expect(teacher_page.locator("main")).to_contain_text(done["overdue_title"])
        expect(teacher_page.locator("main")).not_to_contain_text(facts["students"][3]["name"])
        catalogue.go(student_page, "/opac")
        mine = student_page.locator("main")
        expect(mine).to_contain_text(NEW["title"])
        expect(mine).not_to_contain_text(classmate["name"])

        for person in (librarian, assistant, pupil, teacher):
            person.close()
    report(seen)


if __name__ == "__main__":
    main()
