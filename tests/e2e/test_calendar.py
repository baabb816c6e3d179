"""The calendar through the screens: 校历 in Chinese (closed days and the rota, added,
set and removed by a librarian) and the desk's 今日轮借 showing today's classes."""

from __future__ import annotations

import pytest

from shared.runtime.school_calendar import calendar_from_config
from tests.e2e.scenarios.browser import class_words

pytestmark = pytest.mark.integration


@pytest.fixture
def config(config):
    """The school's calendar with every day open (no weekends, no holidays), so today's
    rota is on the desk whatever day the test runs; the rota and terms stay as configured."""
    school = {**config["SCHOOL"], "weekends_closed": False, "closed": []}
    return {**config, "SCHOOL": school}


def test_the_calendar_screen_and_todays_rota_at_the_desk(scenario, library):
    today = calendar_from_config(library).today()
    seen = scenario("calendar", today=today.isoformat())

    added = [row for row in seen["closed_added"] if row[0] == "运动会"]
    assert [row[3:5] for row in added] == [["闭馆", "馆员添加"]]
    assert all(row[0] != "运动会" for row in seen["closed_removed"])
    before = {row[1] for row in seen["rota_before"]}
    assert class_words("G7-3") in before and class_words("G8-6") not in before
    [slot] = [row for row in seen["rota_after"] if row[1] == class_words("G8-6")]
    assert slot[2:5] == ["第5节", "北区", "馆员添加"]
    assert "今日轮借" in seen["desk"] and f"{class_words('G8-6')}（第5节）" in seen["desk"]
