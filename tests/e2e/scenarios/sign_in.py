"""Signing in and out, in Chinese and in English, at a desk and on a phone.

The form's fields are labelled 用户名 and 密码 and its button 登录 (Username,
Password, Sign in); a wrong password says so without saying which part was
wrong; each person lands on the first screen of their role and sees only the
menu of their rights; the language switch changes every word and <html lang>.
"""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.scenarios.browser import Person, checked, chromium, report, school

facts = school()
seen = {}
with chromium() as browser:
    for size in ("desk", "phone"):
        for language in ("zh-CN", "en"):
            tab = Person(browser, facts, size=size, language=language)
            page = tab.go("/sign-in")
            expect(page.locator("html")).to_have_attribute("lang", language)
            checked(page, "sign-in")
            tab.close()

    tab = Person(browser, facts)
    page = tab.go("/sign-in")
    page.get_by_label("用户名").fill(facts["people"]["librarian"]["username"])
    page.get_by_label("密码").fill("not-the-password")
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text("用户名或密码不正确")
    tab.close()

    landing = {}
    for who in ("librarian", "assistant", "operator", "teacher", "student"):
        tab = Person(browser, facts)
        page = tab.sign_in(who)
        landing[who] = {
            "path": page.evaluate("() => location.hash"),
            "menu": page.get_by_role("navigation").first.get_by_role("link").all_inner_texts(),
        }
        tab.close()
    seen["landing"] = landing

    tab = Person(browser, facts)
    page = tab.sign_in("librarian")
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    page.get_by_role("button", name="中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_role("status")).to_have_text("已退出登录")
    assert page.evaluate("() => sessionStorage.length") == 0
    tab.close()
report(seen)
