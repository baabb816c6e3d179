"""学年升级 in Chinese: a librarian turns the school year, reads the graduating
classes' clearance and retires the graduates who hold nothing.

The school (tests/e2e/school.py) has G7-3 and G8-6 students; the test adds a
graduating class, G9-1, with one student holding a book and one holding nothing.
Checked at a desk and on a phone (axe-core, no sideways scrolling).
"""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.scenarios.browser import Person, checked, chromium, report, school
from tests.e2e.scenarios.steps_schoolyear import (
    graduates,
    open_school_year,
    retire_graduates,
    turn_year,
)

facts = school()
seen: dict[str, object] = {}
with chromium() as browser:
    tab = Person(browser, facts)
    page = tab.sign_in("librarian")
    open_school_year(page)
    expect(page.get_by_text("暂无毕业班")).to_be_visible()
    checked(page, "school-year")

    seen["turn"] = turn_year(page, 2027, starts="2027-08-30")
    seen["graduates"] = graduates(page)
    seen["retire"] = retire_graduates(page)
    seen["graduates_after"] = graduates(page)
    seen["again"] = turn_year(page, 2027)["status"]
    checked(page, "school-year-done")
    tab.close()

    phone = Person(browser, facts, size="phone")
    page = phone.sign_in("librarian")
    page = phone.go("/school-year")
    expect(page.get_by_role("table", name="毕业班清还情况")).to_be_visible()
    checked(page, "school-year")
    phone.close()

    english = Person(browser, facts, language="en")
    page = english.sign_in("librarian")
    page = english.go("/school-year")
    expect(page.get_by_role("heading", level=1, name="School year")).to_be_visible()
    expect(page.get_by_role("table", name="Graduating classes' clearance")).to_be_visible()
    english.close()
report(seen)
