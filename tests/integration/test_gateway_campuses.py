"""Two campus desks, each with its own gateway (``CAMPUS``), over the real services.

The north gateway runs with every service; the south gateway is a second
gateway process of its own (as on the south host), sharing the broker and the
services. Whatever a request leaves out, each desk does at its own campus.
"""

from __future__ import annotations

import pytest

from tests.helpers import wait_until
from tests.integration.test_gateway import ALL_SERVICES, TODAY, problem, start_gateway

ON = {"on": TODAY.isoformat()}


@pytest.fixture
def desks(runner_factory, config):
    north = start_gateway(runner_factory, {**config, "CAMPUS": "north"}, *ALL_SERVICES)
    south = start_gateway(runner_factory, {**config, "CAMPUS": "south"})
    return north, south


def lend(api, barcode, patron_id, **extra):
    return api.post("/api/loans", {"barcode": barcode, "patron_id": patron_id, **ON, **extra},
                    role="assistant")  # fmt: skip


def give_back(api, barcode, **extra):
    return api.post("/api/returns", {"barcode": barcode, **ON, **extra}, role="assistant")


def card(api, name="李雷"):
    """A card issued at this desk, its campus left to the gateway."""
    answer = api.post(
        "/api/cards", {"name": name, "kind": "student", "class": "G7-3"}, role="assistant"
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_each_desk_lends_and_takes_back_at_its_own_campus_when_the_request_says_none(desks):
    north, south = desks
    [barcode] = north.add_books()  # shelved at north (the title's campus)
    patron = card(north)
    assert patron["campus"] == "north"
    assert card(south, name="韩梅梅")["campus"] == "south"

    lent = lend(north, barcode, patron["patron_id"])
    assert lent.status_code == 201, lent.text
    assert lent.json()["campus"] == "north"
    back = give_back(north, barcode)
    assert back.status_code == 200, back.text
    assert (back.json()["campus"], back.json()["home_campus"]) == ("north", "north")

    health = {s["service"]: s["health"] for s in north.get("/api/status").json()["services"]}
    assert health["circulation"]["campus"] == "north"


def test_a_copy_shelved_at_south_is_refused_at_the_north_desk_with_a_409(desks):
    north, south = desks
    [barcode] = north.add_books(campus="south", shelf="S-I-03")
    patron = card(north)["patron_id"]

    refused = problem(lend(north, barcode, patron), 409)
    assert refused["code"] == "wrong_campus"
    assert refused["detail"] == (
        f"{barcode} is shelved at the south campus; it cannot be lent at the north desk"
    )
    assert lend(south, barcode, patron).status_code == 201


def test_a_campus_desk_refuses_desk_work_for_the_other_campus_and_the_school_needs_one(
    desks, runner_factory, config
):
    north, _ = desks
    [barcode] = north.add_books()
    patron = card(north)["patron_id"]
    other = problem(lend(north, barcode, patron, campus="south"), 400)
    assert other["errors"] == {"campus": ["Must be north (this gateway's campus) or left out."]}
    assert "This is the north desk's gateway" in other["detail"]
    assert problem(give_back(north, barcode, campus="south"), 400)["errors"].keys() == {"campus"}
    receive = north.post(f"/api/copies/{barcode}/receive", {"campus": "south"}, role="assistant")
    assert "campus" in problem(receive, 400)["errors"]

    school = start_gateway(runner_factory, config)  # CAMPUS empty: one host for the school
    needs = problem(lend(school, barcode, patron), 400)
    assert list(needs["errors"]) == ["campus"]
    assert lend(school, barcode, patron, campus="north").status_code == 201


def test_a_copy_returned_at_south_is_in_transit_until_the_north_desk_receives_it(desks):
    north, south = desks
    [barcode] = north.add_books()
    patron = card(north)["patron_id"]
    assert lend(north, barcode, patron).status_code == 201

    back = give_back(south, barcode)
    assert back.status_code == 200, back.text
    assert (back.json()["campus"], back.json()["home_campus"]) == ("south", "north")

    wait_until(
        lambda: north.get(f"/api/copies/{barcode}/availability").json()["transit"] is not None,
        timeout=15,
        what="circulation to see the copy in transit",
    )
    copy = north.get(f"/api/copies/{barcode}", role="reader").json()
    assert copy["status"] == "in_transit"
    assert copy["transit"] == {"from_campus": "south", "to_campus": "north", "since": "2026-10-12"}
    listed = north.get("/api/books", role="reader", params={"status": "in_transit"}).json()
    assert [item["barcode"] for item in listed["items"]] == [barcode]

    for desk in (south, north):
        refused = problem(lend(desk, barcode, patron), 409)
        assert refused["code"] == "copy_in_transit"
    not_here = south.post(f"/api/copies/{barcode}/receive", role="assistant")
    assert problem(not_here, 409)["code"] == "not_home_campus"

    assert in_transit_at(north, "north") == 1
    received = north.post(f"/api/copies/{barcode}/receive", role="assistant")
    assert received.status_code == 200, received.text
    assert (received.json()["status"], received.json()["transit"]) == ("on_shelf", None)
    again = north.post(f"/api/copies/{barcode}/receive", role="assistant")
    assert problem(again, 409)["code"] == "not_in_transit"

    wait_until(
        lambda: north.get(f"/api/copies/{barcode}/availability").json()["available"],
        timeout=15,
        what="circulation to see the copy home",
    )
    assert lend(north, barcode, patron).status_code == 201
    assert in_transit_at(north, "north", expected=0) == 0


def in_transit_at(api, campus, expected=1):
    """The general ledger's copies in transit home to ``campus``, once archives has caught up."""

    def count():
        lines = api.get("/api/ledgers/general", role="reader").json()["lines"]
        return next((line["in_transit"] for line in lines if line["campus"] == campus), None)

    wait_until(lambda: count() == expected, timeout=15, what=f"{expected} in transit in the ledger")
    return count()
