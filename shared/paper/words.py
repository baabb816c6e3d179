"""The server's message catalogue: headers, printed forms and e-mails, in two languages.

The screens word the codes the API sends; files the server makes itself (an
XLSX's headers, an overdue notice, a receipt, an e-mail to a class teacher) are
worded here, from ``shared/paper/locales/<language>/<area>.json``: the key
``exports.columns.title`` is ``columns.title`` in ``exports.json``. Chinese is the
default; a key missing in the asked language falls back to Chinese, never to the
key itself unless both lack it (the unit tests keep both complete).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

LOCALES = Path(__file__).resolve().parent / "locales"
LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"


def language_of(asked: str | None) -> str:
    """The catalogue language for a ``lang`` parameter or an Accept-Language header.

    ``en``, ``en-GB;q=0.8`` → ``en``; anything else (``zh``, ``zh-CN``, nothing) → zh-CN.
    The first language named wins; quality values are not weighed (browsers send
    the user's first choice first).
    """
    first = (asked or "").split(",")[0].split(";")[0].strip().lower()
    return "en" if first.startswith("en") else DEFAULT_LANGUAGE


@cache
def _catalogue(language: str) -> dict[str, Any]:
    folder = LOCALES / language
    return {
        path.stem: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(folder.glob("*.json"))
    }


def _lookup(tree: dict[str, Any], key: str) -> str | None:
    node: Any = tree
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node if isinstance(node, str) else None


class Words:
    """``Words("en")("exports.columns.title")`` → "Title"; ``{name}`` fields filled in."""

    def __init__(self, language: str = DEFAULT_LANGUAGE) -> None:
        self.language = language if language in LANGUAGES else DEFAULT_LANGUAGE

    def __call__(self, key: str, **fields: Any) -> str:
        text = _lookup(_catalogue(self.language), key)
        if text is None:
            text = _lookup(_catalogue(DEFAULT_LANGUAGE), key)
        if text is None:
            return key
        return text.format(**fields) if fields else text

    def has(self, key: str) -> bool:
        return _lookup(_catalogue(self.language), key) is not None
