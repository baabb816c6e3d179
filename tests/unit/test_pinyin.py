"""Pinyin search keys: what a Chinese reader types finds the title (services/catalog/pinyin.py)."""

import pytest

from services.catalog.pinyin import Keys, keys, pinyin_query, title_keys


@pytest.mark.parametrize(
    ("text", "pinyin", "initials"),
    [
        ("红楼梦", "hongloumeng", "hlm"),
        ("曹雪芹", "caoxueqin", "cxq"),
        ("西游记", "xiyouji", "xyj"),
        # Heteronyms: pypinyin's default reading, from its phrase dictionary.
        ("长江", "changjiang", "cj"),
        ("长大", "zhangda", "zd"),
        ("重庆森林", "chongqingsenlin", "cqsl"),
        ("了不起的盖茨比", "liaobuqidegaicibi", "lbqdgcb"),
        # ü is typed v.
        ("女儿", "nver", "ne"),
        ("绿山墙的安妮", "lvshanqiangdeanni", "lsqdan"),
        # Punctuation and spaces go; Latin words and numbers stay, lowercased.
        ("银河帝国：基地", "yinhediguojidi", "yhdgjd"),
        ("哈利·波特 2", "halibote2", "hlbt2"),
        ("Harry Potter 哈利·波特", "harrypotterhalibote", "hphlbt"),
        ("鲁迅全集（第1卷）", "luxunquanjidi1juan", "lxqjd1j"),
        ("（清）曹雪芹 著", "qingcaoxueqinzhu", "qcxqz"),
        ("ＡＢＣ１２３", "abc123", "a123"),
        ("Ångström", "angstrom", "a"),
        ("1984", "1984", "1984"),
        ("", "", ""),
    ],
)
def test_a_text_has_its_pinyin_and_initials_lowercase_without_tones_or_spaces(
    text, pinyin, initials
):
    assert keys(text) == Keys(pinyin, initials)


def test_a_copy_has_keys_for_its_title_and_its_author():
    assert title_keys("红楼梦", "曹雪芹") == {
        "title_pinyin": "hongloumeng",
        "title_initials": "hlm",
        "author_pinyin": "caoxueqin",
        "author_initials": "cxq",
    }


def test_the_keys_of_the_longest_title_fit_their_bound():
    assert len(keys("庄" * 300).pinyin) == 600
    assert len(keys("庄" * 300).initials) == 300


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("hongloumeng", "hongloumeng"),
        ("hong lou meng", "hongloumeng"),
        ("  Hong Lou Meng ", "hongloumeng"),
        ("hlm", "hlm"),
        ("HLM", "hlm"),
        ("xi'an", "xian"),
        ("cxq", "cxq"),
        ("santi2", "santi2"),
        ("ｈｌｍ", "hlm"),  # typed full-width
    ],
)
def test_pinyin_as_typed_is_tried_against_the_keys(typed, key):
    assert pinyin_query(typed) == key


@pytest.mark.parametrize(
    "typed",
    ["红楼", "红楼 meng", "978-7-02-000220-7", "9787020002207", "2 hlm", "I24.5", "hl-m", ""],
)
def test_what_is_not_pinyin_is_matched_by_title_author_isbn_and_class_only(typed):
    assert pinyin_query(typed) is None


def test_every_key_a_title_gets_is_found_by_typing_it():
    for title in ("红楼梦", "哈利·波特 2", "银河帝国：基地"):
        for key in (keys(title).pinyin, keys(title).initials):
            assert pinyin_query(key) == key
