"""Circulation over real RabbitMQ and PostgreSQL: the desk's day, driven through nameko RPC."""

import uuid
from datetime import date, timedelta

import pytest
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ServiceRpcProxy

from services.catalog.service import CatalogService
from services.circulation.service import CirculationService
from tests.factories import book_added
from tests.helpers import wait_until

TITLE = {k: v for k, v in book_added().items() if k != "barcode"}
TODAY = date(2026, 10, 12)


@pytest.fixture
def desk(runner_factory, config):
    runner_factory(config, CatalogService, CirculationService).start()
    with (
        ServiceRpcProxy("catalog", config, timeout=20) as catalog,
        ServiceRpcProxy("circulation", config, timeout=20) as circulation,
    ):
        yield Desk(catalog, circulation)


class Desk:
    """The two services as a desk assistant's screen sees them."""

    def __init__(self, catalog, circulation):
        self.catalog = catalog
        self.circulation = circulation

    def add_copies(self, copies=1, **title):
        barcodes = self.catalog.add_copies({**TITLE, **title, "copies": copies})["barcodes"]
        wait_until(lambda: self.known(barcodes[-1]), timeout=10, what="circulation to see it")
        return barcodes

    def known(self, barcode):
        try:
            return self.circulation.copy_availability(barcode)
        except RemoteError:
            return None

    def card(self, kind="student", class_name="G7-3", name="李雷", **extra):
        return self.circulation.issue_card(
            {"name": name, "kind": kind, "class": class_name, "campus": "north", **extra}
        )["patron_id"]

    def lend(self, barcode, patron_id, on=TODAY, campus="north"):
        return self.circulation.lend(
            {"barcode": barcode, "patron_id": patron_id, "campus": campus, "on": on.isoformat()}
        )

    def give_back(self, barcode, on=TODAY, condition="ok", campus="north"):
        return self.circulation.return_copy(
            {"barcode": barcode, "campus": campus, "on": on.isoformat(), "condition": condition}
        )

    def in_transit(self, barcode):
        """Wait until both services know the copy is on its way home; circulation's view."""
        wait_until(
            lambda: self.catalog.get_copy(barcode)["transit"] is not None,
            timeout=10,
            what="the catalog to see the return elsewhere",
        )
        wait_until(
            lambda: self.circulation.copy_availability(barcode)["transit"] is not None,
            timeout=10,
            what="circulation to see the copy in transit",
        )
        return self.circulation.copy_availability(barcode)

    def home(self, barcode):
        wait_until(
            lambda: self.circulation.copy_availability(barcode)["transit"] is None,
            timeout=10,
            what="circulation to see the copy home",
        )
        return self.circulation.copy_availability(barcode)


def refusal(call, *args):
    with pytest.raises(RemoteError) as caught:
        call(*args)
    return caught.value


def test_a_copy_added_in_catalog_becomes_lendable(desk):
    [barcode] = desk.add_copies()
    copy = desk.circulation.copy_availability(barcode)
    assert copy["available"] and copy["price"] == "59.70" and copy["campus"] == "north"


def test_the_life_of_a_loan(desk):
    [barcode] = desk.add_copies()
    patron = desk.card()
    loan = desk.lend(barcode, patron)
    assert loan["due_on"] == (TODAY + timedelta(days=14)).isoformat()
    assert desk.circulation.copy_availability(barcode)["loan_id"] == loan["loan_id"]

    again = refusal(desk.lend, barcode, desk.card(name="韩梅梅"))
    assert again.exc_type == "Refused" and "already on loan" in again.value

    renewed = desk.circulation.renew({"loan_id": loan["loan_id"], "on": TODAY.isoformat()})
    assert renewed["due_on"] == (TODAY + timedelta(days=28)).isoformat()
    twice = refusal(desk.circulation.renew, {"loan_id": loan["loan_id"]})
    assert "already been renewed once" in twice.value

    loans = desk.circulation.patron_loans(patron)
    assert [item["barcode"] for item in loans["loans"]] == [barcode]

    returned = desk.give_back(barcode, on=TODAY + timedelta(days=30))
    assert returned["overdue_days"] == 2 and returned["loan_id"] == loan["loan_id"]
    assert desk.circulation.copy_availability(barcode)["available"]
    assert desk.circulation.patron_loans(patron)["loans"] == []
    assert "is not on loan" in refusal(desk.give_back, barcode).value


def test_cards_are_refused_and_blocked_with_reasons(desk):
    [barcode] = desk.add_copies()
    patron = desk.card()
    bad = refusal(desk.circulation.issue_card, {"name": "", "kind": "pupil", "campus": "west"})
    assert bad.exc_type == "BadRequest"
    assert all(field in bad.value for field in ("name", "kind", "campus"))
    assert (
        "already has a library card"
        in refusal(
            desk.circulation.issue_card,
            {"patron_id": patron, "name": "x", "kind": "teacher", "campus": "north"},
        ).value
    )

    desk.circulation.block_card({"patron_id": patron, "reason": "lost card"})
    assert "blocked (lost card)" in refusal(desk.lend, barcode, patron).value
    desk.circulation.unblock_card({"patron_id": patron})
    desk.lend(barcode, patron)
    assert (
        "must first return 1 book(s)"
        in refusal(desk.circulation.retire_card, {"patron_id": patron}).value
    )
    desk.give_back(barcode)
    assert desk.circulation.retire_card({"patron_id": patron})["status"] == "retired"
    assert "retired and cannot borrow" in refusal(desk.lend, barcode, patron).value
    assert refusal(desk.lend, barcode, "P9999999").exc_type == "NotFound"
    assert refusal(desk.lend, "C99999999", patron).exc_type == "NotFound"


def test_reference_books_other_campuses_and_limits(desk):
    [reference] = desk.add_copies(reference_only=True)
    [south] = desk.add_copies(campus="south")
    shelf = desk.add_copies(copies=4)
    patron = desk.card()
    assert "never lent" in refusal(desk.lend, reference, patron).value
    assert "shelved at the south campus" in refusal(desk.lend, south, patron).value
    for barcode in shelf[:3]:
        desk.lend(barcode, patron)
    assert "the limit for a student card is 3" in refusal(desk.lend, shelf[3], patron).value


def test_overdue_books_and_lost_books_stop_borrowing(desk):
    first, second, third = desk.add_copies(copies=3)
    patron = desk.card()
    desk.lend(first, patron, on=TODAY - timedelta(days=30))
    assert "overdue book(s)" in refusal(desk.lend, second, patron).value
    desk.give_back(first)
    loan = desk.lend(second, patron)
    lost = desk.circulation.declare_lost({"loan_id": loan["loan_id"]})
    assert lost["replacement_cost"] == "59.70"
    assert "owes ¥59.70" in refusal(desk.lend, third, patron).value
    # Paid in part, the card still owes the rest and still may not borrow.
    desk.circulation.pay_compensation({"loan_id": loan["loan_id"], "amount": "10"})
    assert "owes ¥49.70" in refusal(desk.lend, third, patron).value
    desk.circulation.pay_compensation({"loan_id": loan["loan_id"], "amount": "49.70"})
    desk.lend(third, patron)


def test_a_reserved_title_is_held_for_its_reader(desk):
    [only] = desk.add_copies(isbn="978-0-306-40615-7", title="Teacher's guide")
    teacher = desk.card(kind="teacher", class_name=None, name="王老师")
    student = desk.card()
    reservation = desk.circulation.reserve(
        {"patron_id": teacher, "isbn": "978-0-306-40615-7", "campus": "north"}
    )
    # The copy on the shelf is put aside for the teacher as she reserves it.
    assert "held for the reader who reserved it" in refusal(desk.lend, only, student).value
    loan = desk.lend(only, teacher)
    assert loan["patron_id"] == teacher
    cancelled = refusal(
        desk.circulation.cancel_reservation,
        {"patron_id": teacher, "reservation_id": reservation["reservation_id"]},
    )
    assert "no open reservation" in cancelled.value  # it was fulfilled by the loan


def test_a_class_book_corner_borrows_sixty_books_in_one_command(desk):
    barcodes = desk.add_copies(copies=62)
    corner = desk.card(kind="class_corner", name="G7-3 book corner")
    result = desk.circulation.lend_many(
        {"patron_id": corner, "barcodes": barcodes, "campus": "north", "on": TODAY.isoformat()}
    )
    assert len(result["loans"]) == 60
    assert {r["code"] for r in result["refused"]} == {"loan_limit"}
    assert [r["barcode"] for r in result["refused"]] == barcodes[60:]
    assert {loan["due_on"] for loan in result["loans"]} == {"2027-01-22"}
    assert len(desk.circulation.patron_loans(corner)["loans"]) == 60


def test_a_roster_issues_good_rows_and_reports_bad_ones(desk):
    roster = "\n".join(
        [
            "name,kind,class,campus,patron_id",
            "张三,student,G9-1,north,S2026001",
            "李四,student,G9-1,south,",
            "王五,pupil,G9-2,north,",
            "赵六,student,,north,",
            "钱七,student,G9-2,north,S2026001",
            "孙老师,teacher,,south,",
        ]
    )
    result = desk.circulation.import_cards({"csv": roster})
    assert [card["name"] for card in result["issued"]] == ["张三", "李四", "孙老师"]
    assert result["issued"][0]["patron_id"] == "S2026001"
    assert [(e["line"], sorted(e["errors"])) for e in result["errors"]] == [
        (4, ["kind"]),
        (5, ["class"]),  # the column the roster lacks, named as the roster names it
        (6, ["patron_id"]),
    ]
    assert "class" in str(result["errors"][1]["errors"])


def test_a_roster_imported_again_reports_every_bad_row_again_and_issues_nothing_twice(desk):
    roster = "\n".join(
        [
            "name,kind,class,campus,patron_id",
            "张三,student,G9-1,north,S2026101",
            "王五,pupil,G9-2,north,",
            "赵六,student,,north,",
            "钱七,student,G9-2,north,S2026101",
        ]
    )
    command = {"csv": roster, "command_id": str(uuid.uuid4())}
    first = desk.circulation.import_cards(command)
    again = desk.circulation.import_cards(command)
    assert again == first
    assert [e["line"] for e in again["errors"]] == [3, 4, 5]
    assert [card["patron_id"] for card in again["issued"]] == ["S2026101"]
    # The same roster as a new command: the card that exists is a bad row, not a second card.
    anew = desk.circulation.import_cards({"csv": roster, "command_id": str(uuid.uuid4())})
    assert anew["issued"] == [] and [e["line"] for e in anew["errors"]] == [2, 3, 4, 5]
    assert refusal(desk.circulation.import_cards, {"csv": "who,what\nx,y"}).exc_type == "BadRequest"


def test_overdue_lists_and_graduation_clearance(desk):
    books = desk.add_copies(copies=3)
    late = desk.card(class_name="G9-1", name="张三")
    on_time = desk.card(class_name="G9-2", name="李四")
    desk.card(class_name="G9-2", name="王五")  # holds nothing: cleared
    younger = desk.card(class_name="G8-1", name="赵六")
    desk.lend(books[0], late, on=TODAY - timedelta(days=20))
    desk.lend(books[1], on_time, on=TODAY)
    desk.lend(books[2], younger, on=TODAY - timedelta(days=20))

    overdue = desk.circulation.overdue({"on": TODAY.isoformat()})
    assert [
        (c["class_name"], [loan["name"] for loan in c["loans"]]) for c in overdue["classes"]
    ] == [
        ("G8-1", ["赵六"]),
        ("G9-1", ["张三"]),
    ]
    # Lent Sep 22, due Oct 6 in the national-day week (SCHOOL.closed): moved to Oct 8; the
    # days overdue count the open days since (Oct 9 and 12), not the weekend.
    assert overdue["classes"][1]["loans"][0]["days_overdue"] == 2
    only_g9 = desk.circulation.overdue({"on": TODAY.isoformat(), "class": "G9-1"})
    assert [c["class_name"] for c in only_g9["classes"]] == ["G9-1"]

    grade = desk.circulation.clearance({"grade": "G9"})
    assert grade["patrons"] == 3 and grade["cleared"] == 1
    assert sorted(p["name"] for p in grade["outstanding"]) == ["张三", "李四"]
    assert desk.circulation.clearance({"class": "G9-2"})["cleared"] == 1
    assert refusal(desk.circulation.clearance, {}).exc_type == "BadRequest"


def test_a_retried_lend_is_answered_not_redone(desk):
    [barcode] = desk.add_copies()
    patron = desk.card()
    command = {
        "barcode": barcode,
        "patron_id": patron,
        "campus": "north",
        "command_id": "1d7e2c9a-0b8f-4b7e-9a51-2f9c8e7d6a5b",
    }
    first = desk.circulation.lend(command)
    assert desk.circulation.lend(command) == first
    assert len(desk.circulation.patron_loans(patron)["loans"]) == 1


# ---------------------------------------------------------------- two campuses


def test_a_copy_returned_at_the_other_campus_is_in_transit_until_its_home_desk_receives_it(desk):
    [barcode] = desk.add_copies()  # shelved at north
    patron = desk.card()
    desk.lend(barcode, patron)

    returned = desk.give_back(barcode, campus="south")
    assert (returned["campus"], returned["home_campus"]) == ("south", "north")
    assert desk.circulation.patron_loans(patron)["loans"] == []  # the reader is done with it

    seen = desk.in_transit(barcode)
    assert seen["transit"] == {"from_campus": "south", "to_campus": "north"}
    assert seen["available"] is False
    copy = desk.catalog.get_copy(barcode)
    assert (copy["status"], copy["campus"]) == ("in_transit", "north")
    assert copy["transit"] == {"from_campus": "south", "to_campus": "north", "since": "2026-10-12"}
    assert desk.catalog.search({"status": "in_transit"})["total"] == 1

    other = desk.card(name="韩梅梅")
    for campus in ("south", "north"):
        refused = refusal(desk.lend, barcode, other, TODAY, campus)
        assert refused.exc_type == "Refused"
        assert "in transit from the south campus to north" in refused.value

    elsewhere = refusal(desk.catalog.receive, {"barcode": barcode, "campus": "south"})
    assert "belongs to the north campus and is on its way there from south" in elsewhere.value
    received = desk.catalog.receive({"barcode": barcode, "campus": "north"})
    assert (received["status"], received["transit"]) == ("on_shelf", None)
    twice = refusal(desk.catalog.receive, {"barcode": barcode, "campus": "north"})
    assert "is not in transit" in twice.value

    assert desk.home(barcode)["available"] is True
    assert desk.lend(barcode, other)["campus"] == "north"


def test_a_copy_returned_at_its_home_campus_is_simply_back_on_the_shelf(desk):
    [barcode] = desk.add_copies(campus="south", shelf="S-I-03")
    patron = desk.card()
    desk.lend(barcode, patron, campus="south")
    returned = desk.give_back(barcode, campus="south")
    assert (returned["campus"], returned["home_campus"]) == ("south", "south")
    wait_until(lambda: desk.catalog.get_copy(barcode)["status"] == "on_shelf", timeout=10)
    assert desk.catalog.get_copy(barcode)["transit"] is None
    assert desk.circulation.copy_availability(barcode)["available"] is True


def test_a_copy_in_transit_transferred_where_it_is_stays_and_is_lent_there(desk):
    [barcode] = desk.add_copies()
    desk.lend(barcode, desk.card())
    desk.give_back(barcode, campus="south")
    desk.in_transit(barcode)

    home_again = refusal(
        desk.catalog.transfer, {"barcode": barcode, "to_campus": "north", "shelf": "N-I-01"}
    )
    assert "on its way home to the north campus" in home_again.value
    moved = desk.catalog.transfer({"barcode": barcode, "to_campus": "south", "shelf": "S-I-07"})
    assert (moved["campus"], moved["status"], moved["transit"]) == ("south", "on_shelf", None)

    assert desk.home(barcode)["campus"] == "south"
    assert desk.lend(barcode, desk.card(name="韩梅梅"), campus="south")["campus"] == "south"


def test_a_copy_returned_damaged_at_the_other_campus_is_damaged_and_in_transit(desk):
    [barcode] = desk.add_copies()
    desk.lend(barcode, desk.card())
    desk.give_back(barcode, campus="south", condition="damaged")
    desk.in_transit(barcode)
    copy = desk.catalog.get_copy(barcode)
    assert copy["status"] == "damaged"
    assert copy["transit"]["from_campus"] == "south"
    refused = refusal(desk.lend, barcode, desk.card(name="韩梅梅"), TODAY, "south")
    assert "damaged and waiting for repair" in refused.value
