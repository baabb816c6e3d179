"""How long from a scan to the lend shown on screen, over 200 scans at the desk.

The assistant serves the readers one after another, as at a busy lunchtime desk:
each reader's card, then three books. For every book the time is taken in the page
itself (``performance.now()``), from the Enter key the scanner sends in the 条码
field to the frame that paints the lent line: a keydown listener (capture phase)
notes the start, a MutationObserver sees the line turn from pending to done, and
``requestAnimationFrame`` marks the frame it is painted in. What it measures is the
whole round trip a librarian waits for: the command through the gateway and
circulation, and the screen drawing its answer (the reader's loans are asked again
beside it, as at the real desk).

The school is ``LIBRARY_SCHOOL``'s, with ``timing``: {"barcodes": [...], "readers":
[...]} made by the test (tests/e2e/test_scan_timing.py). Prints JSON: how many were
scanned, lent and shown, and the median, p90, p99 and worst in milliseconds.
"""

from __future__ import annotations

import re
import statistics

from playwright.sync_api import Page, expect

from tests.e2e.scenarios.browser import Person, chromium, report, school
from tests.e2e.scenarios.steps_desk import scan

BOOKS_PER_READER = 3
MEASURE = """() => {
  window.__scanTimings = [];
  let pending = null;
  document.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.target && event.target.id === "desk-barcode") {
      pending = { barcode: event.target.value.trim(), start: performance.now() };
    }
  }, true);
  new MutationObserver(() => {
    if (!pending) return;
    const line = document.querySelector(
      `.desk-results li[data-barcode="${CSS.escape(pending.barcode)}"]`);
    if (!line || line.dataset.outcome === "pending") return;
    const done = pending;
    pending = null;
    const inPage = performance.now();
    requestAnimationFrame(() => window.__scanTimings.push({
      barcode: done.barcode,
      outcome: line.dataset.outcome,
      text: line.innerText,
      dom_ms: inPage - done.start,
      shown_ms: performance.now() - done.start,
    }));
  }).observe(document.body, {
    subtree: true, childList: true, attributes: true, attributeFilter: ["data-outcome"],
  });
}"""


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile: the smallest value with ``share`` of them at or below."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 1))
    return ordered[int(rank) - 1]


def figures(values: list[float]) -> dict[str, float]:
    return {
        "median_ms": round(statistics.median(values), 1),
        "p90_ms": round(percentile(values, 0.90), 1),
        "p99_ms": round(percentile(values, 0.99), 1),
        "max_ms": round(max(values), 1),
        "mean_ms": round(statistics.fmean(values), 1),
    }


def scan_book(page: Page, barcode: str, count: int) -> None:
    """Type the barcode, then Enter (the timed moment); wait for its line to be painted."""
    field = page.get_by_label("条码", exact=True)
    field.fill(barcode)
    field.press("Enter")
    page.wait_for_function("n => window.__scanTimings.length >= n", arg=count)


facts = school()
timing = facts["timing"]
barcodes: list[str] = timing["barcodes"]
readers: list[str] = timing["readers"]
with chromium() as browser:
    person = Person(browser, facts)
    page = person.sign_in("assistant")
    page.evaluate("() => performance.setResourceTimingBufferSize(5000)")
    expect(page).to_have_url(re.compile(r"#/desk/lend$"))
    page.evaluate(MEASURE)
    scanned = 0
    for index, reader in enumerate(readers):
        books = barcodes[index * BOOKS_PER_READER : (index + 1) * BOOKS_PER_READER]
        if not books:
            break
        page.get_by_label("读者证号", exact=True).focus()
        scan(page, "读者证号", reader)
        expect(page.get_by_test_id("reader")).to_contain_text(reader)
        for barcode in books:
            scanned += 1
            scan_book(page, barcode, scanned)
        page.keyboard.press("Escape")
    timings = page.evaluate("() => window.__scanTimings")
    # The lend requests alone (POST /api/loans, from the browser's resource timing): how
    # much of the wait is the API's, how much the screen's.
    requests_ms = page.evaluate(
        """() => performance.getEntriesByType("resource")
            .filter((entry) => new URL(entry.name).pathname === "/api/loans")
            .map((entry) => entry.duration)"""
    )
    lent_lines = page.locator(".desk-results li[data-kind=lend][data-outcome=ok]")
    expect(lent_lines).to_have_count(len(barcodes))
    shown = lent_lines.count()
    person.close()

report(
    {
        "scanned": scanned,
        "lent": sum(1 for t in timings if t["outcome"] == "ok" and "已借出" in t["text"]),
        "shown": shown,
        "refused": [t["text"] for t in timings if t["outcome"] != "ok"][:5],
        "shown_on_screen": figures([t["shown_ms"] for t in timings]),
        "in_the_page": figures([t["dom_ms"] for t in timings]),
        "lend_request": figures(requests_ms) if requests_ms else None,
        "measured": "from the Enter of a 条码 scan to the frame that paints its lent line",
    }
)
