"""Pinyin search keys: finding 红楼梦 by ``hongloumeng``, ``hong lou meng`` or ``hlm``.

Chinese readers type a title as its pinyin or the first letters of its
syllables. A title or author gets two keys, built by pypinyin with its default
reading of each character (a heteronym takes the reading pypinyin's phrase
dictionary gives: 长江 is ``changjiang``, 重庆 ``chongqing``): the full pinyin
(``Style.NORMAL``) and the initials (``Style.FIRST_LETTER``). Both are
lowercase, without tones, spaces or punctuation; ü is written ``v`` (女 is
``nv``), as it is typed. Letters and digits that are not Chinese are kept
(lowercased, without accents, full-width ones as ASCII): in the initials, a
Latin word gives its first letter and a number its digits (哈利·波特 2 ->
``hlbt2``).

A query is tried against these keys when it is pinyin as typed: ASCII letters
(digits allowed after a letter), spaces and apostrophes (``xi'an``), which
``pinyin_query`` takes out.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from pypinyin import Style, lazy_pinyin

# What is kept of text pypinyin leaves alone (Latin words, numbers): letters and digits.
_WORD = re.compile(r"[a-z]+|[0-9]+")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")
# Pinyin as typed: letters first, then letters, digits, spaces and apostrophes.
_TYPED = re.compile(r"[a-z][a-z0-9' ]*")
MAX_KEY = 600  # a title has at most 300 characters; a syllable is at most 6 letters


@dataclass(frozen=True)
class Keys:
    """The pinyin keys of one text."""

    pinyin: str
    initials: str


def keys(text: str) -> Keys:
    """The full pinyin and the initials of ``text`` (see the module's docstring)."""
    full, initials = [], []
    for segment in lazy_pinyin(text, style=Style.NORMAL, v_to_u=False):
        if _HAN.search(segment):  # a character pypinyin has no reading for: nothing to type
            continue
        words = _WORD.findall(_plain(segment))
        full.extend(words)
        initials.extend(word if word.isdigit() else word[0] for word in words)
    return Keys("".join(full)[:MAX_KEY], "".join(initials)[:MAX_KEY])


def _plain(segment: str) -> str:
    """Latin text as typed: lowercase, full-width letters and digits as ASCII, no accents."""
    decomposed = unicodedata.normalize("NFKD", segment)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def title_keys(title: str, author: str) -> dict[str, str]:
    """The four search columns of a copy (``copies`` in the catalog's database)."""
    of_title, of_author = keys(title), keys(author)
    return {
        "title_pinyin": of_title.pinyin,
        "title_initials": of_title.initials,
        "author_pinyin": of_author.pinyin,
        "author_initials": of_author.initials,
    }


def pinyin_query(text: str) -> str | None:
    """The key a query is matched against, when it is pinyin as typed; otherwise None.

    ``Hong Lou Meng`` -> ``hongloumeng``; ``xi'an`` -> ``xian``; ``红楼`` or
    ``978-7-02`` -> None (not pinyin: matched by title, author and ISBN only).
    """
    typed = unicodedata.normalize("NFKC", text).strip().lower()
    if not _TYPED.fullmatch(typed):
        return None
    return typed.replace(" ", "").replace("'", "")
