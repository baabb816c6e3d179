"""Every screen, in Chinese and in English, at a desk's 1366x768 and a phone's 390 px.

Each person opens the screens of their role; on each, the page must be in the
chosen language (<html lang>, no message key shown in place of words), pass
axe-core with no serious or critical violation, not scroll sideways, and log no
console error. With LIBRARY_SCREENSHOTS set, a picture of each is kept
(docs/screens/<screen>-<lang>-<desk|phone>.png, shown in the README).
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.scenarios.browser import Person, checked, chromium, report, school

# (who, screen name for the picture, address)
SCREENS = [
    ("librarian", "dashboard", "/dashboard"),
    ("librarian", "desk-lend", "/desk/lend"),
    ("librarian", "desk-return", "/desk/return"),
    ("librarian", "desk-renew", "/desk/renew"),
    ("librarian", "desk-today", "/desk/today"),
    ("librarian", "offline", "/offline"),
    ("librarian", "catalogue", "/catalogue"),
    ("librarian", "catalogue-new", "/catalogue/new"),
    ("librarian", "copy", "/copies/{barcode}"),
    ("librarian", "cards-issue", "/cards/issue"),
    ("librarian", "cards-import", "/cards/import"),
    ("librarian", "cards-manage", "/cards/manage"),
    ("librarian", "cards-clearance", "/cards/clearance"),
    ("librarian", "reading-notes", "/reading/notes"),
    ("librarian", "reading-competitions", "/reading/competitions"),
    ("librarian", "reading-targets", "/reading/targets"),
    ("librarian", "reading-bulletin", "/reading/bulletin"),
    ("librarian", "reading-leaderboards", "/reading/leaderboards"),
    ("librarian", "records-registers", "/records/registers"),
    ("librarian", "records-ledgers", "/records/ledgers"),
    ("librarian", "records-terms", "/records/terms"),
    ("librarian", "stocktake", "/stocktake"),
    ("librarian", "calendar", "/calendar"),
    ("librarian", "school-year", "/school-year"),
    ("librarian", "account", "/account"),
    ("operator", "operator", "/operator"),
    ("teacher", "teacher", "/teacher"),
    ("student", "opac", "/opac"),
    ("student", "reading-student", "/reading/notes"),
]
# A message key shown instead of its words: "desk.lend.title" (not a queue's name such
# as ext.student-records.events, which the operator's screen shows as it is).
KEY = re.compile(
    r"(?<![\w.-])(?:common|problems|desk|offline|catalogue|cards|teacher|reading|records|opac|operator|dashboard)\.[a-zA-Z_]+(?:\.[a-zA-Z_]+)*\b"
)


def settled(page: Page) -> None:
    """Wait until the screen has its heading, no call of the API is on its way (api.js counts
    them on <html data-requests>) and nothing says it is still loading."""
    expect(page.locator("main h1").first).to_be_visible()
    quiet = """() => (document.documentElement.dataset.requests || '0') === '0'
                 && !document.querySelector('main [aria-busy="true"]')
                 && !/正在加载|Loading…/.test(document.querySelector('main').innerText)"""
    page.wait_for_function(quiet)
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    page.wait_for_function(quiet)  # and still so after two frames: a screen asks in steps


def main() -> None:
    facts = school()
    barcode = facts["barcodes"]["红楼梦@north"][0]
    visited = []
    with chromium() as browser:
        for language in ("zh-CN", "en"):
            for size in ("desk", "phone"):
                tab = Person(browser, facts, size=size, language=language)
                page = tab.go("/sign-in")
                settled(page)
                checked(page, "sign-in")
                signed_in_as = None
                for who, screen, address in SCREENS:
                    if who != signed_in_as:
                        if signed_in_as:
                            tab.close()
                            tab = Person(browser, facts, size=size, language=language)
                        page = tab.sign_in(who)
                        signed_in_as = who
                    page = tab.go(address.format(barcode=barcode))
                    settled(page)
                    expect(page.locator("html")).to_have_attribute("lang", language)
                    text = page.locator("body").inner_text()
                    shown_keys = KEY.findall(text)
                    assert not shown_keys, f"{screen} ({language}) shows message keys: {shown_keys}"
                    checked(page, screen)
                    visited.append(f"{screen}-{language}-{size}")
                tab.close()
    report({"visited": visited})


if __name__ == "__main__":
    main()
