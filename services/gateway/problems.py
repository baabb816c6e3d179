"""Errors as HTTP answers: RFC 7807 problem documents, and the registry of remote errors.

Whatever goes wrong, the caller gets ``application/problem+json`` with ``type``,
``title``, ``status`` and ``detail`` (plus ``errors`` naming the offending fields
for a 400 and ``code`` for a refusal), never a stack trace: a fault is logged
with the request's correlation id, which the answer carries so the two can be
matched.

Services answer over RPC with their own exceptions (``BadRequest``, ``NotFound``,
``Refused``, ``ConcurrencyError``). Each is mapped to a status once, here, by
``@remote_error`` (as in the nameko-examples gateway).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from logging import getLogger
from typing import Any

from nameko.exceptions import get_module_path
from werkzeug.wrappers import Response

from shared.errors import BadRequest, SignInRefused
from shared.errors import NotFound as RemoteNotFound
from shared.eventsourcing.decider import Refused
from shared.eventsourcing.pipeline import CommandReused
from shared.eventsourcing.store import ConcurrencyError
from shared.messaging.calls import RemoteFailure

_log = getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "/problems/"


class Problem(Exception):
    """Raised to answer a request with a problem document; subclasses fix the status."""

    status = 500
    slug = "internal-error"
    title = "Internal error"

    def __init__(
        self,
        detail: str,
        *,
        errors: Mapping[str, Any] | None = None,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
        members: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = dict(errors) if errors else None
        self.code = code
        self.headers = dict(headers or {})
        # RFC 7807 extension members of this kind of problem (e.g. a bulk lend's refusals).
        self.members = dict(members or {})

    def document(self, correlation_id: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": TYPE_PREFIX + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors is not None:
            body["errors"] = self.errors
        if self.code is not None:
            body["code"] = self.code
        for name, value in self.members.items():
            body.setdefault(name, value)
        if correlation_id:
            body["correlation_id"] = correlation_id
        return body

    def response(self, correlation_id: str | None = None) -> Response:
        return Response(
            utf8_json(self.document(correlation_id)),
            status=self.status,
            headers=self.headers,
            content_type=PROBLEM_JSON,
        )


def utf8_json(value: Any) -> bytes:
    """``value`` as UTF-8 JSON; a lone surrogate is written as its JSON escape, never a fault."""
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "backslashreplace")


class InvalidRequest(Problem):
    """Raised when input fails validation; ``errors`` names every offending field."""

    status, slug, title = 400, "invalid-request", "Invalid request"


class MalformedBody(Problem):
    """Raised when the body is not readable JSON (or CSV) at all."""

    status, slug, title = 400, "malformed-body", "Malformed body"


class Unauthorized(Problem):
    """Raised when a request carries no token, or one the gateway does not know."""

    status, slug, title = 401, "unauthorized", "Unauthorized"


class Forbidden(Problem):
    """Raised when the token's role may not do what was asked."""

    status, slug, title = 403, "forbidden", "Forbidden"


class NotFound(Problem):
    """Raised for an unknown route or record."""

    status, slug, title = 404, "not-found", "Not found"


class MethodNotAllowed(Problem):
    """Raised when the route exists but not for this method."""

    status, slug, title = 405, "method-not-allowed", "Method not allowed"


class NotAcceptable(Problem):
    """Raised when the caller accepts no representation the route can give."""

    status, slug, title = 406, "not-acceptable", "Not acceptable"


class Conflict(Problem):
    """Raised when the state of the library forbids the command; ``code`` says why."""

    status, slug, title = 409, "conflict", "Conflict"


class PayloadTooLarge(Problem):
    """Raised when a body is over the route's limit."""

    status, slug, title = 413, "payload-too-large", "Payload too large"


class UnsupportedMediaType(Problem):
    """Raised when a body is not of a content type the route reads."""

    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class Locked(Problem):
    """423: the account is locked for a while (too many wrong passwords)."""

    status, slug, title = 423, "locked", "Locked"


class TooManyRequests(Problem):
    """429: too many attempts from this address; ``Retry-After`` says when to try again."""

    status, slug, title = 429, "too-many-requests", "Too many requests"


class InternalError(Problem):
    """Raised (or answered) for a fault in the gateway or a service; details are in the logs."""


class ServiceUnavailable(Problem):
    """Raised when a service does not answer in time, or is not running at all."""

    status, slug, title = 503, "service-unavailable", "Service unavailable"

    def __init__(self, service: str, detail: str) -> None:
        super().__init__(detail, headers={"Retry-After": "5"})
        self.service = service


REMOTE_ERRORS: dict[str, Callable[[RemoteFailure], Problem]] = {}


def remote_error(
    exc_type: type[Exception],
) -> Callable[[Callable[[RemoteFailure], Problem]], Callable[[RemoteFailure], Problem]]:
    """Register how a service's exception type is answered over HTTP."""

    def register(build: Callable[[RemoteFailure], Problem]) -> Callable[[RemoteFailure], Problem]:
        REMOTE_ERRORS[get_module_path(exc_type)] = build
        return build

    return register


@remote_error(BadRequest)
def _bad_request(failure: RemoteFailure) -> Problem:
    errors, code, members = failure.arg(1), failure.arg(2), failure.arg(3)
    return InvalidRequest(
        str(failure.arg(0, failure.value)),
        errors=errors if isinstance(errors, dict) else {},
        code=code if isinstance(code, str) else None,
        members=_whole_numbers(members) if isinstance(members, dict) else None,
    )


def _whole_numbers(members: Mapping[str, Any]) -> dict[str, Any]:
    """nameko sends an error's arguments as text: a record number comes back a number."""
    return {
        name: int(value) if isinstance(value, str) and value.isdigit() else value
        for name, value in members.items()
    }


@remote_error(RemoteNotFound)
def _not_found(failure: RemoteFailure) -> Problem:
    return NotFound(str(failure.arg(0, failure.value)))


@remote_error(CommandReused)  # a command_id sent again with another command: 409 too
@remote_error(Refused)
def _refused(failure: RemoteFailure) -> Problem:
    return Conflict(str(failure.arg(0, failure.value)), code=str(failure.arg(1) or "refused"))


@remote_error(SignInRefused)
def _sign_in_refused(failure: RemoteFailure) -> Problem:
    code = str(failure.arg(1) or "invalid_credentials")
    detail = str(failure.arg(0, failure.value))
    if code == "account_locked":
        return Locked(detail, code=code)
    if code == "wrong_password":
        return Forbidden(detail, code=code)
    return Unauthorized(detail, code=code, headers={"WWW-Authenticate": 'Bearer realm="library"'})


@remote_error(ConcurrencyError)
def _concurrent_change(failure: RemoteFailure) -> Problem:
    return Conflict(
        "Someone else changed this record at the same moment; try again.",
        code="concurrent_change",
    )


def from_remote(failure: RemoteFailure, correlation_id: str | None = None) -> Problem:
    """The problem to answer for a service's error; an unexpected one is logged as a fault."""
    build = REMOTE_ERRORS.get(failure.exc_path)
    if build is not None:
        return build(failure)
    _log.error(
        "the %s service failed on %s: %s",
        failure.service,
        failure.method,
        failure,
        extra={"correlation_id": correlation_id},
    )
    return InternalError(
        f"The {failure.service} service failed; the error is logged "
        f"under correlation id {correlation_id}."
    )
