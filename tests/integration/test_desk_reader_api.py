"""The reader at the desk over HTTP, with the real services: what the desk's reader panel
and the reading screen ask for beyond a lend.

A return says the title, the reader and whom the copy is now held for; a loss is
declared and paid for with a receipt; a reader's term target is asked by card; a
reader's answer lists what she brought back this term (a student writes a reading
note about one) and her reservations with their titles. Every answer is checked
against the OpenAPI document.
"""

from __future__ import annotations

from datetime import timedelta

from tests.helpers import wait_until
from tests.integration.test_accounts import People
from tests.integration.test_gateway import TITLE, TODAY, problem
from tests.integration.test_gateway_openapi import conforms


def give_back(people: People, barcode: str, on=TODAY, **extra):
    body = {"barcode": barcode, "campus": "north", "on": on.isoformat(), **extra}
    return people.post("/api/returns", body, role="assistant")


def reserve(people: People, patron_id: str, campus: str = "north"):
    body = {"patron_id": patron_id, "isbn": TITLE["isbn"], "campus": campus}
    return people.post("/api/reservations", body, role="assistant")


# ------------------------------------------------------------------ returns


def test_a_return_names_the_title_the_reader_and_whom_the_copy_is_now_held_for(people, doc):
    first, second = people.add_books(copies=2)
    li_lei = people.card(name="李雷")
    han_mei = people.card(name="韩梅梅")
    wang_fang = people.card(name="王芳", kind="teacher", class_name=None)
    zhao = people.card(name="赵老师", kind="teacher", class_name=None)
    assert people.lend(first, li_lei).status_code == 201
    assert people.lend(second, han_mei).status_code == 201

    # Nobody waits: the receipt names the book and the reader, held for nobody.
    back = give_back(people, first)
    conforms(doc, "POST", "/api/returns", back)
    receipt = back.json()
    assert (receipt["title"], receipt["name"], receipt["held_for"]) == (
        TITLE["title"],
        "李雷",
        None,
    )
    assert receipt["barcode"] == first and receipt["patron_id"] == li_lei

    # Two teachers reserve the title at north; one copy is on the shelf (it serves the
    # first), so the copy coming back is held for the second.
    assert reserve(people, wang_fang).status_code == 201
    assert reserve(people, zhao).status_code == 201
    held = give_back(people, second)
    conforms(doc, "POST", "/api/returns", held)
    assert held.json()["name"] == "韩梅梅"
    assert held.json()["held_for"] == {"patron_id": zhao, "name": "赵老师"}
    # So a student may not take it; the second teacher may.
    refused = problem(people.lend(second, li_lei), 409)
    assert refused["code"] == "held_for_reservation"
    assert people.lend(second, zhao).status_code == 201


def test_a_copy_back_damaged_or_at_the_other_campus_is_held_for_nobody_yet(people):
    first, second = people.add_books(copies=2)
    li_lei = people.card(name="李雷")
    wang_fang = people.card(name="王芳", kind="teacher", class_name=None)
    assert people.lend(first, li_lei).status_code == 201
    assert people.lend(second, li_lei).status_code == 201
    assert reserve(people, wang_fang).status_code == 201

    damaged = give_back(people, first, condition="damaged")
    assert damaged.status_code == 200, damaged.text
    assert damaged.json()["held_for"] is None and damaged.json()["condition"] == "damaged"
    elsewhere = give_back(people, second, campus="south")
    assert elsewhere.status_code == 200, elsewhere.text
    assert elsewhere.json()["home_campus"] == "north" and elsewhere.json()["held_for"] is None


def test_a_return_sent_twice_is_answered_with_the_same_receipt(people):
    [barcode] = people.add_books()
    people.lend(barcode, people.card(name="李雷"))
    assert reserve(people, people.card(name="王芳", kind="teacher", class_name=None)).ok
    key = "0b9c6f1e-2d4a-4c8e-9f7a-3e5d1c2b4a60"
    once = give_back(people, barcode, command_id=key)
    again = give_back(people, barcode, command_id=key)
    assert once.status_code == again.status_code == 200
    assert once.json() == again.json() and once.json()["held_for"]["name"] == "王芳"


# ------------------------------------------------------------------ lost and paid


def test_the_librarian_declares_a_loss_and_takes_the_payment_with_a_receipt(people, doc):
    [barcode] = people.add_books()
    han_mei = people.card(name="韩梅梅")
    loan = people.lend(barcode, han_mei).json()
    price = people.get(f"/api/copies/{barcode}/availability").json()["price"]
    assert price == TITLE["price"]

    # An assistant may not; the librarian may (loans.manage).
    refused = problem(people.post(f"/api/loans/{loan['loan_id']}/lost", role="assistant"), 403)
    assert refused["right"] == "loans.manage"
    lost = people.post(f"/api/loans/{loan['loan_id']}/lost", {})
    conforms(doc, "POST", "/api/loans/{loan_id}/lost", lost)
    assert lost.json()["replacement_cost"] == price
    reader = people.get(f"/api/patrons/{han_mei}/loans").json()
    assert reader["loans"] == [] and reader["patron"]["owed"] == price
    [unpaid] = reader["unpaid"]
    assert (unpaid["loan_id"], unpaid["title"], unpaid["replacement_cost"]) == (
        loan["loan_id"],
        TITLE["title"],
        price,
    )

    wrong = problem(people.post(f"/api/loans/{loan['loan_id']}/payment", {"amount": "999.00"}), 409)
    assert wrong["code"] == "overpayment"  # paying in parts: tests/integration/test_losses.py
    paid = people.post(f"/api/loans/{loan['loan_id']}/payment", {"amount": price})
    conforms(doc, "POST", "/api/loans/{loan_id}/payment", paid)
    receipt = paid.json()
    assert (receipt["amount"], receipt["title"], receipt["patron_id"]) == (
        price,
        TITLE["title"],
        han_mei,
    )
    assert receipt["paid_on"] == people.get("/api/terms").json()["today"]
    after = people.get(f"/api/patrons/{han_mei}/loans").json()
    assert after["unpaid"] == [] and after["patron"]["owed"] == "0.00"


# ------------------------------------------------------------------ a reader's target


def test_a_readers_term_target_is_asked_by_card_by_those_who_may_see_her(people, doc):
    teacher, teacher_token = people.card_holder("陈老师", "teacher", "G7-3")
    li_lei, li_lei_token = people.card_holder("李雷", "student", "G7-3")
    wang, wang_token = people.card_holder("王五", "student", "G8-1")
    corner = people.card(name="初一（3）班图书角", kind="class_corner")
    first, second = people.add_books(copies=2)
    people.lend(first, li_lei)
    people.lend(second, teacher)
    assert give_back(people, first).status_code == 200  # a book read

    def target(patron_id, token=None, role="assistant"):
        path = f"/api/patrons/{patron_id}/target"
        return people.as_(token, "GET", path) if token else people.get(path, role=role)

    read = wait_until(
        lambda: (
            (answer := target(li_lei)).status_code == 200 and answer.json()["count"] == 1 and answer
        ),
        timeout=20,
        what="the programme to count the book read",
    )
    conforms(doc, "GET", "/api/patrons/{patron_id}/target", read)
    assert read.json()["kind"] == "student" and read.json()["target"] == 5
    assert read.json()["on_target"] is False and read.json()["term"] == "2026-autumn"
    loans = wait_until(
        lambda: (answer := target(teacher)).status_code == 200 and answer.json()["count"] == 1,
        timeout=20,
        what="the programme to count the teacher's loan",
    )
    assert loans
    # A teacher sees her classes' readers, a student himself: nobody else.
    assert target(li_lei, teacher_token).json()["count"] == 1
    assert problem(target(wang, teacher_token), 403)["right"] == "patrons.read"
    assert target(li_lei, li_lei_token).json()["patron_id"] == li_lei
    assert problem(target(li_lei, wang_token), 403)["right"] == "patrons.read"
    assert target(wang, wang_token).json()["count"] == 0
    # A class book corner has no target; a card number must look like one.
    problem(target(corner), 404)
    problem(target("not a card!"), 400)


# ------------------------------------------------------------------ a reader's answer


def test_a_readers_answer_lists_what_she_brought_back_this_term_and_her_reservations(people, doc):
    li_lei, li_lei_token = people.card_holder("李雷", "student", "G7-3")
    first, second, third = people.add_books(copies=3)
    older = people.lend(first, li_lei).json()
    newer = people.lend(second, li_lei).json()
    people.lend(third, li_lei)
    assert give_back(people, first, on=TODAY + timedelta(days=2)).status_code == 200
    assert give_back(people, second, on=TODAY + timedelta(days=5)).status_code == 200
    assert reserve(people, li_lei, campus="south").status_code == 201

    mine = people.as_(li_lei_token, "GET", "/api/me/loans")
    conforms(doc, "GET", "/api/me/loans", mine)
    desk = people.get(f"/api/patrons/{li_lei}/loans", role="assistant")
    conforms(doc, "GET", "/api/patrons/{patron_id}/loans", desk)
    assert mine.json() == desk.json()
    answer = desk.json()
    assert [loan["barcode"] for loan in answer["loans"]] == [third]
    assert answer["returned"] == [
        {
            "loan_id": newer["loan_id"],
            "barcode": second,
            "isbn": TITLE["isbn"],
            "title": TITLE["title"],
            "lent_on": TODAY.isoformat(),
            "returned_on": (TODAY + timedelta(days=5)).isoformat(),
        },
        {
            "loan_id": older["loan_id"],
            "barcode": first,
            "isbn": TITLE["isbn"],
            "title": TITLE["title"],
            "lent_on": TODAY.isoformat(),
            "returned_on": (TODAY + timedelta(days=2)).isoformat(),
        },
    ]
    [reservation] = answer["reservations"]
    assert (reservation["isbn"], reservation["title"], reservation["campus"]) == (
        TITLE["isbn"],
        TITLE["title"],
        "south",
    )

    # A book he brought back is one he may write a reading note about.
    def noted():
        body = {"loan_id": older["loan_id"], "text": "读完以后，我又想再读一遍。"}
        sent = people.as_(li_lei_token, "POST", "/api/notes", json=body)
        return sent if sent.status_code == 201 else None

    note = wait_until(noted, timeout=20, what="the note about a returned book").json()
    assert (note["loan_id"], note["title"]) == (older["loan_id"], TITLE["title"])
