"""The desk's offline steps: lose the link, scan on, get it back, settle what could not be done.

Playwright's offline mode (``context.set_offline``) cuts the page from the gateway as
a pulled cable would. The desk then keeps each lend and return in the browser
(IndexedDB) and shows it as 待同步 with a count; when the link is back it sends them
itself (POST /api/offline) and says 同步完成：N 条已记录，M 条冲突. The conflicts
are settled on 离线借还 (linked from the desk), where an offline file is uploaded
too. Every step waits for what the screen shows, never for a time.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Locator, Page, expect

from tests.e2e.scenarios.steps_desk import next_reader, open_tab, result_lines, scan

OFFLINE = "离线：借还先记在本机，联网后自动同步"
NO_NETWORK = ("ERR_INTERNET_DISCONNECTED", "net::ERR_", "Failed to fetch", "status of 502")


def go_offline(page: Page) -> None:
    """Cut the page from the network; the desk says so at once (the browser's event)."""
    page.context.set_offline(True)
    expect(page.get_by_test_id("offline-banner")).to_have_text(OFFLINE)


def come_back(page: Page) -> str:
    """Give the page its network back; the desk sends what waited and says what became
    of it: the summary's words (同步完成：…)."""
    page.context.set_offline(False)
    summary = page.get_by_test_id("offline-summary")
    expect(summary).to_contain_text("同步完成")
    expect(page.get_by_test_id("offline-banner")).to_have_count(0)
    expect(page.get_by_test_id("offline-queued")).to_have_count(0)
    return summary.inner_text()


def shell_kept(page: Page) -> None:
    """Wait until the service worker keeps the page at "/" (its scope: the whole site)
    and its files (127.0.0.1 is a secure context): loading the page again then works
    with no network, at the desk's own address (/#/desk/...)."""
    page.wait_for_function(
        """async () => {
            const kept = await navigator.serviceWorker.getRegistration("/");
            const shell = await caches.match("/");
            return Boolean(kept && new URL(kept.scope).pathname === "/" && kept.active
                && kept.active.state === "activated" && shell
                && navigator.serviceWorker.controller);
        }"""
    )


def reload_offline(page: Page) -> str:
    """Load the page again as the browser's reload button does, with no network: the
    service worker answers. (Playwright's own page.reload() fails offline here.) The
    address it was loaded at (the desk's own: /#/desk/...)."""
    with page.expect_navigation():
        page.evaluate("() => location.reload()")
    assert page.evaluate("() => Boolean(navigator.serviceWorker.controller)"), "not kept"
    return page.evaluate("() => location.pathname + location.hash")


def waiting(page: Page) -> str:
    """The count of scans waiting to be sent, as shown (待同步 3 条)."""
    count = page.get_by_test_id("offline-count")
    expect(count).to_be_visible()
    return count.inner_text()


def waiting_list(page: Page) -> list[str]:
    """The scans waiting, as the desk lists them (查看待同步记录): one text each."""
    queued = page.get_by_test_id("offline-queued")
    queued.get_by_text("查看待同步记录").click()
    items = queued.locator("ol.queue li")
    expect(items.first).to_be_visible()
    return items.all_inner_texts()


def expect_waiting(page: Page, count: int) -> None:
    expect(page.get_by_test_id("offline-count")).to_have_text(f"待同步 {count} 条")


def queued_line(page: Page, barcode: str) -> str:
    """Wait for the newest line to be kept (待同步) for ``barcode``: its words."""
    line = result_lines(page).first
    expect(line).to_have_attribute("data-barcode", barcode)
    expect(line).to_have_attribute("data-outcome", "queued")
    expect(line).to_contain_text("待同步")
    return line.inner_text()


def lend_offline(page: Page, card: str, barcodes: list[str]) -> list[str]:
    """Offline, scan a card (it cannot be checked: the desk says so) and lend it books:
    each line says 待同步."""
    open_tab(page, "lend")
    if page.get_by_test_id("reader").count() or page.get_by_test_id("offline-reader").count():
        next_reader(page)
    scan(page, "读者证号", card)
    notice = page.get_by_test_id("offline-reader")
    expect(notice).to_contain_text(f"无法核对借书证 {card}")
    expect(page.get_by_label("条码", exact=True)).to_be_focused()
    lines = []
    for barcode in barcodes:
        before = result_lines(page).count()
        scan(page, "条码", barcode)
        expect(result_lines(page)).to_have_count(before + 1)
        lines.append(queued_line(page, barcode))
    return lines


def return_offline(page: Page, barcodes: list[str], damaged: bool = False) -> list[str]:
    """Offline, return books by scanning (each marked 损坏 with F2 first if asked: the
    damage is kept with the scan): each line says 待同步."""
    open_tab(page, "return")
    lines = []
    for barcode in barcodes:
        before = result_lines(page).count()
        if damaged:
            page.get_by_label("条码", exact=True).press("F2")
            expect(page.get_by_label("损坏", exact=True)).to_be_checked()
        scan(page, "条码", barcode)
        expect(result_lines(page)).to_have_count(before + 1)
        lines.append(queued_line(page, barcode))
    return lines


def open_offline_page(page: Page) -> None:
    """离线借还, by its link on the desk."""
    page.get_by_role("link", name="离线借还与冲突").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("离线借还")


def conflict_row(page: Page, barcode: str) -> Locator:
    """The open conflict of ``barcode`` in the 离线冲突 table."""
    table = page.get_by_role("table", name=re.compile("的离线冲突$"))
    row = table.locator(f'tbody tr[data-barcode="{barcode}"]')
    expect(row).to_have_count(1)
    return row


def settle(page: Page, barcode: str, resolution: str, note: str = "") -> str:
    """Settle ``barcode``'s conflict with the button named ``resolution`` (先还后借, ...),
    with the 备注 ``note`` written first if given: the words saying it is done; the
    conflict leaves the open list."""
    row = conflict_row(page, barcode)
    if note:
        row.get_by_label(f"备注：{barcode}").fill(note)
    row.get_by_role("button", name=f"{resolution}：{barcode}").click()
    outcome = page.get_by_test_id("conflict-outcome")
    expect(outcome).to_contain_text("已处理")
    expect(
        page.locator(f'[data-testid="offline-conflicts"] tbody tr[data-barcode="{barcode}"]')
    ).to_have_count(0)
    return outcome.inner_text()


def upload_file(page: Page, path: Path, nth: int = 1) -> str:
    """Upload an offline file (CSV) on 离线借还, the ``nth`` of this page: its report's words."""
    form = page.get_by_test_id("offline-file")
    form.get_by_label("离线文件（CSV）").set_input_files(str(path))
    form.get_by_role("button", name=re.compile("^上传并办理")).click()
    report = form.locator(f'[data-testid="offline-file-report"][data-upload="{nth}"]')
    expect(report).to_be_visible()
    return report.inner_text()


def keep_bad_scan(page: Page, barcode: str) -> None:
    """Put a scan the server will refuse (an action it does not know) into the desk's
    queue in IndexedDB, as a broken browser might, and load the page again (online)."""
    page.evaluate(
        """barcode => new Promise((done, failed) => {
            const opening = indexedDB.open("library-offline", 1);
            opening.onerror = () => failed(opening.error);
            opening.onsuccess = () => {
                const tx = opening.result.transaction("scans", "readwrite");
                tx.objectStore("scans").add({
                    command_id: crypto.randomUUID(), at: new Date().toISOString(),
                    action: "borrow", barcode, campus: "north",
                });
                tx.oncomplete = () => { opening.result.close(); done(); };
                tx.onerror = () => failed(tx.error);
            };
        })""",
        barcode,
    )
    page.reload()


def network_errors(errors: list[str]) -> list[str]:
    """The console's complaints that are only the network being cut or the gateway
    answering 502 (expected here)."""
    return [
        error
        for error in errors
        if any(mark in error for mark in NO_NETWORK) or re.match(r"502 \S+/api/", error)
    ]


def gateway_down(page: Page) -> None:
    """The network is up but the gateway gives no answer: a proxy's 502 for every API call."""
    page.route("**/api/**", lambda route: route.fulfill(status=502, body=""))


def gateway_up(page: Page) -> None:
    """The gateway answers again: the desk finds it by itself (it asks every few seconds)."""
    page.unroute("**/api/**")


def until(condition: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    """Ask again until ``condition`` holds (the API's read models follow the events)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
