"""Rosters posted as the school office saved them: GBK CSV with Chinese headers, XLSX."""

from __future__ import annotations

import uuid

import pytest

from services.circulation.service import CirculationService
from shared.roster_files import XLSX
from tests.integration.test_gateway import problem, start_gateway
from tests.unit.test_roster_files import xlsx

pytestmark = pytest.mark.integration

GBK_ROSTER = (
    "姓名,类型,班级,校区,学号\r\n"
    "王芳,学生,初一(3)班,北区,S70391\r\n"
    "李老师,教师,,南区,T70391\r\n"
    "赵磊,学生,三年级二组,北区,\r\n"
    "钱多,学生,高二（5）班,东区,\r\n"
    "孙悦,学生,七年级3班,南区,S70392\r\n"
)


@pytest.fixture
def api(runner_factory, config):
    return start_gateway(runner_factory, config, CirculationService)


def post_file(api, data: bytes, content_type: str):
    return api.post(
        "/api/cards/import", data=data, role="assistant", headers={"Content-Type": content_type}
    )


def test_a_gbk_csv_with_chinese_headers_issues_the_good_rows_and_lists_the_bad_lines(api):
    answer = post_file(api, GBK_ROSTER.encode("gbk"), "text/csv")
    assert answer.status_code == 201, answer.text
    body = answer.json()
    issued = {row["patron_id"]: row for row in body["issued"]}
    assert sorted(issued) == ["S70391", "S70392", "T70391"]
    assert [row["line"] for row in body["issued"]] == [2, 3, 6]
    assert [error["line"] for error in body["errors"]] == [4, 5]
    assert "三年级二组" in body["errors"][0]["errors"]["class"][0]
    assert "东区" in body["errors"][1]["errors"]["campus"][0]

    card = api.get("/api/cards/S70391", role="assistant").json()
    assert card["name"] == "王芳" and card["kind"] == "student" and card["campus"] == "north"
    assert "G7-3" in (card.get("class"), card.get("class_name"))
    teacher = api.get("/api/cards/T70391", role="assistant").json()
    assert teacher["kind"] == "teacher" and teacher["campus"] == "south"

    # The same file sent again (a double click, a retry): the same command, not redone.
    # Stated GB18030 this time: the same bytes, so the same answer and the same cards.
    again = post_file(api, GBK_ROSTER.encode("gb18030"), "text/csv; charset=GB18030")
    assert again.status_code == 201 and again.json() == body

    # Sent on purpose as a new import (its own Idempotency-Key): no card twice either,
    # each row refused by its line.
    anew = api.post(
        "/api/cards/import",
        data=GBK_ROSTER.encode("gbk"),
        role="assistant",
        headers={"Content-Type": "text/csv", "Idempotency-Key": str(uuid.uuid4())},
    )
    assert anew.status_code == 200 and anew.json()["issued"] == []
    assert [error["line"] for error in anew.json()["errors"]] == [2, 3, 4, 5, 6]


def test_an_xlsx_roster_is_read_row_by_row(api):
    data = xlsx(
        [
            ["name", "kind", "class", "campus", "patron_id"],
            ["周一", "学生", "高二(5)班", "南区", "S11501"],
            ["吴二", "student", "G13-1", "north", None],
            ["郑三", "班级图书角", "一年级2班", "北区", "C01201"],
        ]
    )
    answer = post_file(api, data, XLSX)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert [(row["line"], row["patron_id"]) for row in body["issued"]] == [
        (2, "S11501"),
        (4, "C01201"),
    ]
    assert [error["line"] for error in body["errors"]] == [3]
    assert "G13-1" in body["errors"][0]["errors"]["class"][0]
    assert api.get("/api/cards/C01201", role="assistant").json()["kind"] == "class_corner"


def test_bad_files_are_a_4xx_naming_the_problem_and_import_nothing(api):
    cases = [
        (b"PK\x03\x04 broken", XLSX, 400, "corrupt"),
        (GBK_ROSTER.encode("gbk"), XLSX, 400, "corrupt"),
        (xlsx([["姓名"]]), "text/csv", 400, "XLSX"),
        (b"\x00\x01\x02\x03", "text/csv", 400, "NUL"),
        (b"\xff\xfe\xff\xfe\xff", "text/csv", 400, "GBK"),
        (GBK_ROSTER.encode("gbk"), "text/csv; charset=klingon", 415, "klingon"),
        (GBK_ROSTER.encode("gbk"), "text/csv; charset=utf-8", 400, "utf-8"),
        (b"%PDF-1.4", "application/pdf", 415, "application/pdf"),
    ]
    for data, content_type, status, words in cases:
        refused = problem(post_file(api, data, content_type), status)
        assert words in refused["detail"], (content_type, refused)
    huge = post_file(api, b"x" * (50 * 1024 * 1024), "text/csv")
    assert str(2 * 1024 * 1024) in problem(huge, 413)["detail"]
    assert api.get("/api/cards/S70391", role="assistant").status_code == 404


def test_the_openapi_document_names_the_file_media_types(api):
    doc = api.get("/openapi.json", role=None).json()
    content = doc["paths"]["/api/cards/import"]["post"]["requestBody"]["content"]
    assert {"text/csv", XLSX, "application/json"} <= set(content)
