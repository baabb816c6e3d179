"""The librarian's "send overdue notices" on the class screen, with a real mail box."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.runtime.school_calendar import calendar_from_config
from tests.e2e.school import SchoolApi
from tests.integration.test_notices import Mailbox

pytestmark = pytest.mark.integration
ADDRESS = "wang.fang@school.example"


@pytest.fixture
def mailbox(tmp_path):
    box = Mailbox(tmp_path / "mail")
    yield box
    box.stop()


@pytest.fixture
def config(config, mailbox):
    """The library's config, its notices sent to the test's mail box."""
    notices = {**config.get("NOTICES", {}), "smtp": {"host": "127.0.0.1", "port": mailbox.port}}
    return {**config, "NOTICES": notices}


def test_the_librarian_sends_the_overdue_notice_and_sees_who_was_told(
    library, school, scenario, mailbox
):
    api = SchoolApi(library)
    teacher = school["teacher"]["patron_id"]
    api.call("POST", f"/api/accounts/{teacher}/email", json={"email": ADDRESS})
    long_ago = (calendar_from_config(library).today() - timedelta(days=30)).isoformat()
    late = school["barcodes"]["活着@north"][1]
    body = {"patron_id": "S70301", "barcode": late, "campus": "north", "on": long_ago}
    api.call("POST", "/api/loans", json=body)

    seen = scenario("notices")

    for size in ("desk", "phone"):
        assert f"已通知 王芳（{ADDRESS}）：初一(3)班，1 册" in seen[f"answer-{size}"]
    [row] = seen["sent-desk"]
    assert row[1:] == ["逾期通知", f"王芳 <{ADDRESS}>", row[3], "已送达"]
    assert row[3].startswith("初一(3)班逾期未还图书通知")
    mails = mailbox.to(ADDRESS)
    assert len(mails) == 2 and late in mails[0].get_body(("plain",)).get_content()
