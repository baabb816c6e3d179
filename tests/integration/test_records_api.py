"""The records screens' API: a register a page at a time (its CSV whole), and the terms of
the school calendar with the current one and those the archives closed."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from tests.helpers import wait_until
from tests.integration.test_gateway import ALL_SERVICES, problem, start_gateway
from tests.integration.test_gateway_openapi import conforms

PRICES = ("10.00", "11.00", "12.00", "13.00", "14.00")


@pytest.fixture
def api(runner_factory, config):
    return start_gateway(runner_factory, config, *ALL_SERVICES)


def page(api, **params):
    answer = api.get("/api/registers/purchases", role="reader", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_register_is_read_a_page_at_a_time_and_exported_whole(api):
    for price in PRICES:  # a purchase line per price
        api.add_books(copies=1, price=price)
    wait_until(lambda: page(api)["total"] == len(PRICES), timeout=15, what="five purchase lines")
    whole = page(api)
    assert (whole["limit"], whole["offset"], len(whole["rows"])) == (200, 0, len(PRICES))
    price = whole["columns"].index("unit_price")
    assert [row[price] for row in whole["rows"]] == list(PRICES)  # the register's order

    first, second, third = (page(api, limit=2, offset=offset) for offset in (0, 2, 4))
    assert [first["total"], second["total"], third["total"]] == [len(PRICES)] * 3
    assert first["rows"] + second["rows"] + third["rows"] == whole["rows"]
    assert (len(third["rows"]), third["offset"], third["limit"]) == (1, 4, 2)
    beyond = page(api, limit=2, offset=10)
    assert beyond["rows"] == [] and beyond["total"] == len(PRICES)
    assert page(api, limit=1000)["rows"] == whole["rows"]
    assert page(api, since="2000-01-01", limit=1)["total"] == len(PRICES)
    assert page(api, campus="south")["total"] == 0

    for bad in ({"limit": 0}, {"limit": 1001}, {"offset": -1}, {"limit": "many"}):
        refused = problem(api.get("/api/registers/purchases", role="reader", params=bad), 400)
        assert list(refused["errors"]) == list(bad)

    # CSV is the whole register whatever the page asked.
    as_csv = api.get(
        "/api/registers/purchases",
        role="reader",
        params={"limit": 1, "offset": 3},
        headers={"Accept": "text/csv"},
    )
    assert as_csv.status_code == 200 and as_csv.headers["Content-Type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert lines[0][:2] == ["购入日期", "ISBN"] and len(lines) == 1 + len(PRICES)

    doc = api.get("/openapi.json", role=None).json()
    conforms(doc, "GET", "/api/registers/{name}", api.get("/api/registers/purchases?limit=2"))


def test_the_terms_of_the_calendar_with_the_current_one_and_those_closed(api, config):
    answer = api.get("/api/terms", role="reader")
    assert answer.status_code == 200, answer.text
    listed = answer.json()
    calendar = config["SCHOOL"]["terms"]
    assert [t["term"] for t in listed["terms"]] == [str(t["name"]) for t in calendar]
    today = date.fromisoformat(listed["today"])
    for term, configured in zip(listed["terms"], calendar, strict=True):
        assert term["name"] == term["term"]
        assert (term["from"], term["to"]) == (str(configured["starts"]), str(configured["ends"]))
        starts, ends = date.fromisoformat(term["from"]), date.fromisoformat(term["to"])
        assert term["current"] == (starts <= today <= ends)
        assert (term["closed"], term["closed_on"]) == (False, None)
    assert sum(term["current"] for term in listed["terms"]) <= 1

    closing = api.post("/api/terms/2026-autumn/close", {"on": "2027-01-23"})
    assert closing.status_code == 200, closing.text
    terms = {t["term"]: t for t in api.get("/api/terms", role="reader").json()["terms"]}
    assert (terms["2026-autumn"]["closed"], terms["2026-autumn"]["closed_on"]) == (
        True,
        "2027-01-23",
    )
    assert not terms["2027-spring"]["closed"]

    doc = api.get("/openapi.json", role=None).json()
    conforms(doc, "GET", "/api/terms", api.get("/api/terms", role="reader"))
    problem(api.get("/api/terms", role="operator"), 403)
    problem(api.get("/api/terms", role=None), 401)
