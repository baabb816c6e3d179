"""Every screen in both languages at both sizes: accessible, no sideways scroll, no key shown."""

from __future__ import annotations

import pytest

from tests.e2e.scenarios.tour import SCREENS

pytestmark = pytest.mark.integration


def test_every_screen_in_both_languages_at_desk_and_phone_width(scenario):
    seen = scenario("tour")

    expected = {
        f"{screen}-{language}-{size}"
        for _, screen, _ in SCREENS
        for language in ("zh-CN", "en")
        for size in ("desk", "phone")
    }
    assert set(seen["visited"]) == expected
