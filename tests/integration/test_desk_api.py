"""The desk over HTTP, with the real services: renewing by scanning the book, and the
list of what the desk did today (from the archive's events, with who did each)."""

from __future__ import annotations

from datetime import timedelta

from tests.helpers import wait_until
from tests.integration.test_accounts import People, start
from tests.integration.test_gateway import TITLE, TODAY, problem
from tests.integration.test_gateway_openapi import conforms


def renew(people: People, barcode: str, role: str = "assistant", **extra):
    body = {"barcode": barcode, "campus": "north", "on": TODAY.isoformat(), **extra}
    return people.post("/api/renewals", body, role=role)


def test_a_book_is_renewed_by_scanning_it(people, doc):
    first, second = people.add_books(copies=2)
    patron = people.card()
    loan = people.lend(first, patron).json()

    renewed = renew(people, first)
    conforms(doc, "POST", "/api/renewals", renewed)
    assert renewed.status_code == 200, renewed.text
    receipt = renewed.json()
    assert receipt["loan_id"] == loan["loan_id"] and receipt["barcode"] == first
    assert receipt["due_on"] == (TODAY + timedelta(days=28)).isoformat()
    [open_loan] = people.get(f"/api/patrons/{patron}/loans").json()["loans"]
    assert open_loan["renewed"] is True and open_loan["due_on"] == receipt["due_on"]

    # Once only; a book on no loan, or unknown, cannot be renewed.
    assert problem(renew(people, first), 409)["code"] == "already_renewed"
    assert problem(renew(people, second), 409)["code"] == "not_on_loan"
    problem(renew(people, "C99999999"), 404)
    assert "barcode" in problem(renew(people, "not a barcode"), 400)["errors"]
    # The whole-school gateway needs the desk's campus; readers cannot renew at the desk.
    no_campus = people.post("/api/renewals", {"barcode": first}, role="assistant")
    assert "campus" in problem(no_campus, 400)["errors"]
    assert problem(renew(people, first, role="reader"), 403)["right"] == "desk"

    # The renewal's event names the desk that renewed it.
    def renewed_event():
        events = people.get("/api/events", params={"source": "circulation"}).json()["events"]
        return next((e for e in events if e["type"] == "Renewed"), None)

    assert wait_until(renewed_event, timeout=15)["campus"] == "north"


def test_renewing_by_barcode_twice_with_one_command_id_is_answered_not_redone(people):
    [barcode] = people.add_books()
    people.lend(barcode, people.card())
    key = "7d3f6c52-5f0e-4a0b-9f3e-2b1c0d9e8a71"
    once = renew(people, barcode, command_id=key)
    again = renew(people, barcode, command_id=key)
    assert once.status_code == again.status_code == 200
    assert once.json() == again.json()


def test_a_campus_desk_renews_at_its_own_campus(runner_factory, config):
    north = start(runner_factory, {**config, "CAMPUS": "north"})
    [barcode] = north.add_books()
    north.lend(barcode, north.card())
    wrong = north.post("/api/renewals", {"barcode": barcode, "campus": "south"}, role="assistant")
    assert "campus" in problem(wrong, 400)["errors"]
    renewed = north.post("/api/renewals", {"barcode": barcode, "on": TODAY.isoformat()},
                         role="assistant")  # fmt: skip
    assert renewed.status_code == 200, renewed.text


def test_the_desk_sees_what_it_did_today_newest_first_with_who_did_it(people, doc):
    first, second, third = people.add_books(copies=3)
    li_lei = people.card(name="李雷")
    han_mei = people.card(name="韩梅梅", class_name="G8-1")
    assert people.lend(first, li_lei).status_code == 201
    assert people.lend(second, han_mei).status_code == 201
    assert renew(people, first).status_code == 200
    back = {"barcode": second, "campus": "north", "on": TODAY.isoformat(), "condition": "damaged"}
    assert people.post("/api/returns", back, role="assistant").status_code == 200
    # A loan renewed by its id at the desk, and a lost copy paid for (the librarian).
    lost = people.lend(third, han_mei).json()
    by_id = people.post(f"/api/loans/{lost['loan_id']}/renew", {"on": TODAY.isoformat()})
    assert by_id.status_code == 200, by_id.text
    assert people.post(f"/api/loans/{lost['loan_id']}/lost").status_code == 200
    paid = people.post(f"/api/loans/{lost['loan_id']}/payment", {"amount": TITLE["price"]})
    assert paid.status_code == 200, paid.text

    def today(**params):
        answer = people.get("/api/desk/today", params={"campus": "north", **params})
        return answer.json()["items"] if answer.status_code == 200 else []

    items = wait_until(lambda: len(today()) == 7 and today(), timeout=20, what="seven acts")
    north = people.get("/api/desk/today", params={"campus": "north"})
    conforms(doc, "GET", "/api/desk/today", north)
    assert [i["kind"] for i in items] == [
        "payment", "renew", "lend", "return", "renew", "lend", "lend",
    ]  # fmt: skip
    assert [i["at"] for i in items] == sorted((i["at"] for i in items), reverse=True)
    payment, renewal, _, returned, scanned, lent, _ = items
    assert (lent["barcode"], lent["title"], lent["name"], lent["class_name"]) == (
        second,
        TITLE["title"],
        "韩梅梅",
        "G8-1",
    )
    assert lent["actor"]["username"] == "dev-assistant" and lent["campus"] == "north"
    assert (scanned["barcode"], scanned["name"], scanned["due_on"]) == (
        first,
        "李雷",
        (TODAY + timedelta(days=28)).isoformat(),
    )
    assert returned["condition"] == "damaged" and returned["title"] == TITLE["title"]
    assert renewal["barcode"] == third and renewal["actor"]["username"] == "dev-librarian"
    assert (payment["barcode"], payment["amount"], payment["name"]) == (
        third,
        TITLE["price"],
        "韩梅梅",
    )
    assert today(campus="south") == []
    later = people.get("/api/desk/today", params={"campus": "north", "on": "2099-01-01"})
    assert later.json() == {"on": "2099-01-01", "campus": "north", "items": []}


def test_an_assistant_sees_her_own_desks_day_only(people):
    [barcode] = people.add_books()
    south = people.staff("zheng-south", ["assistant"], campus="south")
    assert people.lend(barcode, people.card()).status_code == 201  # at north

    mine = people.as_(south, "GET", "/api/desk/today")
    assert mine.status_code == 200, mine.text
    assert mine.json()["campus"] == "south" and mine.json()["items"] == []
    refused = problem(people.as_(south, "GET", "/api/desk/today", params={"campus": "north"}), 403)
    assert refused["right"] == "desk"
    _, token = people.card_holder("李雷", "student", "G7-3")
    assert problem(people.as_(token, "GET", "/api/desk/today"), 403)["right"] == "desk"
    # The librarian on the whole-school gateway sees both campuses when she names none.
    everything = wait_until(
        lambda: people.get("/api/desk/today").json()["items"], timeout=15, what="the lend"
    )
    assert [i["kind"] for i in everything] == ["lend"]
