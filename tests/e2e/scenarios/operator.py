"""The operator's screen: what `library status` shows, for a person.

The operator signs in and lands on 系统运维: every service 运行中 with its newest
position, each projection's lag behind its sources, and what the status says of
queues and dead letters; 刷新 asks again (a lend made over the API meanwhile moves
circulation's newest position). At a phone's width the tables scroll inside
themselves, never the page.
"""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.scenarios import steps_records as steps
from tests.e2e.scenarios.browser import Person, checked, chromium, report, school
from tests.e2e.school import SchoolApi

facts = school()
seen: dict = {}


def services(page) -> dict[str, dict[str, str]]:
    """The services table: {code: {header: words}}."""
    table = page.get_by_role("region", name="服务")
    names = steps.headers(table)
    return {line[1]: dict(zip(names, line, strict=True)) for line in steps.rows(table)}


with chromium() as browser:
    for size in ("desk", "phone"):
        tab = Person(browser, facts, size=size)
        page = tab.sign_in("operator")
        page.wait_for_url("**/#/operator")
        expect(page.get_by_role("heading", level=1)).to_have_text("系统运维")
        expect(page.get_by_test_id("overall")).to_have_text("所有服务运行正常")
        checked(page, "operator")
        if size == "phone":
            tab.close()
            break
        seen["services"] = services(page)
        seen["service_headers"] = steps.headers(page.get_by_role("region", name="服务"))
        seen["lag"] = steps.status_rows(page, "投影同步进度")
        queues = page.get_by_role("region", name="消息队列")
        seen["queues"] = steps.rows(queues) if queues.count() else None
        missing = page.get_by_test_id("queues-missing")
        seen["queues_note"] = missing.inner_text() if missing.count() else None

        # 刷新: a lend over the API moves circulation's newest position.
        before = seen["services"]["circulation"]["最新事件位置"]
        SchoolApi(facts["api"]).call("POST", "/api/loans", json=facts["lend"])
        page.get_by_role("button", name="刷新", exact=True).click()
        expect(
            page.get_by_role("region", name="服务").locator("tbody tr").nth(1)
        ).not_to_contain_text(before)
        seen["circulation_after"] = services(page)["circulation"]["最新事件位置"]
        tab.close()
report(seen)
