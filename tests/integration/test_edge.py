"""The gateway's edge with raw sockets (services/gateway/edge.py), and the worker context
every service's log records carry (shared/runtime/logs.py)."""

from __future__ import annotations

import logging
import socket
import time

import pytest
import requests
from nameko.rpc import rpc
from nameko.standalone.rpc import ServiceRpcProxy

from shared.config import SERVICES
from shared.runtime.logs import WorkerContextFilter, WorkerLog
from tests.helpers import wait_until
from tests.integration.test_gateway import ALL_SERVICES, TITLE, start_gateway

BODY_HEAD = (
    b"POST /api/books HTTP/1.1\r\nHost: library\r\nAuthorization: Bearer dev-librarian\r\n"
    b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
)
ACTOR = {"id": "acc-1", "username": "wang.fang", "role": "librarian"}


def port_of(api) -> int:
    return int(api.base.rsplit(":", 1)[1])


def connect(api, source: str = "127.0.0.1") -> socket.socket:
    """A raw connection to the gateway from ``source`` (any 127.x address is this host)."""
    sock = socket.socket()
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", port_of(api)))
    sock.settimeout(10)
    return sock


def closed_by_server(sock: socket.socket) -> bool:
    """Whether the gateway closed the connection (reads end), rather than the read timing out."""
    try:
        while sock.recv(4096):
            pass
        return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def status_line(sock: socket.socket) -> str:
    return sock.recv(4096).split(b"\r\n", 1)[0].decode()


@pytest.fixture
def logged(caplog):
    """Every record, with the worker context filter the config puts on the handler."""
    caplog.set_level(logging.INFO)
    caplog.handler.addFilter(WorkerContextFilter())
    return caplog


def test_a_client_gone_mid_body_is_a_warning_not_a_500(runner_factory, config, logged):
    api = start_gateway(runner_factory, config)
    sock = connect(api)
    sock.sendall(BODY_HEAD + b'{"title": ')  # 10 of the 1000 bytes announced
    sock.close()

    gone = wait_until(
        lambda: [r for r in logged.records if "went away mid-request" in r.getMessage()],
        what="the gateway to notice the client gone",
    )
    assert gone[0].levelname == "WARNING" and not gone[0].exc_info
    assert gone[0].correlation_id
    errors = [r for r in logged.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
    assert not any(" 500" in r.getMessage() for r in logged.records)
    assert not any("Traceback" in r.getMessage() for r in logged.records)


def test_a_connection_silent_mid_headers_is_closed_after_the_read_timeout(runner_factory, config):
    api = start_gateway(runner_factory, config, read_timeout=1)
    sock = connect(api)
    sock.sendall(b"GET /openapi.json HTTP/1.1\r\nHost: lib")  # and nothing more
    started = time.monotonic()
    assert closed_by_server(sock), "still open 10 s after half its headers"
    assert time.monotonic() - started < 5
    assert requests.get(api.base + "/openapi.json", timeout=10).status_code == 200


def test_a_client_over_its_connection_cap_is_refused_and_others_are_served(runner_factory, config):
    api = start_gateway(runner_factory, config, max_connections_per_client=2)
    held = [connect(api), connect(api)]
    for sock in held:
        sock.sendall(b"GET /openapi.json HTTP/1.1\r\nHost: lib")  # held open, mid-headers

    third = connect(api)
    assert status_line(third) == "HTTP/1.1 503 Service Unavailable"
    assert closed_by_server(third)

    other = connect(api, source="127.0.0.2")
    other.sendall(b"GET /openapi.json HTTP/1.1\r\nHost: lib\r\nConnection: close\r\n\r\n")
    assert status_line(other) == "HTTP/1.1 200 OK"

    for sock in held:
        sock.close()
    wait_until(
        lambda: requests.get(api.base + "/openapi.json", timeout=10).status_code == 200,
        what="the address to be served again once its connections closed",
    )


def test_a_redirect_never_names_the_host_the_client_sent(runner_factory, config):
    api = start_gateway(runner_factory, config)
    evil = {"Host": "evil.example"}
    for path in ("/api//books", "//api/books", "/api/books/", "//books"):
        answer = requests.get(api.base + path, headers=evil, allow_redirects=False, timeout=10)
        location = answer.headers.get("Location", "")
        assert "evil.example" not in location and not location.startswith("//"), (path, location)
        if answer.is_redirect:
            assert location.startswith("/"), (path, location)
    redirected = requests.get(api.base + "/api//books", headers=evil, allow_redirects=False)
    assert redirected.status_code == 308 and redirected.headers["Location"] == "/api/books"


# ------------------------------------------------------------------ who and which request


def test_a_refusal_is_logged_with_its_correlation_id_actor_and_role(runner_factory, config, logged):
    api = start_gateway(runner_factory, config, *ALL_SERVICES)
    answer = api.post(
        "/api/loans",
        {"barcode": "NO-SUCH-COPY", "patron_id": "P-NONE"},
        role="assistant",
        headers={"X-Correlation-ID": "edge-refusal-1"},
    )
    assert 400 <= answer.status_code < 500, answer.text
    mine = [r for r in logged.records if getattr(r, "correlation_id", None) == "edge-refusal-1"]
    refusals = [r for r in mine if "(expected) error handling worker" in r.getMessage()]
    assert refusals, [r.getMessage() for r in mine]
    for record in refusals:  # the gateway's worker and the service's, each refused
        assert (record.actor, record.role) == ("dev-assistant", "assistant"), record.getMessage()
    request_line = [r for r in mine if r.name == "services.gateway.routing"]
    assert request_line and request_line[-1].role == "assistant"

    forbidden = api.post("/api/books", {**TITLE, "copies": 1}, role="reader")
    assert forbidden.status_code == 403
    refused = [r for r in logged.records if r.getMessage() == "POST /api/books 403"]
    assert refused and refused[-1].role == "reader"


class Failing:
    """A service whose one RPC fails unexpectedly, declaring WorkerLog as every service does."""

    name = "failing"
    worker_log = WorkerLog()

    @rpc
    def fail(self) -> None:
        raise RuntimeError("disk on fire")


def test_an_unexpected_error_is_logged_with_its_correlation_id_actor_and_role(
    runner_factory, config, logged
):
    runner_factory(config, Failing).start()
    context = {"correlation_id": "edge-fault-1", "actor": ACTOR}
    with ServiceRpcProxy("failing", config, context_data=context) as failing:
        with pytest.raises(Exception, match="disk on fire"):
            failing.fail()
    faults = [r for r in logged.records if r.levelno >= logging.ERROR and r.exc_info]
    assert faults, "no traceback logged"
    fault = faults[-1]
    assert (fault.correlation_id, fault.actor, fault.role) == (
        "edge-fault-1",
        "wang.fang",
        "librarian",
    )


def test_every_service_declares_its_workers_log_context():
    from importlib import import_module

    for service in (*SERVICES, "gateway", "sip2"):
        module = import_module(f"services.{service}.service")
        classes = [c for c in vars(module).values() if getattr(c, "name", None) == service]
        assert classes and any(
            isinstance(value, WorkerLog) for c in classes for value in vars_all(c)
        ), service


def vars_all(cls: type) -> list:
    return [value for klass in cls.__mro__ for value in vars(klass).values()]
