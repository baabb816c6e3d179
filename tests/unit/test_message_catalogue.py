"""The screens' message catalogue: one file per area and language, the same keys in each.

Every text a person reads on the screens comes from web/src/locales/<lang>/<area>.json;
a key missing in one language would show its path (``desk.lend.title``) instead of
words, so both languages must say everything, and say something.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

LOCALES = Path(__file__).resolve().parents[2] / "web" / "src" / "locales"
LANGUAGES = ("zh-CN", "en")


def keys(tree: object, prefix: str = "") -> dict[str, str]:
    """Every leaf of a catalogue file as {"a.b.c": text}."""
    if isinstance(tree, dict):
        out: dict[str, str] = {}
        for name, value in tree.items():
            out.update(keys(value, f"{prefix}{name}."))
        return out
    return {prefix.rstrip("."): tree}


def areas(language: str) -> dict[str, dict[str, str]]:
    return {
        path.stem: keys(json.loads(path.read_text(encoding="utf-8")))
        for path in sorted((LOCALES / language).glob("*.json"))
    }


def test_both_languages_have_the_same_areas():
    assert set(areas("zh-CN")) == set(areas("en"))
    assert {"common", "problems"} <= set(areas("zh-CN"))


@pytest.mark.parametrize("area", sorted(areas("zh-CN")))
def test_every_key_is_worded_in_both_languages(area):
    chinese, english = areas("zh-CN")[area], areas("en").get(area, {})
    assert sorted(set(chinese) ^ set(english)) == [], f"{area}: keys in one language only"
    for key, text in {**chinese, **english}.items():
        assert isinstance(text, str) and text.strip(), f"{area}.{key} says nothing"


def test_the_chinese_catalogue_is_chinese():
    """zh-CN is the default: its sentences are in Chinese, not English left untranslated."""
    untranslated = [
        f"{area}.{key}"
        for area, texts in areas("zh-CN").items()
        for key, text in texts.items()
        if len(text) > 3
        and not key.startswith("languages.")  # each language is named in itself
        and not any("\u4e00" <= ch <= "\u9fff" for ch in text)
        and not text.isupper()
        and not any(code in text for code in ("ISBN", "CSV", "CLC", "Excel", "{"))
    ]
    assert untranslated == []
