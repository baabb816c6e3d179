"""The catalogue through the screens: adding a title, searching, and a copy's page and history."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


def test_a_librarian_catalogues_a_title_finds_it_and_works_a_copy_through_its_history(scenario):
    seen = scenario("catalogue")

    assert len(seen["barcodes"]) == 3
    assert seen["labels"] == seen["barcodes"]  # printed from the page that gave them
    assert "请填写书名" in seen["refusals"]
    assert all(titles == ["围城"] for titles in seen["found"].values()), seen["found"]
    assert seen["timeline"] == [
        "编目入藏：北区，书架 N-I-02，采购，定价 ¥39.00",
        "登记损坏，下架待修补",
        "修补完成，重新上架",
        "调拨：北区→南区，书架 S-I-02",
        "在途：从北区送往南区",
        "已接收：在南区到馆上架",
        "剔除：内容陈旧（金额 ¥39.00）",
    ]


def test_a_librarian_finds_a_title_by_its_pinyin_and_initials(scenario):
    """hongloumeng and hlm find 红楼梦 (the search's pinyin index)."""
    seen = scenario("catalogue", "pinyin")

    assert all(titles == ["红楼梦"] for titles in seen["pinyin"].values()), seen["pinyin"]
