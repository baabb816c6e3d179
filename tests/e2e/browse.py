"""Open the dashboard in headless Chromium and print what it shows, as JSON.

Run in its own process (the tests' process is monkey-patched by eventlet, which
Playwright's event loop must not share)::

    LIBRARY_PASSWORD=... python tests/e2e/browse.py http://127.0.0.1:8000 USERNAME \
        --screenshot dashboard.png

The password comes from the environment, never the command line (where the
process list would show it). It signs in as a person does (types the username
and password into the labelled fields, clicks 登录), waits for the page to say it
is ready, reads the figures, switches to each campus, then tries a wrong
password, signs out, and finally has its session end behind its back. Nothing
here sleeps: every step waits for the page's own signal (``body[data-state]``
and the ``data-generation`` counter of finished refreshes).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from playwright.sync_api import Page, sync_playwright

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
]
TIMEOUT_MS = 60_000
PASSWORD_VARIABLE = "LIBRARY_PASSWORD"
PHONE = {"width": 390, "height": 844}


def wait_ready(page: Page, after: int = 0) -> int:
    """Wait until a refresh newer than ``after`` has finished; return its number."""
    page.wait_for_function(
        "after => document.body.dataset.state === 'ready'"
        " && Number(document.body.dataset.generation || 0) > after",
        arg=after,
        timeout=TIMEOUT_MS,
    )
    return int(page.get_attribute("body", "data-generation") or 0)


def wait_signed_out(page: Page, with_reason: bool = False) -> None:
    """Wait until the sign-in form is shown (and, if asked, says why)."""
    page.wait_for_function(
        "withReason => document.body.dataset.state === 'signed-out'"
        " && (!withReason || document.querySelector('#sign-in-reason').textContent !== '')",
        arg=with_reason,
        timeout=TIMEOUT_MS,
    )


def sign_in(page: Page, username: str, password: str) -> None:
    """Type the username and password into the form's labelled fields and press 登录."""
    page.get_by_label("用户名", exact=True).fill(username)
    page.get_by_label("密码", exact=True).fill(password)
    page.get_by_role("button", name="登录", exact=True).click()


def form(page: Page) -> dict[str, Any]:
    """What the sign-in form shows, and whether the dashboard is hidden behind it."""
    return {
        "form_visible": page.is_visible("#sign-in"),
        "reason": page.inner_text("#sign-in-reason").strip(),
        "dashboard_visible": page.is_visible("#dashboard"),
    }


def storage(page: Page) -> dict[str, Any]:
    """The names kept in this tab's sessionStorage and in localStorage."""
    return page.evaluate(
        "() => ({session: Object.keys(sessionStorage), local: Object.keys(localStorage)})"
    )


def session_token(page: Page) -> str | None:
    return page.evaluate(
        "() => Object.keys(sessionStorage).map((k) => sessionStorage.getItem(k))[0] || null"
    )


def text(page: Page, testid: str) -> str:
    return page.inner_text(f'[data-testid="{testid}"]').strip()


def figures(page: Page) -> dict[str, Any]:
    """What the page shows, as plain values."""
    return page.evaluate(
        """() => {
        const text = (id) => document.querySelector(`[data-testid="${id}"]`).textContent.trim();
        const bars = (id) => Array.from(
            document.querySelectorAll(`[data-testid="${id}"] rect[data-label]`),
            (bar) => [bar.dataset.label, Number(bar.dataset.value)]);
        return {
            held: text("held"),
            on_loan: text("on-loan"),
            weeded: text("weeded"),
            overdue: text("overdue-total"),
            ledger: Array.from(
                document.querySelectorAll('[data-testid="general-ledger"] tbody tr'),
                (row) => [row.dataset.campus,
                          row.querySelector('[data-field="held"]').textContent]),
            letters: bars("letters-chart"),
            classes: bars("classes-chart"),
            overdue_classes: bars("overdue-chart"),
            students: Array.from(
                document.querySelectorAll('[data-testid="students-board"] li'),
                (item) => ({
                    patron_id: item.dataset.patron,
                    name: item.querySelector(".name").textContent,
                    books: item.querySelector(".books").textContent,
                })),
            lag: Array.from(
                document.querySelectorAll('[data-testid="lag"] tbody tr'),
                (row) => [row.dataset.service, row.dataset.projection || null,
                          row.querySelector("td:last-child").textContent]),
            period: text("period-name"),
            banner: document.querySelector("#banner").hidden ? "" : text("banner"),
            errors: Array.from(document.querySelectorAll(".state.error"), (box) => box.textContent),
        };
    }"""
    )


def browse(
    base: str,
    username: str,
    password: str,
    screenshot: str | None,
    campuses: bool,
    period: str = "week",
    form_screenshot: str | None = None,
) -> dict[str, Any]:
    seen: dict[str, Any] = {"console_errors": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        gateway = playwright.request.new_context(base_url=base)
        try:
            if form_screenshot:
                phone = browser.new_page(viewport=PHONE, device_scale_factor=2)
                phone.goto(base + "/", timeout=TIMEOUT_MS)
                wait_signed_out(phone)
                phone.screenshot(path=form_screenshot, full_page=True)
                phone.close()

            page = browser.new_page(viewport={"width": 1360, "height": 1500})
            page.on(
                "console",
                lambda message: (
                    seen["console_errors"].append(message.text) if message.type == "error" else None
                ),
            )
            page.on("pageerror", lambda error: seen["console_errors"].append(str(error)))
            page.goto(f"{base}/#period={period}", timeout=TIMEOUT_MS)
            wait_signed_out(page)
            seen["form_before_sign_in"] = form(page)
            sign_in(page, username, password)
            generation = wait_ready(page)
            seen["all"] = figures(page)
            seen["address_after_sign_in"] = page.url
            token = session_token(page)
            seen["token_in_address"] = bool(token) and token in page.url
            seen["storage"] = storage(page)
            seen["who"] = {"name": text(page, "who-name"), "role": text(page, "who-role")}
            if screenshot:
                page.screenshot(path=screenshot, full_page=True)
            if campuses:
                for campus in ("north", "south"):
                    page.click(f'[data-testid="campus-switch"] [data-campus="{campus}"]')
                    generation = wait_ready(page, generation)
                    seen[campus] = figures(page)
                page.click('[data-testid="period-switch"] [data-period="term"]')
                generation = wait_ready(page, generation)
                seen["south_term"] = figures(page)

                # Signing out: the session ends at the gateway and the form is back.
                page.get_by_role("button", name="退出登录", exact=True).click()
                wait_signed_out(page)
                seen["signed_out"] = {
                    **form(page),
                    "storage": storage(page),
                    "who_visible": page.is_visible('[data-testid="who"]'),
                    "figures_left": text(page, "held"),
                    "old_session": gateway.get(
                        "/api/me", headers={"Authorization": f"Bearer {token}"}
                    ).status,
                }

                # A wrong password: the form says so (never which part) and stays.
                refused = browser.new_page()
                refused.goto(base + "/", timeout=TIMEOUT_MS)
                wait_signed_out(refused)
                sign_in(refused, username, password + "-wrong")
                wait_signed_out(refused, with_reason=True)
                seen["refused"] = {**form(refused), "storage": storage(refused)}

                # A session that ends elsewhere (expired, revoked): the next refresh's 401
                # brings the form back, saying so.
                expired = browser.new_page()
                expired.goto(base + "/", timeout=TIMEOUT_MS)
                wait_signed_out(expired)
                sign_in(expired, username, password)
                wait_ready(expired)
                ended = gateway.delete(
                    "/api/sessions/current",
                    headers={"Authorization": f"Bearer {session_token(expired)}"},
                )
                assert ended.status == 204, ended.text()
                expired.click("#refresh")
                wait_signed_out(expired, with_reason=True)
                seen["expired"] = {**form(expired), "storage": storage(expired)}
        finally:
            gateway.dispose()
            browser.close()
    return seen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="the gateway, e.g. http://127.0.0.1:8000")
    parser.add_argument("username", help=f"signs in with this and ${PASSWORD_VARIABLE}")
    parser.add_argument("--screenshot", help="write a full-page PNG of the dashboard here")
    parser.add_argument("--form-screenshot", help="write a PNG of the sign-in form, 390 px wide")
    parser.add_argument("--no-campuses", action="store_true", help="only the first view")
    parser.add_argument("--period", choices=("week", "month", "term"), default="week")
    args = parser.parse_args(argv)
    password = os.environ.get(PASSWORD_VARIABLE)
    if not password:
        parser.error(f"set the password in the environment variable {PASSWORD_VARIABLE}")
    seen = browse(
        args.base.rstrip("/"),
        args.username,
        password,
        args.screenshot,
        not args.no_campuses,
        args.period,
        args.form_screenshot,
    )
    json.dump(seen, sys.stdout, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
