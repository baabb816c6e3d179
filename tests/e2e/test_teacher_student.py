"""A class teacher and a student see only what is theirs, on the screens and over the API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import requests

from shared.runtime.school_calendar import calendar_from_config
from tests.e2e.school import SchoolApi
from tests.helpers import wait_until

pytestmark = pytest.mark.integration


def lend(api: SchoolApi, patron_id: str, barcode: str, campus: str, on: str) -> dict[str, Any]:
    body = {"patron_id": patron_id, "barcode": barcode, "campus": campus, "on": on}
    return api.call("POST", "/api/loans", json=body)


def write_note(api: SchoolApi, patron_id: str, loan_id: str, text: str) -> None:
    """Hand in a note at the desk once the reading programme knows the loan."""

    def handed_in() -> bool:
        answer = requests.post(
            f"{api.base}/api/notes",
            json={"patron_id": patron_id, "loan_id": loan_id, "text": text},
            headers=api.headers,
            timeout=30,
        )
        assert answer.status_code in (201, 409), answer.text
        return answer.status_code == 201

    wait_until(handed_in, timeout=60, what=f"the note about loan {loan_id}")


def signed_in(api: SchoolApi, person: dict[str, str]) -> dict[str, str]:
    answer = requests.post(
        f"{api.base}/api/sessions",
        json={"username": person["username"], "password": person["password"]},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


@pytest.fixture
def lent(library, school) -> dict[str, Any]:
    """王小明 (G7-3) and 李雷 (G8-6) each hold a book 30 days (overdue ``days_late``: the
    open days since its due date, docs/calendar.md); 王小明 one more, due in two weeks;
    each wrote a note."""
    api = SchoolApi(library)
    calendar = calendar_from_config(library)
    today = calendar.today()
    long_ago = (today - timedelta(days=30)).isoformat()
    due = calendar.next_open_day(today - timedelta(days=30 - 14))  # a student's 14 days
    days_late = calendar.days_overdue(due, today)
    books = school["barcodes"]
    # The book due in two weeks first: a reader with an overdue book borrows no more.
    recent = lend(api, "S70301", books["上下五千年@north"][1], "north", today.isoformat())
    late = lend(api, "S70301", books["活着@north"][1], "north", long_ago)
    other = lend(api, "S80601", books["从一到无穷大@south"][0], "south", long_ago)
    write_note(api, "S70301", recent["loan_id"], "上下五千年的故事让我看到历史上的许多人物。")
    write_note(api, "S80601", other["loan_id"], "从一到无穷大让我第一次觉得数学很有意思。")
    return {"api": api, "late": late, "recent": recent, "other": other, "days_late": days_late}


def test_the_class_teacher_sees_her_class_only(lent, school, scenario):
    seen = scenario("teacher")

    barcode, days = school["barcodes"]["活着@north"][1], lent["days_late"]
    for size in ("desk", "phone"):
        (row,) = seen[f"overdue-{size}"]
        assert [row[0], row[1], row[2], row[4]] == ["王小明", "活着", barcode, f"{days} 天"]
    assert seen["clearance"] == "已清还 2 / 3 人"
    assert [row[0] for row in seen["outstanding"]] == ["王小明"]
    assert [row[0] for row in seen["targets"]] == ["初一(3)班"]
    assert "李雷" not in seen["page"] and "从一到无穷大" not in seen["page"]
    assert seen["reservations"][0][:2] == ["红楼梦", "北区"]
    assert "李雷" not in seen["refused_page"]

    # Over the API, the same refusals: another class, another class's reader.
    api = lent["api"]
    teacher = signed_in(api, school["people"]["teacher"])
    for path in ("/api/overdue?class=G8-6", "/api/clearance?class=G8-6", "/api/notes?class=G8-6",
                 "/api/targets?class=G8-6", "/api/patrons/S80601/loans"):  # fmt: skip
        answer = requests.get(f"{api.base}{path}", headers=teacher, timeout=30)
        assert answer.status_code == 403, path
        assert answer.json()["code"] == "missing_right"


def test_a_student_sees_his_own_loans_and_notes_only(lent, school, scenario):
    seen = scenario("opac")

    loans = {row[0]: row for row in seen["loans"]}
    assert set(loans) == {"活着", "上下五千年"}
    assert loans["活着"][4] == f"已逾期 {lent['days_late']} 天"
    assert loans["上下五千年"][4] == "借阅中"
    assert seen["warning"] == "有 1 本书已逾期，请尽快归还"
    assert [row[0] for row in seen["notes"]] == ["上下五千年"]
    assert seen["target"] == "已读 0 册 / 目标 5 册"
    assert seen["where"][0].startswith("北区：在架 1 册 / 共 2 册")
    assert seen["where"][1].startswith("南区：在架 2 册 / 共 2 册")
    statuses = sorted(row[3] for row in seen["copies"] if row[0] == "北区")
    assert statuses[0] == "在架" and statuses[1].startswith("已借出（应还日期")
    assert "李雷" not in seen["page"] and "从一到无穷大" not in seen["page"]
    # The other student: his own, and nothing of 王小明's.
    assert [row[0] for row in seen["loans-2"]] == ["从一到无穷大"]
    assert [row[0] for row in seen["notes-2"]] == ["从一到无穷大"]
    assert "活着" not in seen["page-2"] and "上下五千年" not in seen["page-2"]
    assert seen["warning_en"] == "1 book is overdue: please bring it back"
    english = {row[0]: row[4] for row in seen["loans_en"]}
    assert english["活着"] == f"{lent['days_late']} days overdue"

    # Over the API: another reader's loans and notes are refused.
    api = lent["api"]
    student = signed_in(api, school["people"]["student"])
    for path in ("/api/patrons/S80601/loans", "/api/patrons/S80601/notes"):
        answer = requests.get(f"{api.base}{path}", headers=student, timeout=30)
        assert answer.status_code == 403, path
        assert answer.json()["code"] == "missing_right"
