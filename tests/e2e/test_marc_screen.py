"""MARC files through the screens: a librarian imports a supplier's file and sees, in
Chinese, a line per record; the catalogue downloads as MARC."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.integration


def test_a_librarian_imports_a_cnmarc_file_sees_the_report_in_chinese_and_downloads_marc(
    scenario,
):
    seen = scenario("marc")
    first, again = seen["first"], seen["again"]
    assert first["summary"] == "新登记 2 种，此前已登记 0 种，未导入 1 条"
    titles = seen["titles"]
    numbers = [line[0] for line in first["lines"]]
    assert numbers == ["1", "2", "3"]
    assert [line[1] for line in first["lines"]] == titles
    assert first["lines"][0][3] == "已登记入藏"
    assert first["lines"][1][3] == "未导入：ISBN 不正确（校验位不符）"
    assert first["lines"][1][4] == ""
    barcodes = {line[1]: re.findall(r"C\d{8}", line[4]) for line in first["lines"]}
    assert len(barcodes[titles[0]]) == 2 and len(barcodes[titles[2]]) == 2

    assert again["summary"] == "新登记 0 种，此前已登记 2 种，未导入 1 条"
    assert again["lines"][0][3] == "此前已登记，未重复入藏"
    assert re.findall(r"C\d{8}", again["lines"][0][4]) == barcodes[titles[0]]

    assert seen["file"] == "catalogue-south-cnmarc.mrc"
    assert seen["exported"] == {titles[0]: barcodes[titles[0]], titles[2]: barcodes[titles[2]]}
