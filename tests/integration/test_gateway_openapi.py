"""The OpenAPI document is true: every route is in it, nothing else is, and real answers fit it."""

from __future__ import annotations

import re
from datetime import date

import pytest
from nameko.web.handlers import HttpRequestHandler

from tests.helpers import wait_until
from tests.integration.test_gateway import ALL_SERVICES, TITLE, TODAY, problem, start_gateway

RULE_PARAMETER = re.compile(r"<(?:[^<>:]+:)?(\w+)>")
METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


@pytest.fixture
def api(runner_factory, config):
    return start_gateway(runner_factory, config, *ALL_SERVICES)


def registered_routes(api):
    """(method, path template) of every HTTP entrypoint the running gateway serves."""
    [gateway] = [c for c in api.runner.containers if c.service_name == "gateway"]
    return {
        (method.lower(), RULE_PARAMETER.sub(r"{\1}", entrypoint.url))
        for entrypoint in gateway.entrypoints
        if isinstance(entrypoint, HttpRequestHandler)
        for method in entrypoint.method.split(",")
    }


def documented_routes(doc):
    return {
        (method, path)
        for path, operations in doc["paths"].items()
        for method in operations
        if method in METHODS
    }


def resolve(node, doc):
    while isinstance(node, dict) and "$ref" in node:
        target = doc
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def validate(value, schema, doc, where="$"):
    """Check ``value`` against an OpenAPI 3.0 schema (the parts the document uses)."""
    schema = resolve(schema, doc)
    if "anyOf" in schema:  # apispec's nullable nested object: [its schema, nullable object]
        options = schema["anyOf"]
        if value is None:
            assert any(resolve(o, doc).get("nullable") for o in options), f"{where} is null"
            return None
        described = [o for o in options if "$ref" in o or "properties" in o] or options
        failures = []
        for option in described:
            try:
                return validate(value, option, doc, where)
            except (AssertionError, ValueError) as failure:
                failures.append(str(failure))
        raise AssertionError(f"{where} fits none of its schemas: {failures}")
    if value is None:
        assert schema.get("nullable") or not schema, f"{where} is null"
        return
    kind = schema.get("type", "object" if "properties" in schema else None)
    if kind == "object":
        assert isinstance(value, dict), f"{where} is not an object: {value!r}"
        for name in schema.get("required", []):
            assert name in value, f"{where}.{name} is missing"
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            if key in properties:
                validate(item, properties[key], doc, f"{where}.{key}")
            elif isinstance(extra, dict):
                validate(item, extra, doc, f"{where}.{key}")
            else:
                assert extra is not False, f"{where}.{key} is not in the document"
    elif kind == "array":
        assert isinstance(value, list), f"{where} is not an array"
        for index, item in enumerate(value):
            validate(item, schema.get("items", {}), doc, f"{where}[{index}]")
    elif kind == "string":
        assert isinstance(value, str), f"{where} is not a string: {value!r}"
        if "enum" in schema:
            assert value in schema["enum"], f"{where}: {value!r} not in {schema['enum']}"
        if "pattern" in schema:
            assert re.search(schema["pattern"], value), f"{where}: {value!r} !~ {schema['pattern']}"
        if schema.get("format") == "date":
            date.fromisoformat(value)
    elif kind == "integer":
        assert isinstance(value, int) and not isinstance(value, bool), f"{where} not an integer"
    elif kind == "number":
        assert isinstance(value, int | float) and not isinstance(value, bool), (
            f"{where} not a number"
        )
    elif kind == "boolean":
        assert isinstance(value, bool), f"{where} is not a boolean"


def conforms(doc, method, template, response):
    """The response's status, media type and JSON body are as the document says."""
    operation = doc["paths"][template][method.lower()]
    assert str(response.status_code) in operation["responses"], (
        f"{method} {template} answered {response.status_code}, not in the document"
    )
    described = resolve(operation["responses"][str(response.status_code)], doc)
    media = response.headers["Content-Type"].split(";")[0]
    assert media in described["content"], f"{media} is not documented for {method} {template}"
    if media.endswith("json"):
        validate(response.json(), described["content"][media]["schema"], doc)
    return response


def test_the_document_is_served_without_a_token(api):
    answer = api.get("/openapi.json", role=None)
    assert answer.status_code == 200
    doc = answer.json()
    assert doc["openapi"].startswith("3.0")
    assert doc["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A role's token.",
    }
    assert {"Problem", "CopyReply", "Lent", "LendBody"} <= set(doc["components"]["schemas"])


def test_every_route_is_documented_and_every_documented_route_exists(api):
    doc = api.get("/openapi.json", role=None).json()
    registered, documented = registered_routes(api), documented_routes(doc)
    assert registered - documented == set(), "routes missing from the document"
    assert documented - registered == set(), "documented routes the gateway does not serve"
    assert len(registered) > 40
    for path, operations in doc["paths"].items():
        names = set(re.findall(r"{(\w+)}", path))
        for method, operation in operations.items():
            in_path = {p["name"] for p in operation["parameters"] if p.get("in") == "path"}
            assert in_path == names, f"{method} {path}: path parameters {in_path} != {names}"
            if path.startswith("/api/"):
                # Signing in, the leaderboards, the weekly bulletin and the top titles (the
                # library publishes them) need no token.
                public = (method, path) in {
                    ("post", "/api/sessions"),
                    ("get", "/api/leaderboards/{board}"),
                    ("get", "/api/bulletin"),
                    ("get", "/api/top-titles"),
                }
                assert operation["security"] == ([] if public else [{"bearer": []}])
                assert ({"503"} if public else {"401", "403", "503"}) <= set(operation["responses"])
            if "requestBody" in operation:
                assert {"400", "413", "415"} <= set(operation["responses"])


def test_real_answers_fit_the_document(api):
    doc = api.get("/openapi.json", role=None).json()
    added = conforms(doc, "POST", "/api/books", api.post("/api/books", {**TITLE, "copies": 2}))
    barcode = added.json()["barcodes"][0]
    conforms(doc, "GET", "/api/copies/{barcode}", api.get(f"/api/copies/{barcode}"))
    conforms(doc, "GET", "/api/books", api.get("/api/books", params={"q": "红楼"}))
    delivery = api.post("/api/books/batch", {"titles": [{**TITLE, "copies": 1}]})
    conforms(doc, "POST", "/api/books/batch", delivery)
    wait_until(
        lambda: api.get(f"/api/copies/{barcode}/availability").status_code == 200, timeout=15
    )
    conforms(
        doc,
        "GET",
        "/api/copies/{barcode}/availability",
        api.get(f"/api/copies/{barcode}/availability"),
    )

    teacher = {"name": "Ms Li", "kind": "teacher", "campus": "north"}
    issued = conforms(doc, "POST", "/api/cards", api.post("/api/cards", teacher))
    patron = issued.json()["patron_id"]
    lend = {"barcode": barcode, "patron_id": patron, "campus": "north", "on": TODAY.isoformat()}
    conforms(doc, "POST", "/api/loans", api.post("/api/loans", lend))
    conforms(doc, "POST", "/api/loans", api.post("/api/loans", lend))  # 409
    conforms(doc, "POST", "/api/loans", api.post("/api/loans", {"barcode": "?"}))  # 400
    conforms(doc, "POST", "/api/loans", api.post("/api/loans", lend, role=None))  # 401
    conforms(doc, "GET", "/api/patrons/{patron_id}/loans", api.get(f"/api/patrons/{patron}/loans"))
    elsewhere = {"barcode": barcode, "campus": "south", "on": TODAY.isoformat()}
    conforms(doc, "POST", "/api/returns", api.post("/api/returns", elsewhere))
    wait_until(lambda: api.get(f"/api/copies/{barcode}").json()["transit"] is not None, timeout=15)
    conforms(doc, "GET", "/api/copies/{barcode}", api.get(f"/api/copies/{barcode}"))
    wait_until(lambda: api.get(f"/api/copies/{barcode}/availability").json()["transit"], timeout=15)
    conforms(
        doc,
        "GET",
        "/api/copies/{barcode}/availability",
        api.get(f"/api/copies/{barcode}/availability"),
    )
    home = {"campus": "north"}
    received = api.post(f"/api/copies/{barcode}/receive", home)
    conforms(doc, "POST", "/api/copies/{barcode}/receive", received)
    again = api.post(f"/api/copies/{barcode}/receive", home)
    conforms(doc, "POST", "/api/copies/{barcode}/receive", again)  # 409
    conforms(doc, "GET", "/api/overdue", api.get("/api/overdue", params={"on": "2027-06-01"}))
    conforms(doc, "GET", "/api/clearance", api.get("/api/clearance", params={"grade": "G7"}))
    roster = {"csv": "name,kind,class,campus\nA,student,G7-1,north\nB,pupil,G7-1,north\n"}
    conforms(doc, "POST", "/api/cards/import", api.post("/api/cards/import", roster))

    conforms(doc, "GET", "/api/status", api.get("/api/status"))
    board = api.get("/api/leaderboards/classes", params={"period": "term", "on": "2026-10-12"})
    conforms(doc, "GET", "/api/leaderboards/{board}", board)
    conforms(doc, "GET", "/api/ledgers/general", api.get("/api/ledgers/general"))
    conforms(doc, "GET", "/api/ledgers/writeoffs", api.get("/api/ledgers/writeoffs"))

    def staff_loans():
        table = api.get("/api/registers/staff_loans").json()
        return table["rows"] and table

    wait_until(staff_loans, timeout=15, what="the teacher's loan to reach the register")
    conforms(doc, "GET", "/api/registers/{name}", api.get("/api/registers/staff_loans"))
    as_csv = api.get("/api/registers/staff_loans", headers={"Accept": "text/csv"})
    conforms(doc, "GET", "/api/registers/{name}", as_csv)
    feed = api.get("/api/events", params={"source": "circulation"})
    assert feed.json()["events"]
    conforms(doc, "GET", "/api/events", feed)

    pile = {"patron_id": patron, "campus": "north", "barcodes": [barcode, "C99999999"]}
    conforms(doc, "POST", "/api/loans/bulk", api.post("/api/loans/bulk", pile))  # 201, 1 refused
    conforms(doc, "POST", "/api/loans/bulk", api.post("/api/loans/bulk", pile))  # 409 nothing_lent
    bad_header = api.get("/api/books", headers={"X-Correlation-Id": "not valid!"})
    conforms(doc, "GET", "/api/books", bad_header)  # 400


def test_every_documented_query_bound_is_taken_and_one_past_it_refused_by_the_services(api):
    """Probe each GET operation's integer parameters at the documented bounds, and one past."""
    doc = api.get("/openapi.json", role=None).json()
    probed = set()
    for template, operations in doc["paths"].items():
        operation = operations.get("get")
        if not operation or not template.startswith("/api/"):
            continue
        if template == "/api/labels":  # start's bound is the layout's; probed in test_labels
            continue
        query = [p for p in operation["parameters"] if p.get("in") == "query"]
        required = {p["name"]: p["schema"]["enum"][0] for p in query if p.get("required")}
        path = template.replace("{board}", "students").replace("{name}", "staff_loans")
        for parameter in query:
            bounds = parameter["schema"]
            if bounds.get("type") != "integer":
                continue
            name = parameter["name"]
            assert "minimum" in bounds and "maximum" in bounds, f"{template} {name} is unbounded"
            for value in (bounds["minimum"], bounds["maximum"]):
                answer = api.get(path, params={**required, name: str(value)})
                assert answer.status_code == 200, (template, name, value, answer.text)
            for value in (bounds["minimum"] - 1, bounds["maximum"] + 1):
                refused = problem(api.get(path, params={**required, name: str(value)}), 400)
                assert list(refused["errors"]) == [name], (template, name, value)
            probed.add((template, name))
    assert {
        ("/api/books", "limit"),
        ("/api/books", "offset"),
        ("/api/events", "after"),
        ("/api/events", "limit"),
        ("/api/leaderboards/{board}", "limit"),
        ("/api/registers/{name}", "limit"),
        ("/api/registers/{name}", "offset"),
    } <= probed


def test_the_checker_itself_catches_answers_that_do_not_fit():
    doc = {
        "components": {
            "schemas": {
                "Copy": {
                    "type": "object",
                    "properties": {
                        "barcode": {"type": "string"},
                        "due_on": {"type": "string", "format": "date", "nullable": True},
                        "copies": {"type": "array", "items": {"type": "integer"}},
                    },
                    "required": ["barcode"],
                    "additionalProperties": False,
                }
            }
        }
    }
    copy = {"$ref": "#/components/schemas/Copy"}
    validate({"barcode": "C1", "due_on": None, "copies": [1, 2]}, copy, doc)
    maybe = {"anyOf": [copy, {"type": "object", "nullable": True}]}
    validate(None, maybe, doc)
    validate({"barcode": "C1"}, maybe, doc)
    with pytest.raises(AssertionError):
        validate({"barcode": 1}, maybe, doc)
    for wrong in (
        {},
        {"barcode": 1},
        {"barcode": "C1", "due_on": "soon"},
        {"barcode": "C1", "copies": [True]},
        {"barcode": "C1", "colour": "red"},
    ):
        with pytest.raises((AssertionError, ValueError)):
            validate(wrong, copy, doc)
