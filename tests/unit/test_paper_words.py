"""The server's words: the language asked for, Chinese by default, fields filled in."""

from shared.paper.words import Words, language_of


def test_chinese_is_the_default_and_english_is_asked_for():
    assert language_of(None) == "zh-CN"
    assert language_of("zh-CN,zh;q=0.9") == "zh-CN"
    assert language_of("en-GB,en;q=0.8") == "en"
    assert language_of("fr") == "zh-CN"


def test_words_fill_their_fields_and_fall_back_to_chinese():
    assert Words("zh-CN")("common.page", page=3) == "第 3 页"
    assert Words("en")("common.campus.north") == "North campus"
    assert Words("xx")("common.library") == "图书馆"
    assert Words("en")("common.no.such.key") == "common.no.such.key"
