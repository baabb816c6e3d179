"""The stock-take at the screen, in Chinese: scans, a scanner's file, the report, weeding."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


def test_a_librarian_takes_stock_reads_the_report_and_weeds_the_twice_missing(scenario, school):
    seen = scenario("stocktake")
    novel, alive = school["barcodes"]["红楼梦@north"], school["barcodes"]["活着@north"]
    south = school["barcodes"]["活着@south"]

    assert seen["empty"]
    assert seen["scope"].startswith("北区 · I2 · ")
    assert "已借出《红楼梦》" in seen["lent"][0]
    first, again, southern, unknown, on_loan = seen["scans"]
    assert first == f"{novel[0]} 已计入"
    assert again == f"{novel[0]} 已清点过，只计一次"
    assert southern == f"{south[0]} 已计入；错架：属于南区"
    assert unknown == "C99999999 条码不存在"
    assert on_loan == f"{novel[2]} 已计入；该书登记为已借出，已自动还书（清点时发现）"
    assert seen["count_after_scans"] == "已清点 3 册"

    summary, bad_line = seen["upload"]
    assert summary == "已读取 3 行：新计入 2 册，重复 0 册，条码不存在 0 个"
    assert bad_line == "第 2 行：书架!（不是图书条码）"
    assert seen["count_after_upload"] == "已清点 5 册"

    # I2 at north: 红楼梦 x3 (I242.4) and 活着 x2 (I247.57); four of them found (one on
    # loan, returned since), and one of the south campus.
    assert seen["figures"] == {
        "账面在架": "5 册",
        "已清点": "5 册",
        "缺失": "1 册",
        "错架": "1 册",
        "借出中发现": "1 册",
    }
    assert seen["missing"] == [alive[1]]
    assert seen["found_on_loan"] == [novel[2]]
    assert [row[0] for row in seen["english_missing"]] == [alive[1]]
    assert seen["phone_scan"] == f"{south[1]} 已计入"
    assert [row[0] for row in seen["misplaced"]] == [south[0]]
    assert seen["misplaced"][0][-1] == "错架：属于南区"
    assert seen["download"] == f"图书清点结果-{seen['stocktake_id']}.xlsx"

    listed, done = seen["weeded"]
    assert listed == [alive[1]]
    assert done == "已按丢失剔除 1 册"
