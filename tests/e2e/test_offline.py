"""The desk offline, through the screens: scans kept in the browser, sent once when back."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


def test_the_desk_lends_and_returns_offline_and_sends_each_scan_once(scenario, school):
    seen = scenario("offline")
    dream = school["barcodes"]["红楼梦@north"]
    alive = school["barcodes"]["活着@north"]
    history = school["barcodes"]["上下五千年@north"]

    assert all("待同步" in line for line in seen["lent"] + seen["returned"])
    assert seen["reloaded_offline"]
    # The desk keeps its address (the worker's scope is "/"), and is reloaded there.
    assert seen["worker_allowed"] == "/"  # the gateway lets /static/sw.js keep "/"
    assert seen["address"] == "/#/desk/return"
    assert seen["reloaded_at"] == "/#/desk/return"
    assert seen["api_offline"] == {"asked": "failed", "api_kept": [], "page_kept": True}
    assert "同步完成：2 条已记录，2 条冲突" in seen["summary"]
    # Each command done once: the loan made offline, the return, and not the lend of the
    # book lent meanwhile at the other desk (a conflict instead).
    assert seen["loans"]["S70301"] == [dream[0]]
    assert seen["loans"]["S70302"] == []
    assert seen["loans"]["S70303"] == [alive[1]]
    # The book lent meanwhile: taken back from the other loan and lent again, or nothing.
    assert "该书已借出" in seen["conflict"]
    assert "王小明（S70301）" in seen["conflict"] and "《活着》" in seen["conflict"]
    assert seen["choices"] == ["先还后借", "无需处理"]
    # The card blocked meanwhile: a librarian may set the rule aside.
    assert "借书证已停用" in seen["blocked"]
    assert seen["blocked_choices"] == ["仍然借出", "无需处理"]
    assert seen["assistant_choices"] == ["无需处理"]  # the override is a librarian's
    assert "先还后借" in seen["settled"]
    assert "仍然借出" in seen["overridden"]
    # The 备注 written beside the settling is kept with it (and shown under 已处理).
    assert seen["notes"] == {alive[1]: "", history[1]: "读者当面说明，特批借出"}
    assert "备注：读者当面说明，特批借出" in seen["resolved_shown"]
    # A book returned damaged offline: kept with the scan, recorded when sent.
    assert "损坏（同步时登记）" in seen["returned"][0]
    assert f"还书：{alive[0]}（损坏）" in seen["waiting"][-1]  # kept with the scan, reloaded
    # The copy's history words the offline conflict and its settling.
    assert "离线时借给 王小明（S70301），同步时未能办理：该书已借出" in seen["timeline"]
    assert "离线冲突已处理：先还后借" in seen["timeline"]
    assert seen["after_settling"]["S70301"] == sorted([dream[0], alive[1]])
    assert seen["after_settling"]["S70303"] == [history[1]]
    # The same offline file twice: applied once.
    assert "新办理 1 条，此前已办理 0 条" in seen["file_first"]
    assert "第 3 行" in seen["file_first"]
    assert "新办理 0 条，此前已办理 1 条" in seen["file_again"]
    # Offline again: the line of the return says it was sent, once the link is back.
    assert "同步完成：1 条已记录，0 条冲突" in seen["summary_again"]
    assert "已同步：已还" in seen["line_sent"] and "已登记损坏" in seen["line_sent"]
    # A batch the server refuses (400): the scan is kept and the desk names it.
    assert "同步未成功" in seen["refused_batch"]
    assert f"borrow：{school['barcodes']['红楼梦@north'][1]}：操作" in seen["refused_batch"]
    assert "已借出《红楼梦》" in seen["lent_after"][0]
    # The gateway answering 502 is offline too: kept, then sent by itself.
    assert "已同步：已还" in seen["line_after_gateway"]
