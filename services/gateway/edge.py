"""The gateway's edge: what one client's connection may cost, and what a request may
make the gateway say about itself.

A client that stalls (half its headers, half its body) is cut off after the read
timeout; one address holds at most so many connections at once (the next is
answered 503 and closed before anything is read); a client gone mid-body is a
warning, not a 500 with a traceback; and a redirect (``/api//books`` to
``/api/books``) names a path only, never the ``Host`` the client sent.
"""

from __future__ import annotations

import json
from collections import Counter
from logging import getLogger
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from werkzeug.exceptions import ClientDisconnected
from werkzeug.routing import RequestRedirect
from werkzeug.wrappers import Request, Response

from services.gateway.problems import PROBLEM_JSON, TYPE_PREFIX, NotFound, Problem

_log = getLogger(__name__)

# A body cut short (the client closed, or sent fewer bytes than its Content-Length)
# or a client silent for longer than the read timeout: the client's doing, not a fault.
CLIENT_GONE = (ClientDisconnected, ConnectionError, TimeoutError)


class IncompleteBody(Problem):
    """Raised when the body ends before the Content-Length it announced."""

    status = 400
    slug = "incomplete-body"
    title = "Incomplete body"


class RequestTimeout(Problem):
    """Raised when the client sends nothing for longer than the read timeout mid-request."""

    status = 408
    slug = "request-timeout"
    title = "Request timeout"


def client_gone(request: Request, error: BaseException, correlation_id: str) -> Response:
    """The answer to a request whose client stopped sending (it may be gone already):
    a warning line, a 400 or 408 problem, and the connection closed after it."""
    timed_out = isinstance(error, TimeoutError)
    _log.warning(
        "%s %s: the client %s mid-request (%s)",
        request.method,
        request.path,
        "stopped sending" if timed_out else "went away",
        type(error).__name__,
        extra={"correlation_id": correlation_id, "address": request.remote_addr},
    )
    problem: Problem
    if timed_out:
        problem = RequestTimeout("The request's body did not arrive within the read timeout.")
    else:
        problem = IncompleteBody("The request's body ended before its Content-Length.")
    response = problem.response(correlation_id)
    response.headers["Connection"] = "close"
    return response


def relative_redirect(redirect: RequestRedirect) -> Response:
    """werkzeug's redirect to a route's canonical path, as a path only: werkzeug builds an
    absolute URL from the client's ``Host`` header, which a client may set to anything."""
    parts = urlsplit(redirect.new_url)
    target = urlunsplit(("", "", parts.path, parts.query, ""))
    if not target.startswith("/") or target.startswith("//"):  # "//x" would name a host
        return NotFound("No such route. The API is described at /openapi.json.").response()
    return Response(status=redirect.code, headers={"Location": target})


class ConnectionLimit:
    """How many connections each client address holds now, against a cap (green threads:
    nothing switches between the check and the count, so no lock)."""

    def __init__(self, per_address: int) -> None:
        self.per_address = per_address
        self.open: Counter[str] = Counter()

    def enter(self, address: str) -> bool:
        """Count a new connection from ``address``; False (not counted) over the cap."""
        if self.open[address] >= self.per_address:
            return False
        self.open[address] += 1
        return True

    def leave(self, address: str) -> None:
        self.open[address] -= 1
        if self.open[address] <= 0:
            del self.open[address]


def refuse(sock: Any, address: str, per_address: int) -> None:
    """Answer a connection over its address's cap with a 503 and close it, reading nothing."""
    _log.warning(
        "refused a connection from %s: it holds %d already (GATEWAY.max_connections_per_client)",
        address,
        per_address,
        extra={"address": address},
    )
    body = json.dumps(
        {
            "type": TYPE_PREFIX + "too-many-connections",
            "title": "Too many connections",
            "status": 503,
            "detail": f"This address holds {per_address} connections to the gateway already; "
            "close one and try again.",
        }
    ).encode()
    head = (
        "HTTP/1.1 503 Service Unavailable\r\n"
        f"Content-Type: {PROBLEM_JSON}\r\nContent-Length: {len(body)}\r\n"
        "Retry-After: 1\r\nConnection: close\r\n\r\n"
    ).encode()
    try:
        sock.sendall(head + body)
    except OSError:
        pass  # gone already: nothing to answer
    finally:
        sock.close()
