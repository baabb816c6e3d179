"""Signing in through the screens: the form, refusals, each role's landing and menu."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


def test_each_person_signs_in_and_lands_on_the_screens_of_their_role(scenario):
    seen = scenario("sign_in")

    landing = seen["landing"]
    assert landing["librarian"]["path"] == "#/dashboard"
    assert landing["assistant"]["path"] == "#/desk/lend"
    assert landing["operator"]["path"] == "#/operator"
    assert landing["teacher"]["path"] == "#/teacher"
    assert landing["student"]["path"] == "#/opac"
    assert landing["operator"]["menu"] == ["系统运维"]
    # The menu follows the rights (shared/runtime/rights.py), in the order of a day's work.
    assert landing["assistant"]["menu"] == [
        "首页",
        "借还台",
        "借书证",
        "阅读活动",
        "统计报表",
        "馆藏查询",
    ]
    assert landing["teacher"]["menu"] == ["我的班级", "阅读活动", "馆藏查询"]
    assert landing["student"]["menu"] == ["阅读活动", "馆藏查询"]
    assert landing["librarian"]["menu"] == [
        "首页", "借还台", "编目", "图书清点", "借书证", "我的班级",
        "阅读活动", "统计报表", "校历", "学年升级", "馆藏查询", "系统运维",
    ]  # fmt: skip
