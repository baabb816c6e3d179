"""The gateway's parts without any server: tokens, problems, parsing, files and its document."""

from __future__ import annotations

import json
import re
from pathlib import Path
from unittest.mock import Mock

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from services.gateway import auth, openapi, parsing, scopes, static
from services.gateway import schemas as s
from services.gateway.problems import (
    Conflict,
    InternalError,
    InvalidRequest,
    MalformedBody,
    NotFound,
    PayloadTooLarge,
    RemoteFailure,
    TooManyRequests,
    UnsupportedMediaType,
    from_remote,
)
from services.gateway.routing import Route
from services.gateway.service import GatewayService
from services.gateway.sessions import Throttle
from services.gateway.settings import GatewaySettings
from shared.runtime.rights import RIGHTS, markdown_table, rights_of

TOKENS = {"librarian": "lib-secret", "reader": "read-secret"}


def request(body=b"", content_type="application/json", query="", headers=None):
    builder = EnvironBuilder(
        method="POST",
        path="/x",
        query_string=query,
        data=body,
        content_type=content_type,
        headers=headers or {},
    )
    return Request(builder.get_environ())


# ------------------------------------------------------------------ tokens and roles


def test_a_known_development_token_names_its_role():
    assert auth.dev_caller(auth.bearer_token("Bearer lib-secret"), TOKENS).role == "librarian"
    reader = auth.dev_caller(auth.bearer_token("bearer  read-secret "), TOKENS)
    assert reader.role == "reader" and reader.actor()["username"] == "dev-reader"
    assert auth.dev_caller("wrong", TOKENS) is None


@pytest.mark.parametrize("header", [None, "", "Bearer", "Basic lib-secret", "lib-secret"])
def test_no_token_or_a_malformed_header_is_unauthorized_with_a_bearer_challenge(header):
    with pytest.raises(auth.Unauthorized) as caught:
        auth.bearer_token(header)
    assert caught.value.status == 401
    assert caught.value.headers["WWW-Authenticate"].startswith("Bearer")


def caller(*roles, **extra):
    return auth.Caller(
        kind="session",
        account_id="x",
        username="x",
        name="某某",
        roles=roles,
        rights=rights_of(roles),
        **extra,
    )


def test_each_role_may_do_only_its_kind_of_work():
    auth.authorize(caller("librarian"), auth.needs("collection.manage"))
    auth.authorize(caller("assistant"), auth.needs("desk"))
    auth.authorize(caller("operator"), auth.needs("operate"))
    auth.authorize(caller("student"), auth.needs("patrons.read", "own.read"))
    for role, right in [
        ("assistant", "collection.manage"),
        ("student", "desk"),
        ("teacher", "patrons.read"),
        ("operator", "records.read"),
        ("reader", "operate"),
    ]:
        with pytest.raises(auth.Forbidden) as caught:
            auth.authorize(caller(role), auth.needs(right))
        assert caught.value.members == {"right": right} and right in caught.value.detail


def test_a_student_sees_his_own_card_and_a_teacher_her_classes():
    student = caller("student", patron_id="S1")
    scopes.patron(student, "S1", class_of=lambda _: pytest.fail("no lookup for his own card"))
    with pytest.raises(auth.Forbidden):
        scopes.patron(student, "S2", class_of=lambda _: "G7-3")
    teacher = caller("teacher", patron_id="T1", classes=("G7-3",))
    scopes.patron(teacher, "S2", class_of=lambda _: "G7-3")
    with pytest.raises(auth.Forbidden):
        scopes.patron(teacher, "S3", class_of=lambda _: "G8-1")
    assert scopes.class_list(teacher, {}) == {"class": "G7-3"}
    with pytest.raises(auth.Forbidden):
        scopes.class_list(teacher, {"class": "G8-1"})
    assert scopes.own_card(student, {"isbn": "x"}, "reservations.own")["patron_id"] == "S1"
    with pytest.raises(auth.Forbidden):
        scopes.own_card(student, {"patron_id": "S2"}, "reservations.own")


def test_the_sign_in_throttle_counts_failures_over_a_sliding_minute():
    throttle = Throttle(limit=2)
    throttle.failed("10.0.0.1", now=0)
    throttle.failed("10.0.0.1", now=1)
    throttle.attempt("10.0.0.2", now=2)  # another address is not slowed
    with pytest.raises(TooManyRequests) as caught:
        throttle.attempt("10.0.0.1", now=2)
    assert caught.value.headers["Retry-After"] == "59"
    throttle.attempt("10.0.0.1", now=61)  # the first failure is a minute old


def test_tokens_come_from_the_config_or_else_the_environment_and_only_when_enabled(monkeypatch):
    monkeypatch.setenv("LIBRARY_DEV_TOKENS", "0")
    assert GatewaySettings.from_config({"GATEWAY": {"tokens": {"librarian": "x"}}}).tokens == {}
    monkeypatch.setenv("LIBRARY_DEV_TOKENS", "1")
    monkeypatch.setenv("READER_TOKEN", "from-env")
    monkeypatch.delenv("OPERATOR_TOKEN", raising=False)
    config = {"GATEWAY": {"tokens": {"librarian": 12345, "assistant": "  "}, "rpc_timeout": 3}}
    settings = GatewaySettings.from_config(config)
    assert settings.tokens == {"librarian": "12345", "reader": "from-env"}
    assert settings.rpc_timeout == 3.0 and settings.max_body == 1024 * 1024


# ------------------------------------------------------------------ remote errors


def failure(exc_path, *args, exc_type="X"):
    return RemoteFailure(
        "circulation",
        "lend",
        {"exc_path": exc_path, "exc_type": exc_type, "exc_args": list(args), "value": "text"},
    )


def test_remote_errors_map_to_statuses_keeping_their_fields_and_codes():
    bad = from_remote(failure("shared.errors.BadRequest", "bad", {"campus": ["no"]}))
    assert isinstance(bad, InvalidRequest) and bad.errors == {"campus": ["no"]}
    refused = from_remote(
        failure("shared.eventsourcing.decider.Refused", "on loan", "copy_on_loan")
    )
    assert isinstance(refused, Conflict) and refused.code == "copy_on_loan"
    assert refused.detail == "on loan"
    assert isinstance(from_remote(failure("shared.errors.NotFound", "gone")), NotFound)
    stale = from_remote(failure("shared.eventsourcing.store.ConcurrencyError", "s", 1, 2))
    assert stale.status == 409 and stale.code == "concurrent_change"


def test_an_unexpected_remote_error_is_a_500_without_its_text(caplog):
    problem = from_remote(failure("psycopg2.OperationalError", "password for x"), "cid-1")
    assert isinstance(problem, InternalError) and problem.status == 500
    assert "password" not in problem.detail and "cid-1" in problem.detail
    assert any(record.correlation_id == "cid-1" for record in caplog.records)


def test_a_problem_document_is_rfc_7807():
    response = Conflict("already on loan", code="copy_on_loan").response("cid-2")
    assert response.status_code == 409 and response.mimetype == "application/problem+json"
    assert json.loads(response.get_data()) == {
        "type": "/problems/conflict",
        "title": "Conflict",
        "status": 409,
        "detail": "already on loan",
        "code": "copy_on_loan",
        "correlation_id": "cid-2",
    }


# ------------------------------------------------------------------ reading requests


def test_a_sensible_correlation_id_is_kept_a_missing_one_made_and_a_bad_one_refused():
    kept = parsing.correlation_id(request(headers={"X-Correlation-Id": "desk-7.north:3"}))
    assert kept == "desk-7.north:3"
    for missing in ({}, {"X-Correlation-Id": ""}, {"X-Correlation-Id": "  "}):
        assert re.fullmatch(r"[0-9a-f\-]{36}", parsing.correlation_id(request(headers=missing)))
    for bad in ("has space", "<script>", "x" * 101, "ü", "-leading", "a/b"):
        with pytest.raises(InvalidRequest) as caught:
            parsing.correlation_id(request(headers={"X-Correlation-Id": bad}))
        assert caught.value.status == 400
        assert caught.value.errors == {"X-Correlation-Id": [parsing.CORRELATION_RULE]}
    assert "leave the header out" in parsing.CORRELATION_RULE


def test_the_documented_correlation_pattern_is_the_enforced_one():
    doc = openapi.document(GatewayService)
    header = doc["components"]["parameters"]["X-Correlation-Id"]
    assert header["schema"]["pattern"] == parsing.CORRELATION_PATTERN.pattern
    pattern = re.compile(header["schema"]["pattern"])
    for value in ("a", "desk-7.north:3", "x" * 100, "x" * 101, "bad id", "_x"):
        documented = pattern.fullmatch(value) is not None
        try:
            parsing.correlation_id(request(headers={"X-Correlation-Id": value}))
            enforced = True
        except InvalidRequest:
            enforced = False
        assert documented == enforced, value


def test_a_json_body_must_be_an_object_of_json_within_the_limit():
    assert parsing.json_body(request(b'{"a": 1}'), 100) == {"a": 1}
    assert parsing.json_body(request(b"", content_type=""), 100) == {}
    with pytest.raises(PayloadTooLarge):
        parsing.json_body(request(b'{"a": "' + b"x" * 200 + b'"}'), 100)
    for raw in (b"{", b"[]", b"null", b'{"a": Infinity}', b"\xff"):
        with pytest.raises(MalformedBody):
            parsing.json_body(request(raw), 100)
    with pytest.raises(UnsupportedMediaType):
        parsing.json_body(request(b"a=1", content_type="application/x-www-form-urlencoded"), 100)
    assert parsing.json_body(request(b"{}", content_type="application/merge-patch+json"), 9) == {}


def test_a_roster_is_csv_text_or_json():
    raw = "name\n王\n".encode()
    csv = request(raw, content_type="text/csv; charset=utf-8")
    read = parsing.csv_or_json_body(csv, 100)
    assert read == {"csv": "name\n王\n", "command_id": parsing.file_command_id(raw)}
    assert parsing.file_command_id(raw) == parsing.file_command_id(bytes(raw))
    assert parsing.file_command_id(raw) != parsing.file_command_id(raw + b"\n")
    key = "0b9a3d52-6f1e-4a57-9a0e-2b1f4f6c8d11"
    keyed = request(raw, content_type="text/csv", headers={"Idempotency-Key": key})
    assert parsing.csv_or_json_body(keyed, 100)["command_id"] == key
    assert parsing.csv_or_json_body(request(b'{"csv": "x"}'), 100) == {"csv": "x"}
    with pytest.raises(UnsupportedMediaType):
        parsing.csv_or_json_body(request(b"x", content_type="text/plain"), 100)


def test_a_query_parameter_given_twice_is_refused():
    assert parsing.query_args(request(query="a=1&b=2")) == {"a": "1", "b": "2"}
    with pytest.raises(InvalidRequest) as caught:
        parsing.query_args(request(query="a=1&a=2"))
    assert list(caught.value.errors) == ["a"]


def test_schemas_refuse_unknown_fields_and_send_on_only_what_was_given_as_given():
    given = {"barcode": "C00000001", "patron_id": "P1", "campus": "north", "on": "2026-10-12"}
    assert parsing.check(s.LendBody(), given, "body") == given  # a date stays ISO text
    paid = {"amount": 39.5, "command_id": "0" * 32}
    assert parsing.check(s.PaymentBody(), paid, "body") == paid  # not "39.50", not a UUID
    with pytest.raises(InvalidRequest) as caught:
        parsing.check(s.LendBody(), {"barcode": "C1", "colour": "red"}, "body")
    assert {"colour", "patron_id"} <= set(caught.value.errors)
    # Left out, the campus is the gateway's desk's to fill in (tests/unit/test_campus.py).
    assert "campus" not in caught.value.errors
    assert parsing.check(s.OverdueQuery(), {"class": "G7-3"}, "query") == {"class": "G7-3"}


def test_an_http_default_is_sent_when_the_caller_leaves_the_field_out():
    assert parsing.check(s.ReferenceBody(), {}, "body") == {"reference_only": True}
    assert parsing.check(s.ReferenceBody(), {"reference_only": False}, "body") == {
        "reference_only": False
    }
    assert parsing.check(s.LeaderboardQuery(), {}, "query") == {"period": "week"}


# ------------------------------------------------------------------ the screens' files


def test_the_page_is_a_placeholder_until_the_screens_are_built(tmp_path):
    assert "not built yet (make web)" in static.dashboard(tmp_path).body
    (tmp_path / "index.html").write_text("<h1>Desk</h1>")
    assert static.dashboard(tmp_path).body == b"<h1>Desk</h1>"


def test_only_visible_files_inside_the_static_folder_are_served(tmp_path):
    (tmp_path / "js").mkdir()
    (tmp_path / "js" / "app.js").write_text("go()")
    (tmp_path / ".env").write_text("SECRET=1")
    served = static.static_file("js/app.js", tmp_path)
    assert served.body == b"go()" and "javascript" in served.content_type
    for name in ("../secret", "/etc/passwd", ".env", "js/../../x", "missing.css", "js"):
        with pytest.raises(NotFound):
            static.static_file(name, tmp_path)


def test_the_service_worker_may_keep_the_whole_site_and_no_other_file_says_so(tmp_path):
    (tmp_path / "sw.js").write_text("self.addEventListener('fetch', () => {});")
    (tmp_path / "js").mkdir()
    (tmp_path / "js" / "sw.js").write_text("not the worker")
    worker = static.static_file("sw.js", tmp_path)
    assert worker.headers["Service-Worker-Allowed"] == "/"  # registered with scope "/"
    assert worker.headers["Cache-Control"] == "no-cache"  # a new release: a new worker
    assert "javascript" in worker.content_type
    assert "Service-Worker-Allowed" not in static.static_file("js/sw.js", tmp_path).headers


# ------------------------------------------------------------------ the document


def test_every_route_declares_its_path_parameters_and_a_permission():
    names = set()
    for name, route in openapi.routes(GatewayService):
        names.add(name)
        in_rule = set(re.findall(r"<(?:[^<>:]+:)?(\w+)>", route.url))
        in_schema = set(route.path().fields) if route.path else set()
        assert in_rule == in_schema, f"{name}: rule {in_rule} != path schema {in_schema}"
        assert route.summary and route.tag and isinstance(route.allow, auth.Permission)
        assert all(
            right in RIGHTS for right in route.allow.rights if route.allow is not auth.SIGNED_IN
        )
        assert route.url == "/" or route.url.startswith(("/api/", "/static/", "/openapi"))
        # What the library publishes (leaderboards, the weekly bulletin, top titles) is public.
        published = ("sign_in", "leaderboard", "bulletin", "top_titles")
        if route.url.startswith("/api/") and name not in published:
            assert route.allow is not auth.PUBLIC, f"{name} needs a token"
    assert {"lend", "add_books", "status", "openapi", "dashboard"} <= names


def test_the_document_describes_money_as_text_and_every_operation_once():
    doc = openapi.document(GatewayService)
    price = doc["components"]["schemas"]["AddBooksBody"]["properties"]["price"]
    assert price["type"] == "string" and "minimum" not in price
    operation_ids = [
        operation["operationId"] for path in doc["paths"].values() for operation in path.values()
    ]
    assert len(operation_ids) == len(set(operation_ids)) > 40
    assert (
        openapi.openapi_path("/api/leaderboards/<any(a, b):board>") == "/api/leaderboards/{board}"
    )
    assert openapi.openapi_path("/static/<path:name>") == "/static/{name}"


def test_a_route_keeps_its_contract_when_nameko_binds_it():
    [prototype] = [e for e in GatewayService.lend.nameko_entrypoints if isinstance(e, Route)]
    bound = prototype.bind(Mock(shared_extensions={}), "lend")
    assert bound is not prototype and bound.spec == prototype.spec
    assert bound.spec.status == 201 and bound.spec.allow.rights == ("desk",)
    assert (bound.method, bound.url) == ("POST", "/api/loans")


def test_the_readme_shows_the_rights_table_as_the_code_has_it():
    readme = (Path(__file__).resolve().parents[2] / "services/gateway/README.md").read_text()
    assert markdown_table() in readme
