"""The OpenAPI 3 document, generated from the routes themselves.

Each ``@route`` carries its permission, path, query, body and reply schemas;
this module walks the gateway's routes and describes each with apispec and its
marshmallow plugin, so the document cannot drift from what the gateway checks.
Errors are described once as problem responses and referenced by each route
that can answer them.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from functools import cache
from importlib import metadata
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin, OpenAPIConverter
from apispec.ext.marshmallow.common import get_fields
from marshmallow import Schema, fields
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

from services.gateway import formats
from services.gateway.auth import PUBLIC, SIGNED_IN
from services.gateway.parsing import CORRELATION_HEADER, CORRELATION_PATTERN, XLSX
from services.gateway.problems import PROBLEM_JSON
from services.gateway.replies import ProblemReply
from services.gateway.routing import CSV, EVENT_STREAM, JSON, Route, RouteSpec, reads_after
from shared.events import fields as f
from shared.runtime.read_after import HEADER_RULE, POSITIONS_HEADER, READ_AFTER_HEADER

OPENAPI_VERSION = "3.0.3"
TITLE = "School library"
DESCRIPTION = """\
The HTTP API of the school library: the catalogue, circulation, the reading
programme and the books of record. Every call under /api needs a bearer token
(`Authorization: Bearer <token>`: a session's, from `POST /api/sessions`, or an API
key's); each operation names the right it needs (the roles that have each right are
in services/gateway/README.md).
Errors are `application/problem+json` (RFC 7807) with `type`, `title`, `status`
and `detail`, plus `errors` (the offending fields) for 400 and `code` (a stable
reason) for 409. Every answer carries `X-Correlation-Id`; send your own to
follow a request through the services' events and logs. Commands take an
optional `command_id` (a UUID): sent again, the command is answered, not redone.
Read your own writes: a command's answer names the positions its events got
(`X-Event-Positions: circulation=1234`); send the highest you have seen per source
as `X-Read-After` on a GET and it is answered as of at least them (the read models
are updated asynchronously: the gateway waits briefly for them, then answers 503
with `code: catching_up` and `Retry-After: 1`).
"""
RULE_PARAMETER = re.compile(r"<(?:[^<>:]+:)?(\w+)>")

# The problems a route can answer, with when each applies.
PROBLEMS = {
    "400": (
        "InvalidRequest",
        "Invalid input (or X-Correlation-Id or X-Read-After header): `errors` names each "
        "offending field or header.",
    ),
    "401": (
        "Unauthorized",
        "Not signed in, a session that ended, or (signing in) a wrong username or password.",
    ),
    "403": ("Forbidden", "The caller lacks the right: `right` names it."),
    "404": ("NotFound", "No such record (or route)."),
    "409": (
        "Conflict",
        "Refused in the current state: `code` says why (a bulk lend that lent nothing: "
        "`nothing_lent`, each copy's refusal under `refused`).",
    ),
    "413": ("PayloadTooLarge", "The body is over the limit."),
    "415": ("UnsupportedMediaType", "The body is not of a type the route reads."),
    "423": ("Locked", "The account is locked for 15 minutes after ten wrong passwords."),
    "429": ("TooManyRequests", "Too many failed sign-ins from this address: see Retry-After."),
    "500": ("InternalError", "A fault, logged under the correlation id."),
    "503": (
        "ServiceUnavailable",
        "A service did not answer in time; try again (see Retry-After). With X-Read-After: "
        "`code: catching_up` when a read model did not reach the positions in time "
        "(Retry-After: 1).",
    ),
}


def openapi_path(url: str) -> str:
    """``/api/copies/<barcode>`` (a werkzeug rule) as ``/api/copies/{barcode}``."""
    return RULE_PARAMETER.sub(r"{\1}", url)


def routes(service_cls: type) -> Iterator[tuple[str, RouteSpec]]:
    """(handler name, contract) of every route the service class declares."""
    for name, member in inspect.getmembers(service_cls, inspect.isfunction):
        for entrypoint in getattr(member, ENTRYPOINT_EXTENSIONS_ATTR, ()):
            if isinstance(entrypoint, Route):
                yield name, entrypoint.spec


@cache
def document(service_cls: type) -> dict[str, Any]:
    """The OpenAPI document of ``service_cls``'s routes (built once)."""
    plugin = DocumentPlugin()
    spec = APISpec(
        title=TITLE,
        version=_version(),
        openapi_version=OPENAPI_VERSION,
        plugins=[plugin],
        info={"description": DESCRIPTION},
    )
    plugin.converter.add_attribute_function(money_as_text)
    spec.components.security_scheme(
        "bearer", {"type": "http", "scheme": "bearer", "description": "A role's token."}
    )
    spec.components.schema("Problem", schema=ProblemReply)
    spec.components.header(
        "X-Correlation-Id",
        {"description": "The request's correlation id.", "schema": {"type": "string"}},
    )
    spec.components.parameter(
        CORRELATION_HEADER,
        "header",
        {
            "description": "Your id for this request (letters, digits, ._:-), echoed back; "
            "one that does not fit the pattern is a 400. Left out: a new one.",
            "schema": {"type": "string", "pattern": CORRELATION_PATTERN.pattern},
            "required": False,
        },
    )
    spec.components.header(
        POSITIONS_HEADER,
        {
            "description": "Where the command's events went: source=position pairs, comma "
            "separated (e.g. `circulation=1234`); send them back as X-Read-After. Absent "
            "when the command recorded nothing. A command sent again with its command_id "
            "names the positions it got the first time.",
            "schema": {"type": "string", "example": "circulation=1234"},
        },
    )
    spec.components.parameter(
        READ_AFTER_HEADER,
        "header",
        {
            "description": "Answer as of at least these positions (the highest of each "
            "source's X-Event-Positions you have seen): each service queried first waits "
            "briefly until its read models following the source have them, else 503 "
            f"`catching_up`. {HEADER_RULE}",
            "schema": {"type": "string", "example": "circulation=1234,catalog=56"},
            "required": False,
        },
    )
    spec.components.parameter(
        "Last-Event-ID",
        "header",
        {
            "description": "Resume an event stream after the last id it sent "
            "(`source:position`; several: comma separated): the events of that source after "
            "it come first, then live ones. A malformed id is a 400.",
            "schema": {"type": "string", "example": "circulation:1234"},
            "required": False,
        },
    )
    for name, description in PROBLEMS.values():
        spec.components.response(
            name,
            {
                "description": description,
                "headers": {"X-Correlation-Id": {"$ref": "#/components/headers/X-Correlation-Id"}},
                "content": {PROBLEM_JSON: {"schema": "Problem"}},
            },
        )
    for name, route in sorted(routes(service_cls), key=lambda item: item[1].url):
        spec.path(
            path=openapi_path(route.url), operations={route.method.lower(): _operation(name, route)}
        )
    return spec.to_dict()


def _operation(name: str, route: RouteSpec) -> dict[str, Any]:
    public = route.allow is PUBLIC
    if public:
        rights = "anyone"
    elif route.allow is SIGNED_IN:
        rights = "anyone signed in"
    else:
        rights = route.allow.describe()
    operation: dict[str, Any] = {
        "operationId": name,
        "summary": route.summary,
        "description": f"Needs the right {rights}." if rights.startswith("'") else f"For {rights}.",
        "tags": [route.tag],
        "security": [] if public else [{"bearer": []}],
        "parameters": ["X-Correlation-Id"],
        "responses": _responses(route),
    }
    if reads_after(route):
        operation["parameters"].append(READ_AFTER_HEADER)
    if EVENT_STREAM in route.produces:
        operation["parameters"].append("Last-Event-ID")
    if route.path is not None:
        operation["parameters"].append({"in": "path", "schema": route.path})
    if route.query is not None:
        operation["parameters"].append({"in": "query", "schema": route.query})
    if formats.offers_files(route.produces):
        operation["parameters"] += formats.parameters(route.produces)
    if route.body is not None:
        operation["requestBody"] = {
            "required": _requires_body(route.body),
            "content": {media: {"schema": _body_schema(media, route)} for media in route.accepts},
        }
    return operation


def _responses(route: RouteSpec) -> dict[str, Any]:
    headers = {"X-Correlation-Id": {"$ref": "#/components/headers/X-Correlation-Id"}}
    if route.api and route.method != "GET":
        headers[POSITIONS_HEADER] = {"$ref": f"#/components/headers/{POSITIONS_HEADER}"}
    success = {
        "description": route.summary,
        "headers": headers,
        "content": {media: {"schema": _reply_schema(media, route)} for media in route.produces},
    }
    responses: dict[str, Any] = {str(status): success for status in (route.status, *route.statuses)}
    problems = ["400", "500"]  # any request may carry a bad X-Correlation-Id
    if route.allow is not PUBLIC:
        problems += ["401", "403"]
    if route.api:
        problems.append("503")
    problems += route.problems
    if route.path is not None or route.allow is not PUBLIC:
        problems.append("404")
    if route.method == "POST":
        problems.append("409")
    if route.body is not None:
        problems += ["413", "415"]
    for status in sorted(problems):
        responses[status] = {"$ref": f"#/components/responses/{PROBLEMS[status][0]}"}
    return responses


def _reply_schema(media: str, route: RouteSpec) -> Any:
    if media == JSON:
        return route.reply if route.reply is not None else {"type": "object"}
    if media == "*/*" or media in (formats.XLSX, formats.PDF):
        return {"type": "string", "format": "binary"}
    return {"type": "string"}


def _body_schema(media: str, route: RouteSpec) -> Any:
    if route.upload is not None and media != JSON:
        return {
            "type": "string",
            "format": "binary",
            "description": f"The file itself, at most {route.upload[1]} bytes.",
        }
    if media == CSV:
        return {
            "type": "string",
            "description": "CSV text: UTF-8 (with or without a BOM) or GBK/GB18030, detected "
            "unless the charset parameter names it.",
        }
    if media == XLSX:
        return {
            "type": "string",
            "format": "binary",
            "description": "An XLSX workbook; its first sheet is read, row N as line N.",
        }
    return route.body


def _requires_body(schema: type[Schema]) -> bool:
    return any(field.required for field in schema().fields.values())


def money_as_text(self: Any, field: fields.Field, ret: dict[str, Any], **kwargs: Any) -> dict:
    """Amounts are carried as text ("39.50"): describe them so, not as numbers.

    The pattern is the money field's own (at most 8 digits of yuan and 2 of fen:
    up to the field's maximum); a JSON number is taken too.
    """
    if isinstance(field, f.Money):
        ret.pop("minimum", None)
        ret.pop("maximum", None)
        description = ret.get("description") or field.metadata.get("description") or "Yuan."
        return {
            "type": "string",
            "pattern": field.pattern.pattern,
            "example": "39.50",
            "description": f"{description} As text, at most 2 decimal places, from 0 to "
            f"{f.MAX_MONEY} (a JSON number is taken too).",
        }
    return {}


class DocumentConverter(OpenAPIConverter):
    """apispec's converter, leaving out the names a schema refuses (``fields.Renamed``)."""

    def fields2jsonschema(self, fields: Any, *, partial: Any = None) -> dict[str, Any]:
        taken = {name: field for name, field in fields.items() if not isinstance(field, f.Renamed)}
        return super().fields2jsonschema(taken, partial=partial)

    def schema2parameters(self, schema: Any, *, location: str, **kwargs: Any) -> list[dict]:
        parameters = super().schema2parameters(schema, location=location, **kwargs)
        refused = {
            field.data_key or name
            for name, field in get_fields(schema).items()
            if isinstance(field, f.Renamed)
        }
        return [parameter for parameter in parameters if parameter.get("name") not in refused]


class DocumentPlugin(MarshmallowPlugin):
    Converter = DocumentConverter


def _version() -> str:
    try:
        return metadata.version("school-library")
    except metadata.PackageNotFoundError:
        return "0"
