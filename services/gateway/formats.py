"""Which representation a list route answers in: ``?format=`` or Accept, and the language.

A route offering files declares them in ``produces`` (``produces("csv", "xlsx", "pdf")``
is JSON plus those). The gateway reads ``format`` and ``lang`` off such a route's
query before its schema checks the rest (they are the gateway's, not the service's):
``?format=xlsx`` wins over Accept; ``?format=`` naming a format the route lacks is a
400 ``format_unsupported`` naming the ones it has. JSON stays the default, and
``Accept: text/csv`` keeps working. The files' language is ``?lang=`` or
Accept-Language (Chinese when neither says English).
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from typing import Any

from services.gateway.problems import InvalidRequest
from shared.paper.words import language_of

JSON = "application/json"
CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF = "application/pdf"
MEDIA = {"json": JSON, "csv": CSV, "xlsx": XLSX, "pdf": PDF}
FORMAT_OF = {media: name for name, media in MEDIA.items()}
FILES = frozenset((CSV, XLSX, PDF))
GATEWAY_QUERY = ("format", "lang")  # query parameters the gateway reads, never the service


def produces(*formats: str) -> tuple[str, ...]:
    """A route's ``produces`` for JSON and these files: ``produces("csv", "xlsx")``."""
    return (JSON, *(MEDIA[name] for name in formats))


def offers_files(media_types: Iterable[str]) -> bool:
    return any(media in FILES for media in media_types)


def names(media_types: Iterable[str]) -> list[str]:
    """The ``format`` values a route takes: ``["json", "csv", "xlsx"]``."""
    return [FORMAT_OF[media] for media in media_types if media in FORMAT_OF]


def unsupported(asked: str, offered: list[str]) -> InvalidRequest:
    listed = ", ".join(offered)
    return InvalidRequest(
        f"This list is not made as {asked!r}: ask for format={' or '.join(offered)} ({listed}).",
        code="format_unsupported",
        errors={"format": [f"Must be one of: {listed}."]},
        members={"formats": listed},
    )


def negotiate(
    media_types: tuple[str, ...],
    query: MutableMapping[str, Any],
    languages: str | None,
) -> tuple[str | None, str]:
    """The media type asked with ``?format=`` (None: leave it to Accept) and the files'
    language, taking ``format`` and ``lang`` out of ``query``; 400 for a format the
    route lacks."""
    asked = query.pop("format", None)
    language = language_of(query.pop("lang", None) or languages)
    if asked is None:
        return None, language
    media = MEDIA.get(str(asked).lower())
    if media is None or media not in media_types:
        raise unsupported(str(asked), names(media_types))
    return media, language


def parameters(media_types: Iterable[str]) -> list[dict[str, Any]]:
    """The OpenAPI query parameters ``format`` and ``lang`` of a route offering files."""
    offered = names(media_types)
    files = ", ".join(name for name in offered if name != "json")
    choice = f"json (the default) or a file ({files})" if "json" in offered else files
    return [
        {
            "in": "query",
            "name": "format",
            "required": False,
            "description": f"The representation: {choice}; others are a 400 format_unsupported.",
            "schema": {"type": "string", "enum": offered},
        },
        {
            "in": "query",
            "name": "lang",
            "required": False,
            "description": "The file's language (headers, printed words): zh-CN, the "
            "default, or en; Accept-Language when left out.",
            "schema": {"type": "string", "enum": ["zh-CN", "en"]},
        },
    ]
