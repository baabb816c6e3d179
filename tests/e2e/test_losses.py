"""A lost book settled at the desk: paid in two parts with printed receipts, or replaced."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.integration


def test_a_librarian_takes_a_loss_in_two_parts_and_prints_each_receipt(scenario):
    seen = scenario("losses")

    assert "照价赔偿：¥30.00，由张伟缴纳" in seen["amount"]
    assert seen["owed"] == "已缴 ¥10.00，尚欠 ¥20.00"
    assert "¥10.00" in seen["payment"] and "尚欠 ¥20.00" in seen["payment"]
    assert "收款人：陈静" in seen["payment"]
    first, second = seen["numbers"]
    assert re.fullmatch(r"\d{4}-\d{6}", first) and second > first
    for shown in ("丢失图书赔偿收据", f"收据号：{first}", "张伟（初一(3)班）", "红楼梦",
                  "¥10.00", "壹拾元整", "¥20.00", "收款人陈静"):  # fmt: skip
        assert shown in seen["first"], shown
    assert "贰拾元整" in seen["second"] and "赔款已缴清" in seen["second"]
    assert "缴纳金额超过尚欠金额" in seen["too_much"]
    assert "已以新书赔偿：《活着》新书 RPL-20261207 已入藏" in seen["replaced"]
    register = seen["register"]
    assert any("丢失" in row and "¥30.00" in row for row in register), register
    assert any("缴纳赔款" in row and "¥10.00" in row and "陈静" in row for row in register)
    assert any("以新书赔偿" in row and "RPL-20261207" in row for row in register), register
