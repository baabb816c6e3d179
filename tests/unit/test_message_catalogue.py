"""The message catalogues: one file per area and language, the same keys in each.

Every text a person reads on the screens comes from web/src/locales/<lang>/<area>.json,
and every text of a file the server makes (spreadsheet headers, printed forms,
e-mails) from shared/paper/locales/<lang>/<area>.json; a key missing in one language
would show its path (``desk.lend.title``) instead of words, so both languages must
say everything, and say something.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ROOT / "web" / "src" / "locales"
PAPER = ROOT / "shared" / "paper" / "locales"
LANGUAGES = ("zh-CN", "en")


def keys(tree: object, prefix: str = "") -> dict[str, str]:
    """Every leaf of a catalogue file as {"a.b.c": text}."""
    if isinstance(tree, dict):
        out: dict[str, str] = {}
        for name, value in tree.items():
            out.update(keys(value, f"{prefix}{name}."))
        return out
    return {prefix.rstrip("."): tree}


def areas(language: str, root: Path = LOCALES) -> dict[str, dict[str, str]]:
    return {
        path.stem: keys(json.loads(path.read_text(encoding="utf-8")))
        for path in sorted((root / language).glob("*.json"))
    }


def every_area() -> list[tuple[Path, str]]:
    return [(root, area) for root in (LOCALES, PAPER) for area in sorted(areas("zh-CN", root))]


@pytest.mark.parametrize("root", [LOCALES, PAPER], ids=["screens", "paper"])
def test_both_languages_have_the_same_areas(root):
    assert set(areas("zh-CN", root)) == set(areas("en", root))
    assert "common" in set(areas("zh-CN", root))


def test_the_screens_word_the_problems():
    assert "problems" in areas("zh-CN")


@pytest.mark.parametrize(
    ("root", "area"), every_area(), ids=[f"{r.parts[-3]}-{a}" for r, a in every_area()]
)
def test_every_key_is_worded_in_both_languages(root, area):
    chinese, english = areas("zh-CN", root)[area], areas("en", root).get(area, {})
    assert sorted(set(chinese) ^ set(english)) == [], f"{area}: keys in one language only"
    for key, text in {**chinese, **english}.items():
        assert isinstance(text, str) and text.strip(), f"{area}.{key} says nothing"


@pytest.mark.parametrize("root", [LOCALES, PAPER], ids=["screens", "paper"])
def test_the_chinese_catalogue_is_chinese(root):
    """zh-CN is the default: its sentences are in Chinese, not English left untranslated."""
    untranslated = [
        f"{area}.{key}"
        for area, texts in areas("zh-CN", root).items()
        for key, text in texts.items()
        if len(text) > 3
        and not key.startswith("languages.")  # each language is named in itself
        and not any("\u4e00" <= ch <= "\u9fff" for ch in text)
        and not text.isupper()
        and not any(code in text for code in ("ISBN", "CSV", "CLC", "Excel", "{"))
    ]
    assert untranslated == []
