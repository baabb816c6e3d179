"""The calendar on the screens: a librarian, in Chinese, sees the school's closed days
and the rota on 校历, adds and removes a closed day and gives a class a slot on today's
weekday; then the assistant's desk shows that class under 今日轮借. At a desk and on a
phone, in both languages, the screens pass axe and never scroll sideways."""

from __future__ import annotations

from datetime import date, timedelta

from playwright.sync_api import expect

from tests.e2e.scenarios import steps_calendar as cal
from tests.e2e.scenarios.browser import Person, checked, chromium, class_words, report, school

facts = school()
today = date.fromisoformat(facts["today"])
weekday = today.isoweekday()
holiday = (today + timedelta(days=10)).isoformat()
seen: dict = {}
with chromium() as browser:
    tab = Person(browser, facts)
    page = tab.sign_in("librarian")
    expect(page.get_by_role("navigation").first.get_by_role("link", name="校历")).to_be_visible()
    cal.open_calendar(page)
    expect(page.get_by_text("周末开馆")).to_be_visible()  # this test's school opens at weekends
    expect(page.get_by_text("逾期天数不计闭馆日（节假日、寒暑假）")).to_be_visible()
    seen["rota_before"] = cal.rota(page)

    cal.add_closed_days(page, "运动会", holiday)
    expect(page.get_by_role("cell", name="运动会", exact=True)).to_be_visible()
    seen["closed_added"] = cal.closed_days(page)
    cal.set_rota_slot(page, "G8-6", "north", weekday, "5")
    expect(page.get_by_role("cell", name=class_words("G8-6"), exact=True)).to_be_visible()
    seen["rota_after"] = cal.rota(page)
    checked(page, "calendar")

    starts_words = page.get_by_role("row").filter(has_text="运动会").get_by_role("cell").nth(1)
    cal.remove_closed_days(page, "运动会", starts_words.inner_text().strip())
    expect(page.get_by_role("cell", name="运动会", exact=True)).to_have_count(0)
    seen["closed_removed"] = cal.closed_days(page)
    tab.close()

    for size in ("desk", "phone"):
        tab = Person(browser, facts, size=size, language="en")
        page = tab.sign_in("librarian")
        page.evaluate("path => { location.hash = path }", "/calendar")
        expect(page.get_by_role("heading", name="Calendar and borrowing rota")).to_be_visible()
        expect(page.get_by_role("cell", name="G8-6").first).to_be_visible()
        checked(page, f"calendar-{size}")
        tab.close()

    tab = Person(browser, facts)
    page = tab.sign_in("assistant")
    expect(page.get_by_role("heading", name=f"今日轮借（{cal.WEEKDAYS[weekday]}）")).to_be_visible()
    expect(page.get_by_text(f"{class_words('G8-6')}（第5节）")).to_be_visible()
    seen["desk"] = page.get_by_test_id("rota-today").inner_text()
    checked(page, "desk-rota")
    tab.close()
report(seen)
