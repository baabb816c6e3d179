"""The reading programme through the screens: notes and awards, a competition, the figures."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.school import SchoolApi
from tests.helpers import wait_until

pytestmark = pytest.mark.integration


def lend(api: SchoolApi, patron_id: str, barcode: str, campus: str = "north") -> dict[str, Any]:
    return api.call(
        "POST", "/api/loans", json={"patron_id": patron_id, "barcode": barcode, "campus": campus}
    )


def give_back(api: SchoolApi, barcode: str, campus: str = "north") -> None:
    api.call("POST", "/api/returns", json={"barcode": barcode, "campus": campus})


def books_read(api: SchoolApi) -> dict[str, int]:
    board = api.call("GET", "/api/leaderboards/students", params={"period": "term"})
    return {entry["patron_id"]: entry["books"] for entry in board["entries"]}


def test_notes_competitions_targets_bulletin_and_leaderboards(library, school, scenario):
    api = SchoolApi(library)
    books = school["barcodes"]
    # 王小明 keeps 活着 (he writes about it); he has read two books and 韩梅梅 one.
    lend(api, "S70301", books["活着@north"][0])
    for patron_id, barcode in (
        ("S70301", books["上下五千年@north"][0]),
        ("S70301", books["红楼梦@north"][1]),
        ("S70302", books["红楼梦@north"][0]),
    ):
        lend(api, patron_id, barcode)
        give_back(api, barcode)
    # The reading programme follows circulation's events in order: once it counts the
    # last return, it knows the loan of 活着 too.
    wait_until(
        lambda: books_read(api) == {"S70301": 2, "S70302": 1},
        timeout=60,
        what="the reading programme to count the books read",
    )

    seen = scenario("reading")

    assert any("活着" in option for option in seen["offered"])
    assert seen["submitted"] == "已提交《活着》的读书笔记"
    # The teacher's list: her class's note, not yet awarded, then awarded.
    assert [row[:3] for row in seen["teacher_notes"]] == [["王小明", "初一(3)班", "活着"]]
    assert seen["teacher_notes"][0][5] == "未评奖"
    assert seen["awarded"] == "王小明的《活着》读书笔记获得“优秀读书笔记”"
    assert seen["winners"][0][:3] == ["1", "王小明", "初一(3)班"]
    # The competition's final ranking, best first.
    assert seen["ranking"] == [
        ["1", "韩梅梅", "初一(3)班", "红楼梦人物谈", "95"],
        ["2", "王小明", "初一(3)班", "我读《活着》", "88"],
    ]
    assert seen["competitions"][0][0] == "2026 年冬季读书征文"
    assert seen["competitions"][0][1:3] == ["征文比赛", "全校（南北区）"]
    assert seen["competitions"][0][4:] == ["2", "已结束"]
    # Term targets: 初一(3)班's three students are all behind the five books.
    g73 = next(row for row in seen["targets"] if row[0] == "初一(3)班")
    assert g73[1:] == ["北区", "3", "0", "3"]
    assert {row[0]: row[1:] for row in seen["behind"]} == {
        "张伟": ["0 册", "5 册"],
        "韩梅梅": ["1 册", "4 册"],
        "王小明": ["2 册", "3 册"],
    }
    # The bulletin: this week's four loans by two of the class's three students.
    bulletin = next(row for row in seen["bulletin"] if row[0] == "初一(3)班")
    assert bulletin[1:5] == ["北区", "4", "2 / 3", "1.33"]
    csv = seen["bulletin_csv"].splitlines()
    assert csv[0].startswith("班级,校区,借阅次数,借阅人数,班级人数,人均借阅")  # the server's file
    assert csv[1].startswith("初一(3)班,北区,4,2,3,1.33,")
    assert csv[-1].startswith("全部班级,全校,4,2,4,1.00")
    # Leaderboards: the figures in the table, worded with the right count.
    assert [row[1:] for row in seen["students"]] == [
        ["王小明", "初一(3)班", "2 册"],
        ["韩梅梅", "初一(3)班", "1 册"],
    ]
    assert [row[3] for row in seen["students_en"]] == ["2 books", "1 book"]
    assert seen["classes"][0][1:] == ["初一(3)班（北区）", "2", "3 册"]
    titles = {row[1]: row[2] for row in seen["titles"]}
    assert titles["红楼梦"] == "2 次"
