"""Losses as schools settle them, over HTTP with the real services (docs/losses.md).

A lost book is paid at its price in parts, each payment with a numbered receipt that
prints in Chinese with the amount in capitals and who took the money; or the reader
brings a new copy of the title, which the catalog catalogues in the lost one's place
while the lost one is in the write-off ledger as lost. Until a loss is settled the
reader is on the clearance list as owing. Answers are checked against the OpenAPI
document.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta
from decimal import Decimal

from nameko.exceptions import RemoteError
from nameko.testing.services import entrypoint_waiter
from nameko.testing.utils import get_container

from services.catalog.service import CatalogService
from shared.paper.receipts import in_capitals
from tests.helpers import wait_until
from tests.integration import test_catalog
from tests.integration.test_accounts import People
from tests.integration.test_gateway import TITLE, problem
from tests.integration.test_gateway_openapi import conforms
from tests.paper import pdf_pages, squeezed

PRICE = Decimal(TITLE["price"])
# The catalog alone and circulation's event log, as tests/integration/test_catalog.py has them.
catalog_fixture, circulation_fixture = test_catalog.catalog, test_catalog.circulation
PERIOD = {
    "since": (date.today() - timedelta(days=2)).isoformat(),
    "until": (date.today() + timedelta(days=2)).isoformat(),
}


def lost_loan(people: People, name: str = "韩梅梅", class_name: str = "G7-3") -> dict:
    """A student's loan of a new copy, declared lost: its loan, with her card number."""
    [barcode] = people.add_books()
    reader = people.card(name=name, class_name=class_name)
    loan = people.lend(barcode, reader).json()
    lost = people.post(f"/api/loans/{loan['loan_id']}/lost", {})
    assert lost.status_code == 200, lost.text
    return loan


def owing(people: People, class_name: str) -> dict[str, str]:
    """Who in a class owes what, by the clearance list: {name: owed}."""
    answer = people.get("/api/clearance", params={"class": class_name})
    assert answer.status_code == 200, answer.text
    return {p["name"]: p["owed"] for p in answer.json()["outstanding"] if p["unpaid"]}


def register(people: People, name: str) -> list[dict]:
    answer = people.get(f"/api/registers/{name}", params=PERIOD)
    assert answer.status_code == 200, answer.text
    table = answer.json()
    return [dict(zip(table["columns"], row, strict=True)) for row in table["rows"]]


def test_a_loss_paid_in_two_parts_with_numbered_receipts_that_print(people, doc):
    loan = lost_loan(people)
    path = f"/api/loans/{loan['loan_id']}"
    wang = people.staff("wang-li", ["librarian"])
    assert owing(people, "G7-3") == {"韩梅梅": f"{PRICE:.2f}"}

    first = people.as_(wang, "POST", f"{path}/payment", json={"amount": "20.00"})
    assert first.status_code == 200, first.text
    conforms(doc, "POST", "/api/loans/{loan_id}/payment", first)
    one = first.json()
    assert (one["amount"], one["balance"], one["taken_by"]) == (
        "20.00",
        f"{PRICE - 20:.2f}",
        "wang-li 老师",
    )
    assert owing(people, "G7-3") == {"韩梅梅": f"{PRICE - 20:.2f}"}
    [unpaid] = people.get(f"/api/patrons/{loan['patron_id']}/loans").json()["unpaid"]
    assert (unpaid["replacement_cost"], unpaid["balance"]) == (f"{PRICE:.2f}", f"{PRICE - 20:.2f}")
    # The clearance list as the school gets it (CSV) says what is still owed, not the price.
    exported = people.get("/api/clearance", params={"class": "G7-3", "format": "csv"})
    assert exported.status_code == 200, exported.text
    [line] = [row for row in exported.content.decode("utf-8-sig").splitlines() if "韩梅梅" in row]
    assert line.endswith(f",{PRICE - 20:.2f}") and f"{PRICE:.2f}" not in line

    # More than is still owed is refused, naming what is owed; nothing is recorded.
    too_much = problem(people.post(f"{path}/payment", {"amount": f"{PRICE:.2f}"}), 409)
    assert too_much["code"] == "overpayment" and f"¥{PRICE - 20:.2f}" in too_much["detail"]
    assert problem(people.post(f"{path}/payment", {"amount": "0.00"}), 409)["code"] == (
        "payment_not_positive"
    )

    rest_of_it = {"amount": f"{PRICE - 20:.2f}", "command_id": str(uuid.uuid4())}
    rest = people.as_(wang, "POST", f"{path}/payment", json=rest_of_it)
    assert rest.status_code == 200, rest.text
    two = rest.json()
    assert two["balance"] == "0.00"
    # Numbered in order (2026-000001, -000002): the payments refused between used no number.
    assert int(two["receipt_no"][-6:]) == int(one["receipt_no"][-6:]) + 1
    assert owing(people, "G7-3") == {}
    # Sent again (a lost answer), the same payment is answered with the same receipt.
    resent = people.as_(wang, "POST", f"{path}/payment", json=rest_of_it)
    assert resent.status_code == 200 and resent.json() == two
    again = problem(people.post(f"{path}/payment", {"amount": "1.00"}), 409)
    assert again["code"] == "nothing_owed"

    loss = people.get(f"{path}/loss")
    conforms(doc, "GET", "/api/loans/{loan_id}/loss", loss)
    assert loss.json()["settled"] is True and loss.json()["paid"] == f"{PRICE:.2f}"
    assert [p["receipt_no"] for p in loss.json()["payments"]] == [
        one["receipt_no"],
        two["receipt_no"],
    ]

    receipt = people.get(f"/api/receipts/{one['receipt_no']}")
    conforms(doc, "GET", "/api/receipts/{receipt_no}", receipt)
    assert receipt.json()["name"] == "韩梅梅" and receipt.json()["balance"] == one["balance"]

    printed = people.get(f"/api/receipts/{one['receipt_no']}", params={"format": "pdf"})
    assert printed.status_code == 200, printed.text
    assert printed.headers["Content-Type"] == "application/pdf"
    assert "attachment" in printed.headers["Content-Disposition"]
    (page,) = pdf_pages(printed.content)
    text = squeezed(page)
    for shown in (
        "丢失图书赔偿收据",
        f"收据号：{one['receipt_no']}",
        "韩梅梅（初一(3)班）",
        TITLE["title"],
        loan["barcode"],
        "¥20.00",
        in_capitals("20.00"),
        f"¥{PRICE - 20:.2f}",
        "收款人wang-li老师",
    ):
        assert shown in text, shown
    assert "贰拾元整" in text

    english = people.get(
        f"/api/receipts/{two['receipt_no']}", params={"format": "pdf", "lang": "en"}
    )
    (page,) = pdf_pages(english.content)
    assert "Receipt for a lost book" in page and "paid for in full" in page

    unknown = problem(people.get("/api/receipts/1999-000001"), 404)
    assert "1999-000001" in unknown["detail"]
    assert problem(people.get(f"/api/receipts/{one['receipt_no']}?format=xlsx"), 400)["code"] == (
        "format_unsupported"
    )

    # The compensations register has the loss and both payments, with who took them.
    def lines() -> list[dict]:
        return [r for r in register(people, "compensations") if r["loan_id"] == loan["loan_id"]]

    wait_until(lambda: len(lines()) == 3, timeout=20, what="the compensations register")
    lost, paid_one, paid_two = lines()
    assert lost["entry"] == "lost" and lost["amount"] == f"{PRICE:.2f}"
    assert (paid_one["entry"], paid_one["receipt_no"], paid_one["balance"]) == (
        "payment",
        one["receipt_no"],
        f"{PRICE - 20:.2f}",
    )
    assert paid_one["taken_by"] == "wang-li 老师" and paid_one["by"] == "wang-li"
    assert paid_two["balance"] == "0.00" and paid_one["reader"] == "韩梅梅"
    as_csv = people.get("/api/registers/compensations", params={**PERIOD, "format": "csv"})
    assert as_csv.status_code == 200, as_csv.text
    text = as_csv.content.decode("utf-8-sig")
    assert text.startswith("日期,事项,借阅编号,读者,班级") and "收据号" in text.splitlines()[0]
    assert f"缴纳赔款,{loan['loan_id']},韩梅梅" in text and one["receipt_no"] in text


def test_a_loss_replaced_with_a_new_copy_catalogued_in_its_place(people, doc):
    loan = lost_loan(people, name="李雷", class_name="G8-1")
    path = f"/api/loans/{loan['loan_id']}"
    new_barcode = f"R{uuid.uuid4().hex[:10].upper()}"
    assert owing(people, "G8-1") == {"李雷": f"{PRICE:.2f}"}

    taken = problem(people.post(f"{path}/replacement", {"new_barcode": loan["barcode"]}), 409)
    assert taken["code"] == "barcode_taken"
    replaced = people.post(f"{path}/replacement", {"new_barcode": new_barcode})
    assert replaced.status_code == 200, replaced.text
    conforms(doc, "POST", "/api/loans/{loan_id}/replacement", replaced)
    assert replaced.json()["new_barcode"] == new_barcode
    assert owing(people, "G8-1") == {}
    loss = people.get(f"{path}/loss").json()
    assert loss["settled"] is True and loss["replaced_by"] == new_barcode
    assert loss["payments"] == [] and loss["balance"] == "0.00"

    # The catalog catalogued the new copy in the lost one's place, and it can be lent.
    wait_until(
        lambda: people.get(f"/api/copies/{new_barcode}/availability").status_code == 200,
        timeout=20,
        what="the new copy catalogued",
    )
    copy = people.get(f"/api/copies/{new_barcode}").json()
    assert (copy["isbn"], copy["title"], copy["campus"]) == (
        TITLE["isbn"],
        TITLE["title"],
        "north",
    )
    assert people.get(f"/api/copies/{new_barcode}/availability").json()["available"] is True
    assert people.lend(new_barcode, people.card(name="韩梅梅")).status_code == 201

    # The lost copy is in the write-off ledger as lost; the register has the replacement.
    def written_off() -> list[list]:
        rows = people.get("/api/ledgers/writeoffs", params=PERIOD).json()["rows"]
        return [row for row in rows if row[1] == loan["barcode"]]

    wait_until(lambda: written_off(), timeout=20, what="the lost copy in the write-off ledger")
    [line] = written_off()
    assert line[5] == "lost"
    wait_until(
        lambda: any(
            r["entry"] == "replacement" and r["new_barcode"] == new_barcode
            for r in register(people, "compensations")
        ),
        timeout=20,
        what="the replacement in the compensations register",
    )

    # A new copy without a label: the catalog issues its barcode (sent again: the same one).
    unlabelled = lost_loan(people, name="赵敏", class_name="G8-1")
    once = {"command_id": str(uuid.uuid4())}
    issued = people.post(f"/api/loans/{unlabelled['loan_id']}/replacement", once)
    assert issued.status_code == 200, issued.text
    assert re.fullmatch(r"C\d{8}", issued.json()["new_barcode"])
    again = people.post(f"/api/loans/{unlabelled['loan_id']}/replacement", once)
    assert again.status_code == 200 and again.json() == issued.json()
    wait_until(
        lambda: people.get(f"/api/copies/{issued.json()['new_barcode']}").status_code == 200,
        timeout=20,
        what="the copy under the issued barcode",
    )

    # A loss part paid is paid off, not replaced.
    other = lost_loan(people, name="王芳", class_name="G8-1")
    other_path = f"/api/loans/{other['loan_id']}"
    assert people.post(f"{other_path}/payment", {"amount": "1.00"}).status_code == 200
    part_paid = problem(people.post(f"{other_path}/replacement", {"new_barcode": "RX-0001"}), 409)
    assert part_paid["code"] == "loss_part_paid"
    assert owing(people, "G8-1") == {"王芳": f"{PRICE - 1:.2f}"}


def catalogued(config, barcode: str) -> dict | None:
    """The copy as the catalog has it, None until it has it."""
    try:
        return test_catalog.status_of(config, barcode, "on_shelf")
    except RemoteError:
        return None


def test_the_catalog_catalogues_a_replacement_once_even_when_redelivered(
    catalog_fixture,
    config,
    circulation_fixture: test_catalog.CirculationLog,
    pool_for,
):
    """The catalog's reaction to ``LostCopyReplaced``: the new copy as the lost one was
    (title, campus, shelf, price; acquired as a replacement), recorded once however
    often circulation's events come again."""
    [lost] = test_catalog.add(config)
    circulation_fixture.lend(lost, "L-9")
    circulation_fixture.declare_lost(lost, "L-9")
    new_barcode = f"R{uuid.uuid4().hex[:10].upper()}"
    last = circulation_fixture.record(
        "LostCopyReplaced",
        "loan-L-9",
        loan_id="L-9",
        patron_id="P-2026-0042",
        barcode=lost,
        new_barcode=new_barcode,
        isbn=TITLE["isbn"],
        title=TITLE["title"],
        campus="north",
        replacement_cost="59.70",
    )
    copy = wait_until(lambda: catalogued(config, new_barcode), what="the new copy")
    old = wait_until(
        lambda: test_catalog.status_of(config, lost, "weeded"), what="the lost copy weeded"
    )
    assert old["weed_reason"] == "lost"
    for same in ("isbn", "title", "campus", "shelf", "price", "classification"):
        assert copy[same] == old[same], same
    [added] = test_catalog.catalog_events(pool_for, new_barcode)
    assert added.type == "BookAdded" and added.data["acquisition"] == "replacement"

    redelivered = set()

    def every_event_seen_again(worker_ctx, result, exc_info):
        if exc_info is None and result.duplicates and not result.applied:
            redelivered.update(event.position for event in worker_ctx.args[0])
        return len(redelivered) >= last.position

    container = get_container(catalog_fixture, CatalogService)
    with entrypoint_waiter(container, "on_circulation_events", callback=every_event_seen_again):
        circulation_fixture.republish_everything()
    assert [e.type for e in test_catalog.catalog_events(pool_for, new_barcode)] == ["BookAdded"]
    assert [e.type for e in test_catalog.catalog_events(pool_for, lost)] == ["BookAdded", "Weeded"]
