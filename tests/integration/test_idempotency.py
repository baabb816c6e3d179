"""An idempotency key (``command_id``) names one command with its parameters, over HTTP.

Sent again with the same command and parameters it answers what it answered the
first time; with another command or other parameters it is a 409 problem with
its own code, ``command_id_reused``, and changes nothing. Each service keeps its
own commands (in its own database), so a key is one command per service.
"""

from __future__ import annotations

import uuid

from tests.integration.test_gateway import TODAY, api, problem  # noqa: F401  (api: a fixture)


def lend_body(barcode, patron_id, command_id):
    return {
        "barcode": barcode,
        "patron_id": patron_id,
        "campus": "north",
        "on": TODAY.isoformat(),
        "command_id": command_id,
    }


def test_a_lend_sent_again_answers_its_loan_and_with_another_copy_is_refused(api):  # noqa: F811
    first, second = api.add_books(copies=2)
    patron = api.card()
    key = str(uuid.uuid4())
    lent = api.post("/api/loans", lend_body(first, patron, key), role="assistant")
    assert lent.status_code == 201, lent.text
    again = api.post("/api/loans", lend_body(first, patron, key), role="assistant")
    assert again.status_code == 201 and again.json() == lent.json()

    other = api.post("/api/loans", lend_body(second, patron, key), role="assistant")
    refused = problem(other, 409)
    assert refused["code"] == "command_id_reused" and key in refused["detail"]
    assert api.get(f"/api/copies/{second}/availability").json()["available"] is True
    loans = api.get(f"/api/patrons/{patron}/loans", role="assistant").json()["loans"]
    assert [loan["barcode"] for loan in loans] == [first]


def test_a_key_used_by_one_kind_of_command_is_refused_for_another_not_a_fault(api):  # noqa: F811
    [barcode] = api.add_books()
    key = str(uuid.uuid4())
    card = {"name": "王芳", "kind": "teacher", "campus": "north"}
    issued = api.post("/api/cards", {**card, "command_id": key}, role="assistant")
    assert issued.status_code == 201, issued.text
    patron = issued.json()["patron_id"]

    assert (
        problem(api.post("/api/loans", lend_body(barcode, patron, key), role="assistant"), 409)[
            "code"
        ]
        == "command_id_reused"
    )


def test_a_weed_with_the_key_of_a_damage_report_leaves_the_copy_as_it_was(api):  # noqa: F811
    [barcode] = api.add_books()
    key = str(uuid.uuid4())
    damaged = api.post(f"/api/copies/{barcode}/damage", {"note": "torn", "command_id": key})
    assert damaged.status_code == 200, damaged.text
    weed = {"reason": "outdated", "command_id": key}
    assert problem(api.post(f"/api/copies/{barcode}/weed", weed), 409)["code"] == (
        "command_id_reused"
    )
    assert api.get(f"/api/copies/{barcode}").json()["status"] == "damaged"


def test_a_card_issue_sent_again_names_the_same_card_and_with_another_name_is_refused(api):  # noqa: F811
    key = str(uuid.uuid4())
    card = {"name": "王芳", "kind": "teacher", "campus": "north"}
    issued = api.post("/api/cards", {**card, "command_id": key}, role="assistant")
    again = api.post("/api/cards", {**card, "command_id": key}, role="assistant")
    assert again.status_code == 201 and again.json() == issued.json()
    other = api.post("/api/cards", {**card, "name": "赵强", "command_id": key}, role="assistant")
    assert problem(other, 409)["code"] == "command_id_reused"
