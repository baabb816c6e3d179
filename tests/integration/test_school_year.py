"""The year's turn over HTTP, on a small school, against the real services.

Classes move up a grade (G7-3 -> G8-3) with their class teacher, the graduating
classes (G9, G12) stay for clearance, the graduates who hold nothing are retired
and those holding a book or owing money are listed and left active; the old
term's leaderboard and term targets stay as they were; a year is turned once.
"""

from __future__ import annotations

from datetime import date

from tests.helpers import wait_until
from tests.integration.test_gateway import problem
from tests.integration.test_gateway_openapi import conforms

AUTUMN = {"period": "term", "on": "2026-12-01"}  # the old term: 2026-autumn
NEXT_AUTUMN = {"period": "term", "on": "2027-10-01"}  # the new school year's first term
STARTS = "2027-08-30"  # the new school year's first day
READ_AFTER = "X-Read-After"


def returned(people, barcode: str, on: date) -> None:
    back = people.post(
        "/api/returns", {"barcode": barcode, "campus": "north", "on": on.isoformat()},
        role="assistant",
    )  # fmt: skip
    assert back.status_code == 200, back.text


def test_a_years_turn_on_a_small_school(people, doc):
    books = people.add_books(copies=4)
    teacher, _ = people.card_holder("陈老师", "teacher", "G7-3")
    leaving_teacher, _ = people.card_holder("王老师", "teacher", "G9-3")
    li_lei = people.card(name="李雷", class_name="G7-3")
    han = people.card(name="韩梅梅", class_name="G9-3")  # graduates holding nothing
    zhang = people.card(name="张三", class_name="G9-3")  # graduates holding a book
    li_si = people.card(name="李四", class_name="G12-1")  # graduates owing for a lost book
    corner = people.card(name="初二(2)班图书角", kind="class_corner", class_name="G8-2")

    # The old term: 李雷 (G7-3) and 韩梅梅 (G9-3) each read a book.
    for barcode, reader in ((books[0], li_lei), (books[1], han)):
        assert people.lend(barcode, reader, on=date(2026, 10, 12)).status_code == 201
        returned(people, barcode, date(2026, 10, 20))
    assert people.lend(books[2], zhang, on=date(2026, 11, 2)).status_code == 201
    lost = people.lend(books[3], li_si, on=date(2026, 11, 2)).json()["loan_id"]
    assert people.post(f"/api/loans/{lost}/lost", {}).status_code == 200

    def board(term=AUTUMN):
        answer = people.get("/api/leaderboards/classes", role=None, params=term)
        return [(e["class_name"], e["books"]) for e in answer.json()["entries"]]

    before = wait_until(lambda: len(board()) == 2 and board(), timeout=20, what="the board")
    assert before == [("G7-3", 1), ("G9-3", 1)]
    targets_before = people.get("/api/targets", params={"term": "2026-autumn"}).json()

    # The turn: one command.
    turned = people.post("/api/school-year/turn", {"school_year": 2027, "starts": STARTS})
    conforms(doc, "POST", "/api/school-year/turn", turned)
    answer = turned.json()
    assert answer["moved"] == {"G7-3": "G8-3", "G8-2": "G9-2"}
    assert answer["graduating"] == ["G9-3", "G12-1"]
    assert (answer["cards_moved"], answer["cards_graduated"]) == (4, 3)  # 2 teachers, 2 cards
    assert answer["already_turned"] is False and answer["starts"] == STARTS
    positions = turned.headers["X-Event-Positions"]

    def card(patron_id):
        return people.get(f"/api/cards/{patron_id}").json()

    assert card(li_lei)["class_name"] == "G8-3"
    assert card(corner)["class_name"] == "G9-2"
    assert card(han)["class_name"] == "G9-3" and card(han)["status"] == "active"

    # 班主任 follows her class; the graduating class's teacher has none left.
    def classes(username):
        return people.get(f"/api/accounts/{username}").json()["classes"]

    wait_until(lambda: classes(teacher) == ["G8-3"], timeout=20, what="陈老师 in G8-3")
    wait_until(lambda: classes(leaving_teacher) == [], timeout=20, what="王老师's class gone")

    # Turning the same year again moves nothing; an earlier year is refused.
    again = people.post("/api/school-year/turn", {"school_year": 2027})
    assert again.status_code == 200 and again.json()["already_turned"] is True
    assert again.json()["moved"] == answer["moved"]
    assert card(li_lei)["class_name"] == "G8-3"
    assert problem(people.post("/api/school-year/turn", {"school_year": 2026}), 409)["code"] == (
        "school_year_past"
    )
    assert "school_year" in problem(people.post("/api/school-year/turn", {}), 400)["errors"]
    problem(people.post("/api/school-year/turn", {"school_year": 2027}, role="assistant"), 403)

    # The old term, as the reading programme has it once it has seen the turn.
    after = {READ_AFTER: positions}
    old_board = people.get("/api/leaderboards/classes", role=None, params=AUTUMN, headers=after)
    assert [(e["class_name"], e["books"]) for e in old_board.json()["entries"]] == before
    targets_after = people.get("/api/targets", params={"term": "2026-autumn"}, headers=after)
    assert targets_after.json()["classes"] == targets_before["classes"]
    # The new school year counts 李雷 in G8-3: his reading, and his term target.
    assert people.lend(books[0], li_lei, on=date(2027, 9, 6)).status_code == 201
    returned(people, books[0], date(2027, 9, 13))
    wait_until(lambda: board(NEXT_AUTUMN) == [("G8-3", 1)], timeout=20, what="the new board")
    new_targets = people.get("/api/targets", params={"term": "2027-autumn", "on": "2027-10-01"})
    new_targets = new_targets.json()
    assert "G8-3" in [c["class_name"] for c in new_targets["classes"]]
    assert "G7-3" not in [c["class_name"] for c in new_targets["classes"]]

    # The books of record count him in G8-3 too: the new term's report sizes his class.
    def report_classes():
        report = people.get("/api/terms/2027-autumn/report").json()
        return [(c["class_name"], c["students"]) for c in report["most_active_classes"]]

    wait_until(lambda: report_classes() == [("G8-3", 1)], timeout=20, what="G8-3 in the report")

    # The graduating classes' clearance.
    graduates = people.get("/api/school-year/graduates", role="assistant")
    conforms(doc, "GET", "/api/school-year/graduates", graduates)
    lines = {c["class_name"]: c for c in graduates.json()["classes"]}
    assert graduates.json()["school_year"] == 2027 and list(lines) == ["G9-3", "G12-1"]
    assert graduates.json()["graduating_grades"] == [9, 12]
    assert (lines["G9-3"]["graduates"], lines["G9-3"]["cleared"]) == (2, 1)
    assert [p["name"] for p in lines["G9-3"]["outstanding"]] == ["张三"]
    assert lines["G12-1"]["outstanding"][0]["unpaid"][0]["loan_id"] == lost

    # Retire the graduates who hold nothing; the others are listed, left active.
    retired = people.post("/api/school-year/retire-graduates", {})
    conforms(doc, "POST", "/api/school-year/retire-graduates", retired)
    done = retired.json()
    assert [(p["patron_id"], p["class_name"]) for p in done["retired"]] == [(han, "G9-3")]
    left = {p["name"]: p for p in done["left_active"]}
    assert sorted(left) == ["张三", "李四"]
    assert left["张三"]["class_name"] == "G9-3" and left["张三"]["loans"][0]["barcode"] == books[2]
    assert left["李四"]["unpaid"][0]["replacement_cost"]
    assert card(han)["status"] == "retired"
    assert card(zhang)["status"] == "active" and card(li_si)["status"] == "active"
    assert card(corner)["status"] == "active"  # moved up, not a graduate

    cleared = people.get("/api/school-year/graduates").json()
    assert [(c["class_name"], c["retired"], c["active"]) for c in cleared["classes"]] == [
        ("G9-3", 1, 1),
        ("G12-1", 0, 1),
    ]
    again = people.post("/api/school-year/retire-graduates", {"school_year": 2027}).json()
    assert again["retired"] == [] and len(again["left_active"]) == 2

    # The old term's leaderboard keeps 韩梅梅's reading in G9-3, retired or not.
    later = {READ_AFTER: retired.headers["X-Event-Positions"]}
    final = people.get("/api/leaderboards/classes", role=None, params=AUTUMN, headers=later)
    assert [(e["class_name"], e["books"]) for e in final.json()["entries"]] == before
