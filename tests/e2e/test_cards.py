"""Library cards through the screens: issuing, a roster import, card changes and clearance."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


def test_a_librarian_issues_imports_blocks_retires_and_clears_a_class(scenario):
    seen = scenario("cards")

    assert seen["issued"] == "S70399"
    assert len(seen["import"]["bad"]) == 1
    assert "班级：应写作初一(3)班、七年级3班或 G7-3" in seen["import"]["bad"][0]
    assert len(seen["import"]["good"]) == 3
    assert seen["manage"] == {"retired": "S70311"}
    clearance = seen["clearance"]
    assert clearance["filename"] == "毕业离校清还名单-初一(3)班.csv"
    held = {row[1]: row[5] for row in clearance["csv"][1:]}
    assert held == {"S70301": "红楼梦", "S70302": "活着"}
