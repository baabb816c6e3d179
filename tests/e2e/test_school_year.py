"""学年升级 through the screens, in Chinese: the year's turn, the graduates, their retirement."""

from __future__ import annotations

import pytest

from tests.e2e.school import SchoolApi

pytestmark = pytest.mark.integration


def test_a_librarian_turns_the_year_and_retires_the_graduates_who_hold_nothing(
    library, school, scenario
):
    api = SchoolApi(library)
    for patron_id, name in (("S90101", "赵六"), ("S90102", "钱七")):
        api.call("POST", "/api/cards", json={
            "patron_id": patron_id, "name": name, "kind": "student", "class": "G9-1",
            "campus": "north",
        })  # fmt: skip
    book = school["barcodes"]["红楼梦@north"][0]
    api.call("POST", "/api/loans", json={"barcode": book, "patron_id": "S90101", "campus": "north"})

    seen = scenario("school_year")

    turn = seen["turn"]
    assert "初一(3)班 → 初二(3)班" in turn["confirmation"]
    assert "毕业年级（初三、高三）的班级不升级" in turn["confirmation"]
    assert "每个学年只升级一次" in turn["confirmation"]
    assert "阅读排行榜和学期目标从 2027年8月30日 起按新班级统计" in turn["confirmation"]
    assert turn["status"].startswith("2027 学年升级完成：")
    assert ["初一(3)班", "初二(3)班"] in turn["moved"]
    assert ["初二(6)班", "初三(6)班"] in turn["moved"]

    assert seen["graduates"] == [["初三(1)班", "2", "0", "1", "赵六（未还 1 册，未缴赔款 0 笔）"]]
    retire = seen["retire"]
    assert "将注销 1 名已还清图书、缴清赔款的毕业生的借书证" in retire["confirmation"]
    assert retire["status"] == (
        "已注销 1 名毕业生的借书证；1 名仍有图书未还或赔款未缴，保留借书证。"
    )
    assert retire["retired"] == [["钱七", "S90102", "初三(1)班"]]
    assert retire["left_active"] == ["赵六（初三(1)班）：未还：红楼梦"]
    assert seen["graduates_after"] == [
        ["初三(1)班", "2", "1", "0", "赵六（未还 1 册，未缴赔款 0 笔）"]
    ]
    assert seen["again"] == "2027 学年已经升过级，本次没有任何改动。"
