"""Reading a request: its correlation id, body, query string and path, checked by schemas.

The schemas are the services' own (``schemas.py``): they refuse unknown fields
and wrong values before anything reaches a service. What the caller gave is then
sent on as given, JSON values and query text alike (plus what the gateway adds),
so each service loads its input once and applies its own defaults.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from collections.abc import Mapping
from typing import Any

from marshmallow import Schema
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request

from services.gateway.problems import (
    InvalidRequest,
    MalformedBody,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from shared import roster_files as roster
from shared.fast_check import passes

CORRELATION_HEADER = "X-Correlation-Id"
# What a caller may pass as a correlation id: short, printable, no spaces or quotes.
CORRELATION_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,99}$")
JSON = "application/json"
CSV = "text/csv"
XLSX = roster.XLSX
IDEMPOTENCY_HEADER = "Idempotency-Key"
# The namespace of command ids derived from an uploaded file's bytes (uuid5).
FILE_COMMANDS = uuid.UUID("6f1c1d8e-3a51-5b8e-9a57-4c3f6b0e2d10")


CORRELATION_RULE = (
    "Must be 1 to 100 letters, digits or the characters . _ : - (starting with a letter "
    "or digit); leave the header out to get a new id."
)


def correlation_id(request: Request) -> str:
    """The caller's ``X-Correlation-Id``, or a new uuid when there is none.

    An id that breaks the pattern (the one the OpenAPI document gives) is refused
    with ``InvalidRequest`` rather than replaced: the caller would look for it in
    vain in the events and logs.
    """
    given = request.headers.get(CORRELATION_HEADER, "").strip()
    if not given:
        return str(uuid.uuid4())
    if CORRELATION_PATTERN.fullmatch(given) is None:
        raise InvalidRequest(
            f"The {CORRELATION_HEADER} header is not a valid correlation id.",
            errors={CORRELATION_HEADER: [CORRELATION_RULE]},
        )
    return given


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


def file_command_id(raw: bytes) -> str:
    """The command id of an uploaded file: the same bytes, the same id (a UUID)."""
    return str(uuid.uuid5(FILE_COMMANDS, hashlib.sha256(raw).hexdigest()))


def csv_or_json_body(request: Request, limit: int) -> dict[str, Any]:
    """A roster: the file itself (``text/csv`` in UTF-8 or GBK, or XLSX), or JSON ``{"csv": ...}``.

    The file is turned into CSV text here (``services.circulation.roster``), so the
    command circulation receives is the same as for the JSON form. A file has no
    ``command_id`` field: its command id is the ``Idempotency-Key`` header, or else
    one derived from the file's bytes (``file_command_id``), so a roster sent twice
    (a double click, a retry after a dropped answer) issues its cards once.
    """
    raw = read_body(request, limit)
    mimetype = media_type(request)
    if mimetype in (CSV, XLSX):
        charset = request.mimetype_params.get("charset")
        command_id = request.headers.get(IDEMPOTENCY_HEADER) or file_command_id(raw)
        try:
            return {"csv": roster.decode_roster(raw, mimetype, charset), "command_id": command_id}
        except roster.UnknownCharset as error:
            raise UnsupportedMediaType(f"The roster's {error}.") from None
        except roster.UnreadableRoster as error:
            raise MalformedBody(f"The roster cannot be read: {error}.") from None
    if is_json(mimetype):
        return json_object(raw)
    raise UnsupportedMediaType(
        f'Send the roster as {CSV}, as {XLSX} or as {JSON} {{"csv": ...}} '
        f"(got {request.mimetype or 'no content type'})."
    )


def file_body(request: Request, accepts: tuple[str, ...], field: str, limit: int) -> dict[str, Any]:
    """A file sent as the body itself (a MARC file), of one of the route's media types and
    at most ``limit`` bytes: ``{field: <the bytes, base64>}``, as the service's schema takes
    a file over RPC. Any route may take a file this way (``RouteSpec.upload``)."""
    mimetype = media_type(request)
    if mimetype not in accepts:
        raise UnsupportedMediaType(
            f"Send the file as {', '.join(accepts)} (got {request.mimetype or 'no content type'})."
        )
    raw = read_body(request, limit)
    return {field: base64.b64encode(raw).decode("ascii")}


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


def check(schema: Schema, data: Mapping[str, Any], where: str) -> dict[str, Any]:
    """``data`` (the body, the query or the path) as given, once ``schema`` finds it valid.

    The schema's HTTP defaults (``schemas.body(..., defaults=...)``) are added
    where the caller left them out; nothing else is added or converted.
    ``InvalidRequest`` names each offending field otherwise.
    """
    unstorable = {
        printable(key): [UNSTORABLE] for key, value in data.items() if not storable(key, value)
    }
    if unstorable:
        fields = ", ".join(sorted(unstorable))
        raise InvalidRequest(f"Invalid {where}: {fields}.", errors=unstorable)
    given = {**getattr(schema, "http_defaults", {}), **data}
    messages = {} if passes(schema, given) else schema.validate(given)
    if messages:
        fields = ", ".join(sorted(map(str, messages)))
        raise InvalidRequest(f"Invalid {where}: {fields}.", errors=messages)
    return given


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
