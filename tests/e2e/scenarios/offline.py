"""An offline morning at the desk, through the screens.

The librarian works the north desk; the page loses its network (Playwright's offline
mode). She scans a reader's card (it cannot be checked offline: the desk says so)
and lends two books, lends one to another reader, and takes back a book a third
reader had: four lines 待同步, counted. Meanwhile, through the API, one of those books
is lent at the other desk and the second reader's card is blocked. She reloads the
page while still offline (the service worker keeps the page; the scans are kept in
IndexedDB): the four are still waiting. The network comes back: the desk sends them
in order by itself and says 同步完成：2 条已记录，2 条冲突. Through the API each command
was done once. On 离线借还 the conflicts are listed with their reasons: the book lent
meanwhile is settled with 先还后借, the blocked card's loan with the librarian's
仍然借出 (an override); an offline file uploaded twice is applied once.
"""

from __future__ import annotations

import re
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from playwright.sync_api import expect

from tests.e2e.scenarios.browser import Person, checked, chromium, report, school
from tests.e2e.scenarios.steps_desk import lend, result_lines
from tests.e2e.scenarios.steps_offline import (
    come_back,
    conflict_row,
    expect_waiting,
    gateway_down,
    gateway_up,
    go_offline,
    keep_bad_scan,
    lend_offline,
    network_errors,
    reload_offline,
    return_offline,
    settle,
    shell_kept,
    until,
    upload_file,
    waiting_list,
)

facts = school()
barcodes = facts["barcodes"]
dream = barcodes["红楼梦@north"]
alive = barcodes["活着@north"]
history = barcodes["上下五千年@north"]
seen: dict[str, Any] = {}
NOTE = "读者当面说明，特批借出"


def api(method: str, path: str, expect_status: tuple[int, ...] = (200, 201), **body: Any) -> Any:
    """The librarian's own session over the API (not the page's: its network is cut)."""
    if "token" not in seen:
        person = facts["people"]["librarian"]
        answer = requests.post(f"{facts['base']}/api/sessions", timeout=30, json={
            "username": person["username"], "password": person["password"],
        })  # fmt: skip
        seen["token"] = answer.json()["token"]
    answer = requests.request(
        method, f"{facts['base']}{path}", json=body or None, timeout=30,
        headers={"Authorization": f"Bearer {seen['token']}"},
    )  # fmt: skip
    assert answer.status_code in expect_status, f"{method} {path}: {answer.text}"
    return answer.json()


def loans_of(card: str) -> list[str]:
    return sorted(loan["barcode"] for loan in api("GET", f"/api/patrons/{card}/loans")["loans"])


def steps_of(barcode: str, step: str) -> int:
    """How many times the copy's history (the archived events) has ``step``."""
    return sum(
        1 for one in api("GET", f"/api/copies/{barcode}/history")["events"] if one["step"] == step
    )


def once(barcode: str, step: str) -> None:
    until(lambda: steps_of(barcode, step) >= 1, f"{barcode} {step}")
    assert steps_of(barcode, step) == 1, f"{barcode}: {step} more than once"


def offline_file(folder: Path) -> Path:
    """A desk without the web app: one good line, one with a time that is no time."""
    at = (datetime.now(UTC) - timedelta(minutes=5)).replace(microsecond=0).isoformat()
    path = folder / "离线借还.csv"
    path.write_text(
        "时间,操作,借书证号,条码号\n"
        f"{at},借,S70302,{history[0]}\n"
        f"昨天上午,借,S70302,{history[1]}\n",
        encoding="utf-8-sig",
    )
    return path


def api_from_worker(page: Any) -> dict[str, Any]:
    """Offline, under the worker: a question to /api/ fails (never answered from a
    cache), and the worker's caches hold no /api/ answer."""
    return page.evaluate(
        """async () => {
            const asked = await fetch("/api/me").then(
                (answer) => `answered ${answer.status}`, () => "failed");
            const kept = [];
            for (const name of await caches.keys()) {
                for (const request of await (await caches.open(name)).keys()) {
                    kept.push(new URL(request.url).pathname);
                }
            }
            const api = kept.filter((path) => path.startsWith("/api/"));
            return { asked, api_kept: api, page_kept: kept.includes("/") };
        }"""
    )


def main() -> None:
    api("POST", "/api/loans", patron_id="S70302", barcode=alive[0], campus="north")
    with chromium() as browser:
        person = Person(browser, facts)
        page = person.sign_in("librarian")
        person.go("/desk/lend")
        expect(page.get_by_role("heading", level=1)).to_have_text("借还台")
        shell_kept(page)
        worker = requests.get(f"{facts['base']}/static/sw.js", timeout=30)
        seen["worker_allowed"] = worker.headers.get("Service-Worker-Allowed")

        go_offline(page)
        seen["lent"] = lend_offline(page, "S70301", [dream[0], alive[1]])
        seen["lent"] += lend_offline(page, "S70303", [history[1]])
        seen["returned"] = return_offline(page, [alive[0]], damaged=True)
        expect_waiting(page, 4)
        checked(page, "desk-offline")
        # Meanwhile, at the other desk: a book she just lent offline is lent to another
        # reader, and that reader's card is blocked.
        api("POST", "/api/loans", patron_id="S70303", barcode=alive[1], campus="north")
        api("POST", "/api/cards/S70303/block", reason="借书证遗失，待补办")

        seen["address"] = page.evaluate("() => location.pathname + location.hash")
        # still offline: the page comes from the service worker, at the desk's address
        seen["reloaded_at"] = reload_offline(page)
        expect(page.get_by_role("heading", level=1)).to_have_text("借还台")
        expect_waiting(page, 4)
        expect(page.get_by_test_id("offline-banner")).to_be_visible()
        seen["reloaded_offline"] = True
        seen["waiting"] = waiting_list(page)
        seen["api_offline"] = api_from_worker(page)

        seen["summary"] = come_back(page)
        checked(page, "desk-synced")
        seen["loans"] = {card: loans_of(card) for card in ("S70301", "S70302", "S70303")}
        once(dream[0], "lent")
        once(alive[0], "returned")
        # The book returned damaged offline (the damage kept with the scan): damaged now.
        until(
            lambda: api("GET", f"/api/copies/{alive[0]}/availability")["status"] == "damaged",
            f"{alive[0]} damaged",
        )

        page.get_by_role("link", name="处理离线冲突").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("离线借还")
        row = conflict_row(page, alive[1])
        expect(row).to_contain_text("王小明（S70301）")  # the name and title, asked for
        expect(row).to_contain_text("《活着》")
        seen["conflict"] = row.inner_text()
        seen["choices"] = row.get_by_role("button").all_inner_texts()
        blocked = conflict_row(page, history[1])
        expect(blocked).to_contain_text("张伟（S70303）")
        seen["blocked"] = blocked.inner_text()
        seen["blocked_choices"] = blocked.get_by_role("button").all_inner_texts()
        checked(page, "offline-conflicts")
        # An assistant at the north desk sees the same conflicts, without 仍然借出.
        assistant = Person(browser, facts)
        assistant.sign_in("assistant")
        assistant.go("/offline")
        seen["assistant_choices"] = (
            conflict_row(assistant.page, history[1]).get_by_role("button").all_inner_texts()
        )
        assistant.close()
        seen["settled"] = settle(page, alive[1], "先还后借")
        seen["overridden"] = settle(page, history[1], "仍然借出", note=NOTE)
        seen["after_settling"] = {card: loans_of(card) for card in ("S70301", "S70303")}
        resolved = api("GET", "/api/offline/conflicts?campus=north&state=resolved")["conflicts"]
        seen["notes"] = {c["barcode"]: c["resolved"]["note"] for c in resolved}
        # The copy's history (catalogue) words the conflict and its settling.
        until(lambda: steps_of(alive[1], "offline_conflict_resolved"), "the settling archived")
        person.go(f"/copies/{alive[1]}")
        timeline = page.get_by_role("list", name="该书的流转记录，按时间先后")
        expect(timeline).to_contain_text("离线冲突已处理：先还后借")
        seen["timeline"] = timeline.inner_text()
        page.go_back()
        expect(page.get_by_role("heading", level=1)).to_have_text("离线借还")

        with tempfile.TemporaryDirectory() as folder:
            path = offline_file(Path(folder))
            seen["file_first"] = upload_file(page, path, 1)
            seen["file_again"] = upload_file(page, path, 2)
        once(history[0], "lent")
        checked(page, "offline-file")

        # Offline again at the desk, a return; back online, its line says it was sent.
        page.get_by_role("link", name="返回借还台").click()
        go_offline(page)
        return_offline(page, [dream[0]], damaged=True)
        expect_waiting(page, 1)
        seen["summary_again"] = come_back(page)
        line = result_lines(page).first
        expect(line).to_have_attribute("data-outcome", "ok")
        seen["line_sent"] = line.inner_text()
        # A scan the server refuses as a whole batch (400): kept, and the desk says why.
        keep_bad_scan(page, dream[1])
        refused = page.get_by_test_id("offline-error")
        expect(refused).to_contain_text("同步未成功")
        expect(refused).to_contain_text("服务器拒收 1 条")
        seen["refused_batch"] = refused.inner_text()
        # Held, it does not stop the desk: a lend goes straight to the server again.
        seen["lent_after"] = lend(page, "S70302", [dream[2]])
        refused.get_by_role("button", name=re.compile("^删除待同步记录")).click()
        expect(refused).to_have_count(0)
        # The network is up but the gateway does not answer (502): the desk keeps the
        # return, says it is offline, and sends it by itself once the gateway is back.
        gateway_down(page)
        return_offline(page, [dream[2]])
        expect(page.get_by_test_id("offline-banner")).to_be_visible()
        gateway_up(page)
        expect(page.get_by_test_id("offline-banner")).to_have_count(0)
        line = result_lines(page).first
        expect(line).to_have_attribute("data-outcome", "ok")
        seen["line_after_gateway"] = line.inner_text()
        # The page's own complaints while its network was cut are expected, no others.
        person.console_errors = [
            e for e in person.console_errors if e not in network_errors(person.console_errors)
        ]
        person.close()

        phone = Person(browser, facts, size="phone")
        phone.sign_in("librarian")
        phone.go("/offline")
        expect(phone.page.get_by_role("heading", level=1)).to_have_text("离线借还")
        phone.page.get_by_label("显示").select_option("resolved")
        expect(phone.page.get_by_test_id("offline-conflicts").locator("tbody tr")).to_have_count(2)
        seen["resolved_shown"] = phone.page.get_by_test_id("offline-conflicts").inner_text()
        checked(phone.page, "offline-conflicts")
        # The desk offline at 390 px: the banner, the count and the lines fit.
        phone.go("/desk/lend")
        expect(phone.page.get_by_label("读者证号", exact=True)).to_be_focused()
        go_offline(phone.page)
        lend_offline(phone.page, "S70301", [dream[1]])
        expect_waiting(phone.page, 1)
        checked(phone.page, "desk-offline")
        errors = phone.console_errors
        phone.console_errors = [e for e in errors if e not in network_errors(errors)]
        phone.close()
    report(seen)


if __name__ == "__main__":
    main()
