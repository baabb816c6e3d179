"""The librarian at the desk: a loss declared and paid for, a title reserved for a teacher."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


def test_a_librarian_takes_a_payment_and_reserves_for_a_teacher(scenario):
    seen = scenario("desk_librarian")

    assert "照价赔偿：¥30.00" in seen["amount"]
    assert seen["receipt"].startswith("收据：韩梅梅缴纳《红楼梦》赔款 ¥30.00")
    assert "《上下五千年》，北区" in seen["reserved"]
    assert "该书已为王芳预约保留" in seen["held"]
