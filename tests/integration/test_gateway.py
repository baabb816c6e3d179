"""The HTTP gateway over the real services, RabbitMQ and PostgreSQL, driven with ``requests``."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest
import requests
from kombu import Connection, Exchange, Queue
from nameko.standalone.rpc import ServiceRpcProxy

from services.accounts.service import AccountsService
from services.activities.service import ActivitiesService
from services.archives.service import ArchivesService
from services.catalog.service import CatalogService
from services.circulation.service import CirculationService
from services.gateway.service import GatewayService
from services.sip2.service import Sip2Service
from tests.factories import book_added
from tests.helpers import free_port, wait_until, with_sip2_listener

PROBLEM = "application/problem+json"
JSON_TYPE = {"Content-Type": "application/json"}
TITLE = {k: v for k, v in book_added().items() if k not in ("barcode", "acquisition")}
TODAY = date(2026, 10, 12)
ALL_SERVICES = (
    CatalogService,
    CirculationService,
    ActivitiesService,
    ArchivesService,
    AccountsService,
)


class Api:
    """The gateway as a client sees it: a base URL and a token per role."""

    def __init__(self, base: str, tokens: dict[str, str], runner=None):
        self.base = base
        self.tokens = tokens
        self.runner = runner

    def call(self, method, path, role="librarian", headers=None, **kwargs):
        headers = dict(headers or {})
        if role is not None:
            headers["Authorization"] = f"Bearer {self.tokens[role]}"
        return requests.request(method, self.base + path, headers=headers, timeout=30, **kwargs)

    def get(self, path, role="librarian", **kwargs):
        return self.call("GET", path, role, **kwargs)

    def post(self, path, body=None, role="librarian", **kwargs):
        if body is not None:
            kwargs["json"] = body
        return self.call("POST", path, role, **kwargs)

    # what a desk does, asserting it worked

    def add_books(self, copies=1, **title):
        answer = self.post("/api/books", {**TITLE, **title, "copies": copies})
        assert answer.status_code == 201, answer.text
        barcodes = answer.json()["barcodes"]
        wait_until(
            lambda: self.get(f"/api/copies/{barcodes[-1]}/availability").status_code == 200,
            timeout=15,
            what="circulation to know the copy",
        )
        return barcodes

    def card(self, name="李雷", kind="student", class_name="G7-3", **extra):
        body = {"name": name, "kind": kind, "campus": "north", **extra}
        if class_name:
            body["class"] = class_name
        answer = self.post("/api/cards", body, role="assistant")
        assert answer.status_code == 201, answer.text
        return answer.json()["patron_id"]

    def lend(self, barcode, patron_id, role="assistant", on=TODAY):
        body = {"barcode": barcode, "patron_id": patron_id, "campus": "north"}
        return self.post("/api/loans", {**body, "on": on.isoformat()}, role=role)


def start_gateway(runner_factory, config, *services, **gateway_settings) -> Api:
    port = free_port()
    settings = {**config, "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}"}
    settings["GATEWAY"] = {**config["GATEWAY"], **gateway_settings}
    runner = runner_factory(settings, GatewayService, *services)
    runner.start()
    return Api(f"http://127.0.0.1:{port}", settings["GATEWAY"]["tokens"], runner)


@pytest.fixture
def api(runner_factory, config):
    return start_gateway(runner_factory, config, *ALL_SERVICES)


def problem(response, status):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"] and body["type"]
    assert "Traceback" not in response.text
    return body


# ------------------------------------------------------------------ the desk's day


def test_a_librarian_catalogues_books_and_an_assistant_lends_one(api):
    answer = api.post("/api/books", {**TITLE, "copies": 2})
    assert answer.status_code == 201
    barcodes = answer.json()["barcodes"]
    assert len(barcodes) == 2

    copy = api.get(f"/api/copies/{barcodes[0]}", role="reader")
    assert copy.status_code == 200 and copy.json()["title"] == TITLE["title"]
    found = api.get("/api/books", role="reader", params={"q": "红楼", "campus": "north"})
    assert found.json()["total"] == 2

    wait_until(
        lambda: api.get(f"/api/copies/{barcodes[0]}/availability").status_code == 200,
        timeout=15,
    )
    patron = api.card()
    lent = api.lend(barcodes[0], patron)
    assert lent.status_code == 201, lent.text
    loan = lent.json()
    assert loan["loan_id"] and loan["due_on"] == (TODAY + timedelta(days=14)).isoformat()

    again = api.lend(barcodes[0], api.card(name="韩梅梅"))
    refused = problem(again, 409)
    assert refused["code"] == "copy_on_loan" and "already on loan" in refused["detail"]


def test_the_life_of_a_loan_over_http(api):
    [barcode] = api.add_books()
    patron = api.card()
    loan = api.lend(barcode, patron).json()

    on = {"on": TODAY.isoformat()}
    renewed = api.post(f"/api/loans/{loan['loan_id']}/renew", on, role="assistant")
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["due_on"] == (TODAY + timedelta(days=28)).isoformat()
    again = api.post(f"/api/loans/{loan['loan_id']}/renew", on, role="assistant")
    assert problem(again, 409)["code"] == "already_renewed"

    loans = api.get(f"/api/patrons/{patron}/loans", role="assistant").json()
    assert [item["barcode"] for item in loans["loans"]] == [barcode]

    desk = {"barcode": barcode, "campus": "north", "on": TODAY.isoformat()}
    back = api.post("/api/returns", desk, role="assistant")
    assert back.status_code == 200 and back.json()["loan_id"] == loan["loan_id"]
    assert api.get(f"/api/patrons/{patron}/loans", role="assistant").json()["loans"] == []
    assert problem(api.post("/api/returns", desk), 409)["code"] == "not_on_loan"


def test_a_lost_copy_is_declared_by_the_librarian_and_paid_for(api):
    [barcode] = api.add_books()
    loan = api.lend(barcode, api.card()).json()

    problem(api.post(f"/api/loans/{loan['loan_id']}/lost", role="assistant"), 403)
    lost = api.post(f"/api/loans/{loan['loan_id']}/lost")
    assert lost.status_code == 200 and lost.json()["replacement_cost"] == TITLE["price"]
    too_much = api.post(f"/api/loans/{loan['loan_id']}/payment", {"amount": "99999.00"})
    assert problem(too_much, 409)["code"] == "overpayment"
    paid = api.post(f"/api/loans/{loan['loan_id']}/payment", {"amount": TITLE["price"]})
    assert paid.status_code == 200 and paid.json()["amount"] == TITLE["price"]
    assert paid.json()["balance"] == "0.00"
    problem(api.post("/api/loans/L-nothing/renew", role="assistant"), 404)


def test_a_delivery_of_titles_is_catalogued_in_one_command(api):
    second = {**TITLE, "isbn": "978-7-5321-7101-9", "title": "平凡的世界", "copies": 3}
    delivery = {"titles": [{**TITLE, "copies": 2}, second]}
    answer = api.post("/api/books/batch", delivery)
    assert answer.status_code == 201, answer.text
    assert [len(title["barcodes"]) for title in answer.json()["titles"]] == [2, 3]
    assert api.get("/api/books", role="reader").json()["total"] == 5
    nested = problem(api.post("/api/books/batch", {"titles": [{**TITLE, "shelf": ""}]}), 400)
    assert "shelf" in nested["errors"]["titles"]["0"]


def test_a_copy_is_damaged_repaired_transferred_made_reference_only_and_weeded(api):
    [barcode] = api.add_books()
    assert api.post(f"/api/copies/{barcode}/damage", {"note": "torn"}).json()["status"] == (
        "damaged"
    )
    assert problem(api.post(f"/api/copies/{barcode}/damage"), 409)["code"]
    assert api.post(f"/api/copies/{barcode}/repair").json()["status"] == "on_shelf"
    moved = api.post(f"/api/copies/{barcode}/transfer", {"to_campus": "south", "shelf": "S-1"})
    assert moved.json()["campus"] == "south"
    assert api.post(f"/api/copies/{barcode}/reference").json()["reference_only"] is True
    weeded = api.post(f"/api/copies/{barcode}/weed", {"reason": "outdated"})
    assert weeded.json()["status"] == "weeded"
    problem(api.get("/api/copies/C99999999", role="reader"), 404)


def test_cards_are_issued_one_by_one_or_from_a_roster_with_bad_rows_reported(api):
    roster = "name,kind,class,campus\n王芳,student,G8-1,north\n,student,G8-1,north\n"
    imported = api.post(
        "/api/cards/import", data=roster.encode(), role="assistant",
        headers={"Content-Type": "text/csv"},
    )  # fmt: skip
    assert imported.status_code == 201, imported.text
    answer = imported.json()
    assert [row["name"] for row in answer["issued"]] == ["王芳"]
    assert answer["errors"][0]["line"] == 3 and "name" in answer["errors"][0]["errors"]

    as_json = api.post("/api/cards/import", {"csv": "name,kind,class,campus\n"}, role="assistant")
    assert as_json.status_code == 200 and as_json.json()["issued"] == []
    no_header = api.post("/api/cards/import", {"csv": "who,what\nx,y\n"}, role="assistant")
    assert "csv" in problem(no_header, 400)["errors"]

    # Over the 1 MB of other routes, under the roster's 2 MB: accepted.
    padded = roster + "\n" * 1_200_000
    big = api.post(
        "/api/cards/import", data=padded.encode(), role="assistant",
        headers={"Content-Type": "text/csv"},
    )  # fmt: skip
    assert big.status_code in (200, 201), big.text

    patron = api.card(name="张伟")
    blocked = api.post(f"/api/cards/{patron}/block", {"reason": "lost card"}, role="assistant")
    assert blocked.json()["status"] == "blocked"
    assert api.post(f"/api/cards/{patron}/unblock", role="assistant").json()["status"] == "active"
    assert api.get(f"/api/cards/{patron}", role="assistant").json()["name"] == "张伟"


def test_overdue_lists_and_clearance(api):
    [barcode] = api.add_books()
    patron = api.card(class_name="G9-3")
    api.lend(barcode, patron, on=TODAY - timedelta(days=60))
    on = TODAY.isoformat()
    overdue = api.get("/api/overdue", role="assistant", params={"class": "G9-3", "on": on}).json()
    assert [c["class_name"] for c in overdue["classes"]] == ["G9-3"]
    cleared = api.get("/api/clearance", role="assistant", params={"grade": "G9"}).json()
    assert cleared["patrons"] == 1 and cleared["outstanding"][0]["patron_id"] == patron
    both = api.get("/api/clearance", role="assistant", params={"grade": "G9", "class": "G9-3"})
    assert "grade" in problem(both, 400)["errors"]
    assert "class" in problem(api.get("/api/overdue", params={"class": "9-3"}), 400)["errors"]


# ------------------------------------------------------------------ bad input never a 500


def test_bad_input_is_a_400_naming_every_offending_field(api):
    bad = problem(api.post("/api/loans", {"barcode": "!", "campus": "west"}), 400)
    assert {"barcode", "campus", "patron_id"} <= set(bad["errors"])

    unknown = problem(api.post("/api/books", {**TITLE, "colour": "red"}), 400)
    assert list(unknown["errors"]) == ["colour"]
    assert "isbn" in problem(api.post("/api/books", {**TITLE, "isbn": "123"}), 400)["errors"]
    query = problem(api.get("/api/books", params={"limit": "lots", "sort": "x"}), 400)
    assert set(query["errors"]) == {"limit", "sort"}
    assert "barcode" in problem(api.get("/api/copies/bad%20code"), 400)["errors"]


def test_absurd_values_are_a_400_not_a_fault_deep_in_a_service(api):
    for field, value in [
        ("title", "a\u0000b"),
        ("author", "\ud800"),
        ("price", "1e12"),
        ("price", -1),
        ("copies", 10**30),
    ]:
        answer = api.post("/api/books", {**TITLE, field: value})
        assert field in problem(answer, 400)["errors"], (field, value)
    lend = {"barcode": "C00000001", "patron_id": "P1", "campus": "north", "on": "9999-12-31"}
    assert "on" in problem(api.post("/api/loans", lend), 400)["errors"]
    assert "offset" in problem(api.get("/api/books", params={"offset": 10**30}), 400)["errors"]
    feed = {"source": "catalog", "after": 10**30}
    assert "after" in problem(api.get("/api/events", params=feed), 400)["errors"]
    assert "q" in problem(api.get("/api/books", params={"q": "\x00"}), 400)["errors"]
    odd_key = api.post("/api/cards", data=b'{"\\ud800": 1}', headers=JSON_TYPE)
    problem(odd_key, 400)
    problem(api.post("/api/cards", data=b"[" * 100_000, headers=JSON_TYPE), 400)
    assert api.get("/api/books", role="reader").json()["total"] == 0


def test_malformed_bodies_are_refused_before_any_service_sees_them(api):
    def send(data, content_type="application/json"):
        return api.post("/api/cards", data=data, headers={"Content-Type": content_type})

    problem(send(b'{"name": "x",'), 400)
    problem(send(b"[1, 2]"), 400)
    problem(send(b'{"name": NaN}'), 400)
    problem(send(b"\xff\xfe"), 400)
    problem(send(b"name=x", "application/x-www-form-urlencoded"), 415)
    problem(send(b"{}", "text/plain"), 415)


def test_an_oversized_body_is_a_413(api):
    huge = json.dumps({**TITLE, "title": "x" * (1024 * 1024 + 10)})
    answer = api.post("/api/books", data=huge, headers={"Content-Type": "application/json"})
    problem(answer, 413)
    roster = "name,kind,class,campus\n" + "\n" * (2 * 1024 * 1024 + 1)
    answer = api.post(
        "/api/cards/import", data=roster, role="assistant", headers={"Content-Type": "text/csv"}
    )
    problem(answer, 413)


def test_sql_and_html_looking_text_is_stored_and_answered_verbatim(api):
    title, author = "'); DROP TABLE events;--", "<script>alert(1)</script>"
    [barcode] = api.add_books(title=title, author=author)
    copy = api.get(f"/api/copies/{barcode}", role="reader")
    assert copy.headers["Content-Type"].startswith("application/json")
    assert copy.headers["X-Content-Type-Options"] == "nosniff"
    assert copy.json()["title"] == title and copy.json()["author"] == author
    assert author in copy.text  # plain JSON text, not escaped into something else
    found = api.get("/api/books", role="reader", params={"q": "DROP TABLE"}).json()
    assert [item["barcode"] for item in found["items"]] == [barcode]
    assert api.get("/api/books", role="reader").json()["total"] == 1


def test_numbers_are_strict_a_fraction_or_odd_digits_are_a_400_naming_the_field(api):
    for field, value, words in [
        ("copies", 1.5, "without a fraction"),
        ("copies", "5_0", "digits 0-9"),
        ("copies", True, "not true or false"),
        ("price", "0.005", "At most 2 decimal places"),
        ("price", 0.001, "At most 2 decimal places"),
        ("price", "３９.50", "digits 0-9"),
    ]:
        refused = problem(api.post("/api/books", {**TITLE, field: value}), 400)
        assert list(refused["errors"]) == [field], (field, value)
        assert words in refused["errors"][field][0] and field in refused["detail"]
    for name, value in [("limit", "５"), ("limit", "1_0"), ("offset", "٣"), ("offset", "2.0")]:
        refused = problem(api.get("/api/books", role="reader", params={name: value}), 400)
        assert "digits 0-9" in refused["errors"][name][0], (name, value)
    assert api.get("/api/books", role="reader").json()["total"] == 0  # nothing catalogued
    assert len(api.add_books(copies=2.0)) == 2  # a whole number written as a float is taken
    assert api.get("/api/books", role="reader", params={"limit": "1"}).json()["total"] == 2


def test_a_class_is_written_class_in_json_csv_and_queries_and_class_name_is_refused(api):
    card = {"name": "李雷", "kind": "student", "campus": "north"}
    issued = api.post("/api/cards", {**card, "class": "G7-3"}, role="assistant")
    assert issued.status_code == 201 and issued.json()["class_name"] == "G7-3"
    old = problem(api.post("/api/cards", {**card, "class_name": "G7-3"}, role="assistant"), 400)
    assert old["errors"] == {"class_name": ["Unknown field: use 'class'."]}
    wrong = problem(api.post("/api/cards", {**card, "class": "7-3"}, role="assistant"), 400)
    assert list(wrong["errors"]) == ["class"]

    roster = "name,kind,class,campus\n王芳,student,9-3,north\n张伟,student,G8-1,north\n"
    imported = api.post(
        "/api/cards/import", data=roster.encode(), role="assistant",
        headers={"Content-Type": "text/csv"},
    ).json()  # fmt: skip
    assert [row["name"] for row in imported["issued"]] == ["张伟"]
    [error] = imported["errors"]
    assert error["line"] == 2 and list(error["errors"]) == ["class"]
    assert "'9-3' is not a class" in error["errors"]["class"][0]
    misnamed = api.post("/api/cards/import", {"csv": "name,kind,class_name,campus\n"})
    assert "'class', not 'class_name'" in problem(misnamed, 400)["detail"]

    by_class = api.get("/api/overdue", role="assistant", params={"class": "G7-3"})
    assert by_class.status_code == 200, by_class.text
    for path in ("/api/overdue", "/api/clearance"):
        old_query = problem(api.get(path, role="assistant", params={"class_name": "G7-3"}), 400)
        assert old_query["errors"]["class_name"] == ["Unknown field: use 'class'."]


def test_a_correlation_id_that_breaks_the_documented_pattern_is_a_400(api):
    pattern = api.get("/openapi.json", role=None).json()["components"]["parameters"][
        "X-Correlation-Id"
    ]["schema"]["pattern"]
    for bad in ("bad id!", "x" * 101, "<script>", "-starts-with-a-dash"):
        assert not re.fullmatch(pattern, bad)
        answer = api.get("/api/books", role="reader", headers={"X-Correlation-Id": bad})
        refused = problem(answer, 400)
        assert list(refused["errors"]) == ["X-Correlation-Id"]
        assert "letters, digits" in refused["errors"]["X-Correlation-Id"][0]
        assert answer.headers["X-Correlation-Id"] == refused["correlation_id"] != bad
    unknown = api.get("/api/nothing-here", headers={"X-Correlation-Id": "bad id!"})
    assert "X-Correlation-Id" in problem(unknown, 400)["errors"]
    kept = api.get("/api/books", role="reader", headers={"X-Correlation-Id": "x" * 100})
    assert kept.status_code == 200 and kept.headers["X-Correlation-Id"] == "x" * 100


def test_a_bulk_lend_that_lends_nothing_is_a_409_listing_each_refusal(api):
    first, second = api.add_books(copies=2)
    corner = api.card(name="G7-3 图书角", kind="class_corner")
    other = api.card(name="韩梅梅")
    assert api.lend(first, other).status_code == 201
    pile = {"patron_id": corner, "campus": "north", "on": TODAY.isoformat()}

    none = api.post("/api/loans/bulk", {**pile, "barcodes": [first, "C99999999"]}, role="assistant")
    refused = problem(none, 409)
    assert refused["code"] == "nothing_lent" and "No copy was lent" in refused["detail"]
    assert [(r["barcode"], r["code"]) for r in refused["refused"]] == [
        (first, "copy_on_loan"),
        ("C99999999", "unknown_copy"),
    ]
    assert all(r["reason"] for r in refused["refused"])

    some = api.post("/api/loans/bulk", {**pile, "barcodes": [first, second]}, role="assistant")
    assert some.status_code == 201, some.text
    assert [loan["barcode"] for loan in some.json()["loans"]] == [second]
    assert [r["barcode"] for r in some.json()["refused"]] == [first]


def test_a_roster_up_to_circulations_limit_passes_the_gateway_and_is_imported(api):
    header = "name,kind,class,campus\n王芳,student,G8-1,north\n"
    exactly = header + "\n" * (2 * 1024 * 1024 - len(header.encode()))
    answer = api.post(
        "/api/cards/import", data=exactly.encode(), role="assistant",
        headers={"Content-Type": "text/csv"},
    )  # fmt: skip
    assert answer.status_code == 201, answer.text
    assert [row["name"] for row in answer.json()["issued"]] == ["王芳"]


# ------------------------------------------------------------------ who may call what


def test_tokens_and_roles(api):
    missing = api.get("/api/books", role=None)
    problem(missing, 401)
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = api.get("/api/books", role=None, headers={"Authorization": "Bearer nope"})
    assert 'error="invalid_token"' in wrong.headers["WWW-Authenticate"]
    problem(wrong, 401)
    basic = api.get("/api/books", role=None, headers={"Authorization": "Basic eDp5"})
    problem(basic, 401)

    problem(api.post("/api/loans", {"barcode": "C1", "patron_id": "P1"}, role="reader"), 403)
    problem(api.post("/api/books", TITLE, role="assistant"), 403)
    problem(api.get("/api/books", role="operator"), 403)
    refused = problem(api.post("/api/books", TITLE, role="assistant"), 403)
    assert refused["code"] == "missing_right" and refused["right"] == "collection.manage"
    problem(api.get("/api/overdue", role="reader"), 403)
    problem(api.get("/api/status", role="reader"), 403)
    assert api.get("/api/books", role="reader").status_code == 200
    assert api.get("/api/ledgers/general", role="reader").status_code == 200
    assert api.get("/api/overdue", role="assistant").status_code == 200

    assert api.get("/", role=None).status_code == 200
    assert api.get("/openapi.json", role=None).status_code == 200


def test_unknown_routes_and_methods_are_problems_too(api):
    problem(api.get("/api/nothing-here"), 404)
    problem(api.get("/api/leaderboards/teachers", role="reader"), 404)
    not_allowed = problem(api.call("DELETE", "/api/books"), 405)
    assert "GET" in not_allowed["detail"]
    problem(api.get("/static/../service.py", role=None), 404)


# ------------------------------------------------------------------ correlation and read side


def test_the_correlation_id_reaches_the_events_and_the_replay_feed(api):
    sent = api.post("/api/books", {**TITLE, "copies": 2}, headers={"X-Correlation-Id": "desk-42"})
    assert sent.headers["X-Correlation-Id"] == "desk-42"
    generated = api.get("/api/books", role="reader")
    assert generated.headers["X-Correlation-Id"] not in ("", "desk-42")

    def feed():
        page = api.get("/api/events", role="reader", params={"source": "catalog"}).json()
        return len(page["events"]) == 2 and page

    page = wait_until(feed, timeout=15, what="the archive to hold the catalog's events")
    assert [e["position"] for e in page["events"]] == [1, 2] and page["next_after"] == 2
    assert {e["correlation_id"] for e in page["events"]} == {"desk-42"}
    assert {e["type"] for e in page["events"]} == {"BookAdded"}
    after = api.get("/api/events", role="reader", params={"source": "catalog", "after": 2})
    assert after.json()["events"] == [] and after.json()["next_after"] == 2
    problem(api.get("/api/events", role="reader", params={"source": "library"}), 400)


def test_registers_as_json_or_csv_and_the_ledgers(api):
    api.add_books(copies=3)

    def purchases():  # all three copies registered (they arrive as three events)
        table = api.get("/api/registers/purchases", role="reader").json()
        copies = table["columns"].index("copies")
        return table["rows"] and table["rows"][0][copies] == 3 and table

    table = wait_until(purchases, timeout=15, what="the purchase to be registered")
    assert table["name"] == "purchases" and table["columns"][0] == "purchased_on"
    as_csv = api.get("/api/registers/purchases", role="reader", headers={"Accept": "text/csv"})
    assert as_csv.status_code == 200 and as_csv.headers["Content-Type"].startswith("text/csv")
    assert as_csv.content.decode("utf-8-sig").splitlines()[0].startswith("购入日期,ISBN,书名")
    assert TITLE["title"] in as_csv.text
    assert api.get("/api/registers/purchases?format=csv", role="reader").text == as_csv.text
    assert "purchases" in api.get("/api/registers", role="reader").json()["registers"]
    problem(api.get("/api/registers/gossip", role="reader"), 400)

    general = api.get("/api/ledgers/general", role="reader", params={"campus": "north"}).json()
    assert general["lines"][-1]["campus"] == "all" and general["lines"][-1]["held"] == 3
    by_class = api.get("/api/ledgers/classification", role="reader").json()
    assert by_class["lines"][0]["class_letter"] == "I"
    writeoffs = api.get("/api/ledgers/writeoffs", role="reader").json()
    assert writeoffs["rows"] == [] and writeoffs["by_reason"] == {}


def test_leaderboards_by_student_class_and_campus(api):
    [barcode] = api.add_books()
    api.lend(barcode, api.card())
    term = {"period": "term", "on": TODAY.isoformat()}
    for board in ("students", "classes", "campuses"):
        answer = api.get(f"/api/leaderboards/{board}", role="reader", params=term)
        assert answer.status_code == 200, answer.text
        assert answer.json()["period"] == "term" and answer.json()["name"] == "2026-autumn"
    week = api.get("/api/leaderboards/classes", role="reader").json()
    assert week["period"] == "week" and week["scope"] == "class"
    problem(api.get("/api/leaderboards/students", role="reader", params={"period": "year"}), 400)


def test_status_reports_every_service(runner_factory, config):
    api = start_gateway(runner_factory, with_sip2_listener(config), *ALL_SERVICES, Sip2Service)
    with ServiceRpcProxy("gateway", config, timeout=10) as gateway:
        assert gateway.health()["service"] == "gateway"  # what infra/services.sh waits for
    answer = api.get("/api/status", role="operator")
    assert answer.status_code == 200
    report = answer.json()
    assert report["status"] == "ok"
    services = {service["service"]: service for service in report["services"]}
    assert set(services) == {"catalog", "circulation", "activities", "archives", "accounts", "sip2"}
    assert all(s["up"] and s["health"]["service"] == name for name, s in services.items())
    assert isinstance(services["archives"]["projection_lag"], list)


def test_a_service_that_is_down_is_reported_down_and_its_routes_answer_503(runner_factory, config):
    # activities is not running: its queue does not exist (UnknownService); archives'
    # queue exists but nobody consumes it, so the gateway times out.
    api = start_gateway(
        runner_factory, config, CatalogService, CirculationService,
        rpc_timeout=2, status_timeout=1,
    )  # fmt: skip
    with Connection(config["AMQP_URI"]) as connection:
        exchange = Exchange("nameko-rpc", type="topic", durable=True)
        Queue("rpc-archives", exchange, routing_key="archives.*", durable=True)(
            connection.default_channel
        ).declare()

    def report():
        answer = api.get("/api/status", role="operator").json()
        services = {service["service"]: service for service in answer["services"]}
        # the running ones may be slow to answer their first calls
        return services["catalog"]["up"] and services["circulation"]["up"] and (answer, services)

    report, services = wait_until(report, timeout=30, what="catalog and circulation to be up")
    assert report["status"] == "degraded"
    assert not services["activities"]["up"] and "not running" in services["activities"]["error"]
    assert not services["archives"]["up"] and "did not answer" in services["archives"]["error"]

    down = api.get("/api/leaderboards/students", role="reader")
    assert problem(down, 503)["detail"] and down.headers["Retry-After"]
    problem(api.get("/api/ledgers/general", role="reader"), 503)
    assert api.get("/api/books", role="reader").status_code == 200
