"""Reading a request: its correlation id, body, query string and path, checked by schemas.

The gateway's schemas refuse unknown fields and wrong types before anything
reaches a service; what they load is turned back into plain JSON values (dates
as ISO text, money as strings) and only the fields the caller gave are sent,
so each service applies its own defaults.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from marshmallow import Schema, ValidationError
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request

from services.gateway.problems import (
    InvalidRequest,
    MalformedBody,
    PayloadTooLarge,
    UnsupportedMediaType,
)

CORRELATION_HEADER = "X-Correlation-Id"
# What a caller may pass as a correlation id: short, printable, no spaces or quotes.
CORRELATION_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,99}$")
JSON = "application/json"
CSV = "text/csv"


def correlation_id(request: Request) -> str:
    """The caller's ``X-Correlation-Id`` when it is a sensible id, else a new uuid."""
    given = request.headers.get(CORRELATION_HEADER, "").strip()
    return given if CORRELATION_PATTERN.match(given) else str(uuid.uuid4())


def read_body(request: Request, limit: int) -> bytes:
    """The raw body, at most ``limit`` bytes (``PayloadTooLarge`` beyond)."""
    too_large = PayloadTooLarge(f"The body is over the limit of {limit} bytes for this route.")
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    if request.content_length is None and "chunked" in request.headers.get("Transfer-Encoding", ""):
        # werkzeug reads no chunked body from a server that does not mark the input
        # as terminated (eventlet's), so read it here, a byte past the limit at most.
        raw = request.environ["wsgi.input"].read(limit + 1)
        if len(raw) > limit:
            raise too_large
        return raw
    request.max_content_length = limit
    try:
        return request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise too_large from None


def media_type(request: Request) -> str:
    return (request.mimetype or "").lower()


def is_json(mimetype: str) -> bool:
    return mimetype == JSON or (mimetype.startswith("application/") and mimetype.endswith("+json"))


def json_object(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object; ``MalformedBody`` for anything else."""
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError) as error:
        raise MalformedBody(f"The body is not valid JSON: {error}") from None
    except RecursionError:
        raise MalformedBody("The body is nested too deeply.") from None
    if not isinstance(value, dict):
        raise MalformedBody("The body must be a JSON object.")
    return value


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def json_body(request: Request, limit: int) -> dict[str, Any]:
    """A JSON object body; an empty body counts as ``{}`` (for commands that need nothing)."""
    raw = read_body(request, limit)
    if not raw.strip():
        return {}
    if not is_json(media_type(request)):
        raise UnsupportedMediaType(
            f"Send the body as {JSON} (got {request.mimetype or 'no content type'})."
        )
    return json_object(raw)


def csv_or_json_body(request: Request, limit: int) -> dict[str, Any]:
    """A roster: ``text/csv`` text, or JSON ``{"csv": ...}``."""
    raw = read_body(request, limit)
    mimetype = media_type(request)
    if mimetype == CSV:
        try:
            return {"csv": raw.decode("utf-8-sig")}
        except UnicodeDecodeError:
            raise MalformedBody("The CSV is not UTF-8 text.") from None
    if is_json(mimetype):
        return json_object(raw)
    raise UnsupportedMediaType(
        f'Send the roster as {CSV} or as {JSON} {{"csv": ...}} '
        f"(got {request.mimetype or 'no content type'})."
    )


def query_args(request: Request) -> dict[str, Any]:
    """The query string as a dict; a name given twice is refused rather than guessed."""
    args: dict[str, Any] = {}
    repeated = []
    for name, values in request.args.lists():
        if len(values) > 1:
            repeated.append(name)
        args[name] = values[0]
    if repeated:
        raise InvalidRequest(
            "A query parameter is given more than once.",
            errors={name: ["Given more than once."] for name in repeated},
        )
    return args


def load(schema: Schema, data: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Validate ``data`` (the body, the query or the path); ``InvalidRequest`` naming each field."""
    unstorable = {
        printable(key): [UNSTORABLE] for key, value in data.items() if not storable(key, value)
    }
    if unstorable:
        fields = ", ".join(sorted(unstorable))
        raise InvalidRequest(f"Invalid {where}: {fields}.", errors=unstorable)
    try:
        loaded = schema.load(data)
    except ValidationError as error:
        messages = (
            error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
        )
        fields = ", ".join(sorted(map(str, messages)))
        raise InvalidRequest(f"Invalid {where}: {fields}.", errors=messages) from None
    return plain(loaded)


UNSTORABLE = "Contains a NUL character or an unpaired surrogate, which cannot be stored."
# Text no database or message can carry: PostgreSQL refuses NUL in text and JSON,
# and a lone surrogate cannot be encoded as UTF-8.
UNSTORABLE_TEXT = re.compile("[\x00\ud800-\udfff]")


def storable(*values: Any) -> bool:
    """False when any string in ``values`` (keys included, at any depth) cannot be stored."""
    pending = list(values)
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            if UNSTORABLE_TEXT.search(value):
                return False
        elif isinstance(value, Mapping):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return True


def printable(text: str) -> str:
    """``text`` safe to echo in an answer (unpaired surrogates escaped)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def plain(value: Any) -> Any:
    """JSON-ready: dates as ISO text, decimals and uuids as strings."""
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    return value
