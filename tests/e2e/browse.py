"""Open the dashboard in headless Chromium and print what it shows, as JSON.

Run in its own process (the tests' process is monkey-patched by eventlet, which
Playwright's event loop must not share)::

    python tests/e2e/browse.py http://127.0.0.1:8000 TOKEN --screenshot dashboard.png

It signs in through ``#token=``, waits for the page to say it is ready, reads
the figures, switches to each campus, and finally tries a token the gateway
refuses. Nothing here sleeps: every step waits for the page's own signal
(``body[data-state]`` and the ``data-generation`` counter of finished refreshes).
"""

from __future__ import annotations

import argparse
import json
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


def wait_ready(page: Page, after: int = 0) -> int:
    """Wait until a refresh newer than ``after`` has finished; return its number."""
    page.wait_for_function(
        "after => document.body.dataset.state === 'ready'"
        " && Number(document.body.dataset.generation || 0) > after",
        arg=after,
        timeout=TIMEOUT_MS,
    )
    return int(page.get_attribute("body", "data-generation") or 0)


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
    base: str, token: str, screenshot: str | None, campuses: bool, period: str = "week"
) -> dict[str, Any]:
    seen: dict[str, Any] = {"console_errors": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1360, "height": 1500})
            page.on(
                "console",
                lambda message: (
                    seen["console_errors"].append(message.text) if message.type == "error" else None
                ),
            )
            page.on("pageerror", lambda error: seen["console_errors"].append(str(error)))
            page.goto(f"{base}/#token={token}&period={period}", timeout=TIMEOUT_MS)
            generation = wait_ready(page)
            seen["all"] = figures(page)
            seen["address_after_sign_in"] = page.url
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

                # A token the gateway does not know: back to the sign-in form, with the reason.
                refused = browser.new_page()
                refused.goto(f"{base}/#token=not-a-token", timeout=TIMEOUT_MS)
                refused.wait_for_function(
                    "document.body.dataset.state === 'signed-out'", timeout=TIMEOUT_MS
                )
                seen["refused"] = {
                    "form_visible": refused.is_visible("#sign-in"),
                    "reason": refused.inner_text("#sign-in-reason"),
                    "dashboard_visible": refused.is_visible("#dashboard"),
                }
        finally:
            browser.close()
    return seen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="the gateway, e.g. http://127.0.0.1:8000")
    parser.add_argument("token")
    parser.add_argument("--screenshot", help="write a full-page PNG here")
    parser.add_argument("--no-campuses", action="store_true", help="only the first view")
    parser.add_argument("--period", choices=("week", "month", "term"), default="week")
    args = parser.parse_args(argv)
    seen = browse(
        args.base.rstrip("/"), args.token, args.screenshot, not args.no_campuses, args.period
    )
    json.dump(seen, sys.stdout, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
