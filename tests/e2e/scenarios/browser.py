"""What every browser scenario needs: Chromium, signing in, waiting, checking.

A scenario is a module (``python -m tests.e2e.scenarios.desk``) that reads the
school from ``LIBRARY_SCHOOL`` (JSON: ``base``, ``people``, ``barcodes``, ...),
drives the screens with Playwright as a person would, asserts what they show and
prints what it measured as JSON. Against a running demo, give it the demo's
facts instead: ``LIBRARY_SCHOOL="$(python -m tests.e2e.scenarios.demo_facts)"``.

Nothing sleeps: every step waits for what the person would wait for (a text, a
row, a field). ``checked(page)`` runs axe-core (from web/node_modules) and fails
on any serious or critical violation; console errors fail the scenario too.
Screenshots go to ``LIBRARY_SCREENSHOTS`` when it is set (docs/screens/ for the
README), named ``<screen>-<lang>-<desk|phone>.png``.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parents[3]
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]
TIMEOUT_MS = 30_000
DESK = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
SIZES = {"desk": DESK, "phone": PHONE}

expect.set_options(timeout=TIMEOUT_MS)


def school() -> dict[str, Any]:
    """The facts of the school under test (tests/e2e/school.py, or the demo's)."""
    return json.loads(os.environ["LIBRARY_SCHOOL"])


def report(result: Any) -> None:
    """Print what the scenario measured, for the test that ran it."""
    json.dump(result, sys.stdout, ensure_ascii=False)


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class Person:
    """One person's browser tab: signed in, in a language, at a size; console errors kept."""

    def __init__(self, browser: Browser, facts: dict[str, Any], size: str = "desk",
                 language: str = "zh-CN") -> None:  # fmt: skip
        self.facts = facts
        self.base = facts["base"]
        self.context: BrowserContext = browser.new_context(
            viewport=SIZES[size], locale=language, base_url=self.base
        )
        self.context.set_default_timeout(TIMEOUT_MS)
        self.context.add_init_script(
            f"localStorage.setItem('library.language', {json.dumps(language)})"
        )
        self.page: Page = self.context.new_page()
        self.size = size
        self.language = language
        self.console_errors: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.console_errors.append(str(error)))
        self.page.on("response", self._response)

    def _console(self, message: Any) -> None:
        # Chromium logs every 4xx answer as "Failed to load resource"; a refusal (409) or a
        # wrong password (401) is an answer the screen words, so those are judged by
        # _response instead: a missing file or a server fault is an error, a refusal is not.
        if message.type == "error" and not message.text.startswith(
            "Failed to load resource: the server responded with a status of 4"
        ):
            self.console_errors.append(message.text)

    def _response(self, response: Any) -> None:
        api = "/api/" in response.url
        if response.status >= 500 or (response.status == 404 and not api):
            self.console_errors.append(f"{response.status} {response.url}")

    def sign_in(self, who: str) -> Page:
        """Sign in as ``people[who]`` through the form, as a person does."""
        person = self.facts["people"][who]
        page = self.page
        page.goto("/")
        username = "用户名" if self.language == "zh-CN" else "Username"
        password = "密码" if self.language == "zh-CN" else "Password"
        submit = "登录" if self.language == "zh-CN" else "Sign in"
        page.get_by_label(username).fill(person["username"])
        page.get_by_label(password).fill(person["password"])
        page.get_by_role("button", name=submit, exact=True).click()
        expect(page.get_by_role("banner")).to_contain_text(person["name"])
        page.wait_for_function("() => !location.hash.startsWith('#/sign-in')")  # landed
        return page

    def go(self, path: str) -> Page:
        """Open a screen by its address (``#/desk/lend``)."""
        self.page.goto(f"/#{path}")
        return self.page

    def close(self) -> None:
        assert not self.console_errors, f"console errors: {self.console_errors}"
        self.context.close()


def cells(table: Locator) -> list[list[str]]:
    """A table's rows of cells, as shown (on a phone the header row is hidden: not counted)."""
    return [
        [cell.strip() for cell in row.get_by_role("cell").all_inner_texts()]
        for row in table.get_by_role("row").all()
        if row.get_by_role("cell").count()
    ]


def table_rows(page: Page, caption: str) -> list[list[str]]:
    """The rows of the table named by its caption, cell by cell, the header left out."""
    found = page.get_by_role("table", name=caption, exact=True)
    expect(found).to_be_visible()
    return cells(found)


GRADE_WORDS = "一年级 二年级 三年级 四年级 五年级 六年级 初一 初二 初三 高一 高二 高三".split()
GRADES = {f"G{level}": word for level, word in enumerate(GRADE_WORDS, start=1)}


def class_words(code: str) -> str:
    """A class or grade code as the Chinese screens write it: G7-3 is 初一(3)班, G7 初一."""
    grade, _, number = code.partition("-")
    return f"{GRADES[grade]}({int(number)})班" if number else GRADES[grade]


def accessibility_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    if not page.evaluate("() => Boolean(window.axe)"):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        """async () => {
            const result = await window.axe.run(document, {resultTypes: ['violations']});
            return result.violations
              .filter(v => v.impact === 'serious' || v.impact === 'critical')
              .map(v => ({id: v.id, impact: v.impact, help: v.help,
                          nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}));
        }"""
    )
    return found


def checked(page: Page, screen: str) -> None:
    """No serious or critical accessibility violation, no sideways scrolling; a screenshot."""
    violations = accessibility_violations(page)
    assert not violations, (
        f"{screen}: accessibility violations {json.dumps(violations, ensure_ascii=False)}"
    )
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{screen}: the page scrolls sideways by {overflow}px"
    screenshot(page, screen)


def screenshot(page: Page, screen: str) -> None:
    """Keep a picture of the screen in LIBRARY_SCREENSHOTS, if asked for."""
    folder = os.environ.get("LIBRARY_SCREENSHOTS")
    if not folder:
        return
    language = page.evaluate("() => document.documentElement.lang")
    width = page.viewport_size["width"] if page.viewport_size else 0
    size = "phone" if width <= 500 else "desk"
    Path(folder).mkdir(parents=True, exist_ok=True)
    # What a person sees on the screen, not the whole scroll (a term's registers run long).
    page.screenshot(path=str(Path(folder) / f"{screen}-{language}-{size}.png"))
