"""The desk through the screens: lend by scanning, refusals in words, return, renew, the day."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


def test_an_assistant_works_the_desk_by_scanning(scenario):
    seen = scenario("desk")

    assert len(seen["lent"]) == 3
    assert "工具书不外借" in seen["refused"]["reference"]
    assert "已达借阅上限（学生 3 册）" in seen["refused"]["limit"]
    assert "有逾期未还图书，暂不能借书" in seen["may_not_borrow"][0]
    assert "借书证已停用" in seen["may_not_borrow"][1]
    assert "该书属于南区，已转为在途" in seen["returned"][1]
    assert "该书已续借过一次，不能再续借" in seen["renewed"][1]
    assert len(seen["today"]) >= 7
    # The reader panel at the south desk followed a return at the north desk, pushed.
    assert seen["live_route"] and seen["live"]
