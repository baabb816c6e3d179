"""A librarian's and an assistant's whole day through the screens (scenarios/day.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.runtime.school_calendar import calendar_from_config
from tests.e2e.school import SchoolApi

pytestmark = pytest.mark.integration


def test_a_librarian_and_an_assistant_run_the_whole_day_on_the_screens(library, school, scenario):
    api = SchoolApi(library)
    calendar = calendar_from_config(library)
    today = calendar.today()
    term = calendar.term_of(today) or next(t for t in calendar.terms if t.starts <= today)
    books = school["barcodes"]
    # Before the day: 韩梅梅 has held 活着 for 30 days (overdue), 张伟 holds 上下五千年,
    # which he will report lost.
    api.call("POST", "/api/loans", json={
        "patron_id": "S70302", "barcode": books["活着@north"][0], "campus": "north",
        "on": (today - timedelta(days=30)).isoformat(),
    })  # fmt: skip
    api.call("POST", "/api/loans", json={
        "patron_id": "S70303", "barcode": books["上下五千年@north"][1], "campus": "north",
    })  # fmt: skip

    seen = scenario(
        "day",
        done={
            "reference": books["现代汉语词典@north"][0],
            "overdue_title": "活着",
            "lost_card": "S70303",
            "lost_title": "上下五千年",
            "term": term.name,
        },
    )

    # What the screens did is what the library now holds.
    card = api.call("GET", f"/api/cards/{seen['card']}")
    assert card["name"] == "赵一鸣" and card["class_name"] == "G7-3"
    assert len(seen["desk_today"]) >= 3
    assert seen["purchases_csv"].endswith(".csv")
    assert seen["term_figures"]
