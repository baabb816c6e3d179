"""The gateway's HTTP entrypoint: one ``@route`` per operation, carrying its contract.

A route declares who may call it, what it reads (path, query, body schemas) and
what it answers; the same declaration feeds the OpenAPI document. Before a
worker starts, the entrypoint gives the request a correlation id, checks the
token, reads and validates the input; the handler then only calls a service.
Every failure, here or in the handler, becomes a problem document.

Read your own writes (``shared.runtime.read_after``): a command's answer carries
``X-Event-Positions`` (where its events went, from the services' replies), and a
GET may carry ``X-Read-After`` with such positions: each service the handler
queries first waits until its read models have them (``calls.ServiceClient``).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache, partial
from logging import getLogger
from typing import Any

from eventlet.event import Event
from marshmallow import Schema
from nameko.containers import WorkerContext
from nameko.exceptions import ContainerBeingKilled
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, WsgiApp
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import MethodNotAllowed as WerkzeugMethodNotAllowed
from werkzeug.routing import RequestRedirect
from werkzeug.wrappers import Request, Response

from services.gateway import edge, formats, parsing
from services.gateway.auth import (
    PUBLIC,
    Caller,
    Permission,
    authorize,
    bearer_token,
    dev_caller,
    invalid_token,
)
from services.gateway.calls import ServiceClient
from services.gateway.problems import (
    InternalError,
    InvalidRequest,
    MethodNotAllowed,
    NotFound,
    Problem,
    RemoteFailure,
    ServiceUnavailable,
    from_remote,
    utf8_json,
)
from services.gateway.session_cache import SessionCache
from services.gateway.settings import GatewaySettings
from shared.messaging.rpc import SurvivingReplyListener
from shared.runtime import read_after
from shared.runtime.metrics import observe_http, observe_unmatched

_log = getLogger(__name__)

JSON = parsing.JSON
CSV = parsing.CSV
EVENT_STREAM = "text/event-stream"
# Sent with every answer: no MIME sniffing, so JSON holding "<script>" stays JSON.
COMMON_HEADERS = {"X-Content-Type-Options": "nosniff"}
API_HEADERS = {"Cache-Control": "no-store"}
# The routes of accounts and sessions (their tag): a change through one of them empties
# the gateway's session cache (services/gateway/session_cache.py).
ACCOUNTS_TAG = "people"


@dataclass(frozen=True)
class ApiRequest:
    """What a handler gets: who calls, and their input, validated, as the caller gave it."""

    caller: Caller | None
    correlation_id: str
    path: dict[str, Any] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=dict)
    media_type: str = JSON  # the representation the caller prefers among the route's
    address: str | None = None  # the client's IP address (the sign-in throttle's key)
    # X-Read-After of a GET: answer as of at least these positions ({source: position}).
    read_after: Mapping[str, int] = field(default_factory=dict)
    last_event_id: str | None = None  # Last-Event-ID, for a route answering an event stream
    language: str = "zh-CN"  # the files' language (?lang= or Accept-Language): exports, prints

    @property
    def role(self) -> str | None:
        return self.caller.role if self.caller else None


@dataclass(frozen=True)
class Reply:
    """A handler's answer when it is not plain JSON with the route's status."""

    # A JSON value (content_type JSON), bytes or text, or an iterable of bytes sent as it
    # is made (a CSV export, an event stream: services/gateway/exports.py, live.py).
    body: Any
    status: int = 200
    content_type: str = JSON
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Positioned:
    """A handler's result with the positions its commands' events got (a worker's result)."""

    result: Any
    positions: Mapping[str, int]


@cache
def schema(kind: type[Schema]) -> Schema:
    """One instance of a route's schema for every request: building a marshmallow schema
    (it copies its declared fields) costs more than checking a body with it."""
    return kind()


@dataclass(frozen=True)
class RouteSpec:
    """A route's contract: the source of both its checks and its OpenAPI operation."""

    method: str
    url: str
    allow: Permission
    summary: str
    tag: str
    path: type[Schema] | None = None
    query: type[Schema] | None = None
    body: type[Schema] | None = None
    reply: type[Schema] | None = None
    status: int = 200
    accepts: tuple[str, ...] = (JSON,)  # body media types
    produces: tuple[str, ...] = (JSON,)
    roster: bool = False  # a roster import: a larger body limit, CSV or JSON
    # A file as the body itself (of a media type in accepts), up to upload[1] bytes: sent
    # to the service base64-encoded as the body field upload[0] (parsing.file_body).
    upload: tuple[str, int] | None = None
    api: bool = True  # part of the JSON API (not the dashboard's files)
    statuses: tuple[int, ...] = ()  # other success statuses the route may answer
    problems: tuple[str, ...] = ()  # problem statuses beyond those every route may answer


class ApiWsgiApp(WsgiApp):
    """nameko's WSGI app, answering unknown routes and methods with problem documents."""

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        # eventlet's server gathers an answer's chunks until 4 KiB before writing them: an
        # event stream's (GET /api/live) must go out as each is made. Other answers are
        # one chunk, written at once either way.
        environ["eventlet.minimum_write_chunk_size"] = 0
        request = Request(environ, shallow=True)
        adapter = self.url_map.bind_to_environ(environ)
        try:
            provider, values = adapter.match()
        except RequestRedirect as redirect:
            return edge.relative_redirect(redirect)(environ, start_response)
        except HTTPException as exc:
            correlation_id, problem = correlation(request)
            response = (problem or problem_for_http(exc)).response(correlation_id)
            finish(response, correlation_id, api=True)
            observe_unmatched(request.method, response.status_code)
            return response(environ, start_response)
        request.path_values = values
        return provider.handle_request(request)(environ, start_response)


class QuietDisconnects(logging.Filter):
    """Leaves out eventlet's traceback of a client gone mid-answer (a closed event stream,
    noticed at its next heartbeat): a page closed, not a fault."""

    GONE = ("BrokenPipeError", "ConnectionResetError", "ConnectionAbortedError")

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        return not (message.startswith("Traceback") and any(g in message for g in self.GONE))


class ApiServer(WebServer):
    """nameko's web server with the gateway's settings and problem answers for unknown
    routes; a read timeout and a cap on each client address's connections (``edge``)."""

    def setup(self) -> None:
        self.settings = GatewaySettings.from_config(self.container.config)
        self.connections = edge.ConnectionLimit(self.settings.max_connections_per_client)
        self.sessions = SessionCache(self.settings.session_cache_seconds)
        server_log = logging.getLogger(WebServer.__module__)
        if not any(isinstance(f, QuietDisconnects) for f in server_log.filters):
            server_log.addFilter(QuietDisconnects())

    def get_wsgi_app(self) -> ApiWsgiApp:
        return ApiWsgiApp(self)

    def get_wsgi_server(self, sock: Any, wsgi_app: Any, **options: Any) -> Any:
        """eventlet's server, closing a connection silent for ``read_timeout`` seconds
        (half its headers, half its body, or idle between requests).

        Without eventlet's own access line: ``Route.handle_request`` logs every request
        with its correlation id, actor and role, and a second line said less, once more.
        eventlet's errors are still logged."""
        server = super().get_wsgi_server(sock, wsgi_app, **options)
        server.socket_timeout = self.settings.read_timeout
        server.log_output = False
        return server

    def process_request(self, sock: Any, address: Any) -> None:
        client = address[0]
        if not self.connections.enter(client):
            edge.refuse(sock, client, self.connections.per_address)
            return
        try:
            super().process_request(sock, address)
        finally:
            self.connections.leave(client)


class Route(HttpRequestHandler):
    """An HTTP operation of the gateway (use as ``@route(method, url, allow=..., ...)``)."""

    server = ApiServer()
    # Where the accounts service's answers to ``authenticate`` arrive (shared with ServiceRpc).
    reply_listener = SurvivingReplyListener()

    def __init__(self, method: str, url: str, **contract: Any) -> None:
        self.spec = RouteSpec(method=method, url=url, **contract)
        # Problems and services' refusals are answers, logged by nameko as warnings.
        super().__init__(method, url, expected_exceptions=(Problem, RemoteFailure))

    def handle_request(self, request: Request) -> Response:
        request.shallow = False
        started = time.monotonic()
        correlation_id, bad_header = correlation(request)
        caller = None
        try:
            if bad_header is not None:
                raise bad_header
            if self.spec.allow is not PUBLIC:  # known before a refusal, for its log line
                caller = self.authenticate(request.headers.get("Authorization"), correlation_id)
            api_request = self.prepare(request, correlation_id, caller)
            response = self.render(self.run_worker(api_request))
        except Problem as problem:
            response = problem.response(correlation_id)
        except RemoteFailure as failure:
            response = from_remote(failure, correlation_id).response(correlation_id)
        except edge.CLIENT_GONE as gone:
            response = edge.client_gone(request, gone, correlation_id)
        except Exception:
            _log.exception(
                "%s %s failed",
                request.method,
                request.path,
                extra={
                    "correlation_id": correlation_id,
                    "actor": caller.username if caller else None,
                    "role": caller.role if caller else None,
                },
            )
            response = InternalError(
                f"Something went wrong; it is logged under correlation id {correlation_id}."
            ).response(correlation_id)
        if self.spec.tag == ACCOUNTS_TAG and self.spec.method != "GET":
            self.server.sessions.clear()  # a sign-out, a disabled account, new roles...
        finish(response, correlation_id, api=self.spec.api)
        seconds = time.monotonic() - started  # a stream's: until its first byte
        observe_http(self.spec.url, self.spec.method, response.status_code, seconds)
        _log.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "correlation_id": correlation_id,
                "actor": caller.username if caller else None,
                "role": caller.role if caller else None,
                "ms": round((time.monotonic() - started) * 1000, 1),
            },
        )
        return response

    def prepare(self, request: Request, correlation_id: str, caller: Caller | None) -> ApiRequest:
        """Check the caller's rights and read the input; raises the problem to answer otherwise."""
        spec, settings = self.spec, self.server.settings
        if caller is not None:  # every route but a public one (handle_request)
            authorize(caller, spec.allow)
        path = parsing.check(schema(spec.path), request.path_values, "path") if spec.path else {}
        query = parsing.query_args(request)
        asked, language = None, "zh-CN"
        if formats.offers_files(spec.produces):  # format and lang are the gateway's
            languages = request.headers.get("Accept-Language")
            asked, language = formats.negotiate(spec.produces, query, languages)
        query = parsing.check(schema(spec.query), query, "query") if spec.query else query
        body: dict[str, Any] = {}
        if spec.body is not None:
            if spec.upload is not None:
                raw = parsing.file_body(request, spec.accepts, *spec.upload)
            elif spec.roster:
                raw = parsing.csv_or_json_body(request, settings.max_roster_body)
            else:
                raw = parsing.json_body(request, settings.max_body)
            body = parsing.check(schema(spec.body), raw, "body")
        media_type = asked or request.accept_mimetypes.best_match(spec.produces) or spec.produces[0]
        address = request.remote_addr
        after = read_after_of(request) if reads_after(spec) else {}
        last_event_id = None
        if EVENT_STREAM in spec.produces:
            last_event_id = request.headers.get("Last-Event-ID")
        return ApiRequest(
            caller,
            correlation_id,
            path,
            query,
            body,
            media_type,
            address,
            after,
            last_event_id,
            language,
        )

    def authenticate(self, authorization: str | None, correlation_id: str) -> Caller:
        """Whose token this is: a development token (when enabled), else the accounts' answer."""
        token = bearer_token(authorization)
        settings = self.server.settings
        if settings.dev_tokens:
            caller = dev_caller(token, settings.tokens)
            if caller is not None:
                return caller
        sessions = self.server.sessions
        kept = sessions.get(token)
        if kept is not None:
            return kept
        asked_at = sessions.generation
        context = WorkerContext(self.container, None, self, data={"correlation_id": correlation_id})
        accounts = ServiceClient(context, "accounts", self.reply_listener, settings)
        found = accounts.authenticate(token)
        if found is None:
            raise invalid_token()
        caller = Caller.from_account(found, token)
        sessions.keep(caller, asked_at)
        return caller

    def run_worker(self, api_request: ApiRequest) -> Any:
        """Run the handler in a nameko worker carrying the correlation id; its result."""
        event = Event()
        try:
            self.container.spawn_worker(
                self,
                (api_request,),
                {},
                context_data=context_of(api_request),
                handle_result=partial(self.handle_result, event),
            )
        except ContainerBeingKilled:
            raise ServiceUnavailable("gateway", "The gateway is shutting down.") from None
        return event.wait()

    def handle_result(
        self, event: Event, worker_ctx: Any, result: Any, exc_info: Any
    ) -> tuple[Any, Any]:
        """Hand the result on with the positions the worker's commands got, if any."""
        positions = read_after.noted(worker_ctx)
        if exc_info is None and positions:
            event.send(Positioned(result, positions), None)
            return result, exc_info
        return super().handle_result(event, worker_ctx, result, exc_info)

    def render(self, result: Any) -> Response:
        positions: Mapping[str, int] = {}
        if isinstance(result, Positioned):
            result, positions = result.result, result.positions
        reply = result if isinstance(result, Reply) else Reply(result, self.spec.status)
        body = reply.body
        if reply.content_type == JSON:
            body = utf8_json(body)
        headers = dict(reply.headers)
        if positions:
            headers[read_after.POSITIONS_HEADER] = read_after.format_positions(positions)
        return Response(body, status=reply.status, headers=headers, content_type=reply.content_type)


route = Route.decorator


def reads_after(spec: RouteSpec) -> bool:
    """Whether the route honours X-Read-After: the API's GETs, except the operator's
    (the status page must answer now, whatever a read model is behind or down)."""
    return spec.api and spec.method == "GET" and spec.allow.rights != ("operate",)


def read_after_of(request: Request) -> dict[str, int]:
    """The positions a GET's ``X-Read-After`` names (none without it); 400 if malformed."""
    given = request.headers.get(read_after.READ_AFTER_HEADER)
    if given is None:
        return {}
    try:
        return read_after.parse_positions(given)
    except ValueError as error:
        raise InvalidRequest(
            f"The {read_after.READ_AFTER_HEADER} header is not valid: {error}.",
            errors={read_after.READ_AFTER_HEADER: [read_after.HEADER_RULE]},
        ) from None


def context_of(api_request: ApiRequest) -> dict[str, Any]:
    """What every service call of the request carries: its correlation id and its actor."""
    context: dict[str, Any] = {"correlation_id": api_request.correlation_id}
    if api_request.caller is not None:
        context["actor"] = api_request.caller.actor()
    return context


def correlation(request: Request) -> tuple[str, Problem | None]:
    """The request's correlation id, and the problem to answer if its header is not valid.

    A refused header still gets an id of its own (a new one) for the answer and the log.
    """
    try:
        return parsing.correlation_id(request), None
    except Problem as problem:
        return str(uuid.uuid4()), problem


def finish(response: Response, correlation_id: str, api: bool) -> None:
    response.headers[parsing.CORRELATION_HEADER] = correlation_id
    response.headers.update(COMMON_HEADERS)
    if api:
        for name, value in API_HEADERS.items():
            response.headers.setdefault(name, value)


def problem_for_http(exc: HTTPException) -> Problem:
    """The problem for an error werkzeug raised while routing (unknown path or method)."""
    if isinstance(exc, WerkzeugMethodNotAllowed):
        allowed = ", ".join(sorted(exc.valid_methods or ()))
        return MethodNotAllowed(
            f"This route only takes {allowed}.",
            headers={"Allow": allowed},
        )
    if exc.code == 404:
        return NotFound("No such route. The API is described at /openapi.json.")
    problem = Problem(exc.description or exc.name)
    problem.status, problem.title, problem.slug = exc.code or 400, exc.name, "http-error"
    return problem
