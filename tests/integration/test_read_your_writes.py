"""Read your own writes over HTTP: a command's X-Event-Positions, a query's X-Read-After.

The archives (a copy's history) and the activities (the leaderboard) follow
circulation's events asynchronously; a GET naming the lend's positions is
answered as of at least them, at once, with no polling by the client.
"""

from __future__ import annotations

import time
import uuid

import pytest

from services.gateway.calls import DEFAULT_READ_AFTER_TIMEOUT
from shared.runtime.read_after import parse_positions
from tests.integration.test_gateway import ALL_SERVICES, TITLE, TODAY, problem, start_gateway

POSITIONS, READ_AFTER = "X-Event-Positions", "X-Read-After"


@pytest.fixture
def api(runner_factory, config):
    return start_gateway(runner_factory, config, *ALL_SERVICES, read_after_timeout=1.5)


def lent(api, barcode, patron_id, **extra):
    body = {"barcode": barcode, "patron_id": patron_id, "campus": "north", "on": TODAY.isoformat()}
    answer = api.post("/api/loans", {**body, **extra}, role="assistant")
    assert answer.status_code == 201, answer.text
    return answer


def test_a_lend_names_its_positions_and_a_query_after_them_sees_it_at_once(api):
    barcode = api.add_books(1)[0]
    patron_id = api.card()
    answer = lent(api, barcode, patron_id)
    positions = parse_positions(answer.headers[POSITIONS])
    assert set(positions) == {"circulation"} and positions["circulation"] > 0

    # the archives' copy history is fed asynchronously from circulation's exchange
    started = time.monotonic()
    history = api.get(
        f"/api/copies/{barcode}/history", headers={READ_AFTER: answer.headers[POSITIONS]}
    )
    took = time.monotonic() - started
    assert history.status_code == 200, history.text
    assert "Lent" in [event["type"] for event in history.json()["events"]]
    assert took < DEFAULT_READ_AFTER_TIMEOUT

    # the reader's loans are circulation's own (inline): there at once as well
    loans = api.get(
        f"/api/patrons/{patron_id}/loans", headers={READ_AFTER: answer.headers[POSITIONS]}
    )
    assert loans.status_code == 200, loans.text
    assert barcode in [loan["barcode"] for loan in loans.json()["loans"]]


def test_a_return_is_on_the_leaderboard_at_once(api):
    barcode = api.add_books(1)[0]
    patron_id = api.card(name="韩梅梅", class_name="G7-4")
    lent(api, barcode, patron_id)
    body = {"barcode": barcode, "campus": "north", "on": TODAY.isoformat()}
    returned = api.post("/api/returns", body, role="assistant")
    assert returned.status_code == 200, returned.text
    after = returned.headers[POSITIONS]

    term = {"period": "term", "on": TODAY.isoformat()}
    board = api.get(
        "/api/leaderboards/students", role=None, params=term, headers={READ_AFTER: after}
    )
    assert board.status_code == 200, board.text
    assert patron_id in str(board.json())


def test_a_command_without_events_and_a_query_name_no_positions(api):
    answer = api.get("/api/books", params={"q": "nothing"})
    assert answer.status_code == 200 and POSITIONS not in answer.headers


def test_a_position_never_reached_is_answered_catching_up_after_the_timeout(api):
    started = time.monotonic()
    answer = api.get("/api/registers/purchases", headers={READ_AFTER: "circulation=999999999"})
    took = time.monotonic() - started
    body = problem(answer, 503)
    assert body["code"] == "catching_up" and body["service"] == "archives"
    assert answer.headers["Retry-After"] == "1"
    assert 1.4 < took < 1.5 + 2.0  # the configured wait, then the answer


def test_a_source_no_read_model_follows_has_nothing_to_wait_for(api):
    # the catalog's search index is the catalog's own (inline); nothing there follows
    # the archives' log: both answer at once, whatever the position.
    answer = api.get("/api/books", params={"q": "x"}, headers={READ_AFTER: "archives=999999"})
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize(
    "header", ["circulation", "circulation=", "circulation=-1", "Circulation=1", "a=1;b=2", "=5"]
)
def test_a_malformed_header_is_refused_naming_it(api, header):
    body = problem(api.get("/api/books", headers={READ_AFTER: header}), 400)
    assert READ_AFTER in body["errors"] and READ_AFTER in body["detail"]


def test_an_empty_header_and_a_source_named_twice_are_fine(api):
    assert api.get("/api/books", headers={READ_AFTER: ""}).status_code == 200
    added = api.post("/api/books", {**TITLE, "copies": 1})
    assert added.headers[POSITIONS].startswith("catalog=")
    twice = api.get("/api/books", headers={READ_AFTER: f"catalog=0, {added.headers[POSITIONS]}"})
    assert twice.status_code == 200, twice.text


def test_a_replayed_command_answers_the_positions_it_got_the_first_time(api):
    barcodes = api.add_books(2)
    patron_id = api.card()
    command_id = str(uuid.uuid4())
    first = lent(api, barcodes[0], patron_id, command_id=command_id)
    lent(api, barcodes[1], patron_id)  # the log moves on meanwhile
    again = lent(api, barcodes[0], patron_id, command_id=command_id)
    assert again.json() == first.json()
    assert again.headers[POSITIONS] == first.headers[POSITIONS]


def test_the_status_page_answers_now_whatever_the_read_models(api):
    started = time.monotonic()
    answer = api.get("/api/status", role="operator", headers={READ_AFTER: "circulation=99999999"})
    assert answer.status_code == 200 and time.monotonic() - started < 1.5
