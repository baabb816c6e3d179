"""The school calendar over HTTP, with the real services: closed days a librarian adds
move due dates (lend, bulk lend, renew) and are not counted as days overdue; the class
borrowing rota is set, cleared and read; both are events, so the archive knows who."""

from __future__ import annotations

from shared.events.envelope import NewEvent
from shared.eventsourcing.store import ANY_VERSION, EventStore
from tests.helpers import wait_until
from tests.integration.test_accounts import People
from tests.integration.test_gateway import TODAY, problem
from tests.integration.test_gateway_openapi import conforms

SPORTS_DAY = "2026-10-26"  # TODAY (Monday 2026-10-12) + 14 days: a student's due date


def closed_named(people: People, first: str, last: str) -> dict[str, dict]:
    answer = people.get("/api/calendar", params={"from": first, "to": last})
    assert answer.status_code == 200, answer.text
    return {days["starts"]: days for days in answer.json()["closed"]}


def test_a_closed_day_added_through_the_api_moves_the_due_date(people, doc):
    calendar = people.get("/api/calendar", params={"from": "2026-09-01", "to": "2026-10-31"})
    conforms(doc, "GET", "/api/calendar", calendar)
    body = calendar.json()
    assert body["weekends_closed"] is True and body["overdue_counts_closed_days"] is False
    assert [term["name"] for term in body["terms"]] == ["2026-autumn"]
    assert body["closed"][1] == {
        "starts": "2026-10-01",
        "ends": "2026-10-07",
        "name": "国庆节",
        "source": "config",
        "kind": "closed",
    }

    added = people.post("/api/calendar/closed", {"starts": SPORTS_DAY, "name": "运动会"})
    conforms(doc, "POST", "/api/calendar/closed", added)
    assert added.status_code == 201, added.text
    assert added.json() == {
        "starts": SPORTS_DAY,
        "ends": SPORTS_DAY,
        "name": "运动会",
        "source": "librarian",
        "kind": "closed",
    }
    assert closed_named(people, "2026-10-01", "2026-10-31")[SPORTS_DAY]["source"] == "librarian"

    first, second, third = people.add_books(copies=3)
    patron = people.card()
    lent = people.lend(first, patron)
    assert lent.status_code == 201, lent.text
    assert lent.json()["due_on"] == "2026-10-27"  # not on the sports day: the day after
    bulk = people.post(
        "/api/loans/bulk",
        {"patron_id": patron, "barcodes": [second], "campus": "north", "on": TODAY.isoformat()},
        role="assistant",
    )
    assert bulk.status_code == 201, bulk.text
    assert [loan["due_on"] for loan in bulk.json()["loans"]] == ["2026-10-27"]

    # A renewal landing on a closed day moves too: Oct 27 + 14 is Tuesday Nov 10.
    people.post("/api/calendar/closed", {"starts": "2026-11-10", "name": "校庆"})
    renewed = people.post(
        f"/api/loans/{lent.json()['loan_id']}/renew",
        {"on": TODAY.isoformat(), "campus": "north"},
    )
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["due_on"] == "2026-11-11"

    # Removed again, the day is open: the next lend is due on it.
    removed = people.call("DELETE", f"/api/calendar/closed/{SPORTS_DAY}")
    conforms(doc, "DELETE", "/api/calendar/closed/{starts}", removed)
    assert removed.status_code == 200 and removed.json() == {"starts": SPORTS_DAY}
    assert people.lend(third, people.card(name="韩梅梅")).json()["due_on"] == SPORTS_DAY
    assert problem(people.call("DELETE", f"/api/calendar/closed/{SPORTS_DAY}"), 409)["code"] == (
        "no_such_closed_days"
    )
    # The config's days can be removed too (the school decided to open in the holiday).
    assert people.call("DELETE", "/api/calendar/closed/2026-10-01").status_code == 200
    assert "2026-10-01" not in closed_named(people, "2026-10-01", "2026-10-31")

    # Bad input is a 400 naming the field; only a librarian changes the calendar.
    backwards = {"starts": "2026-12-10", "ends": "2026-12-01", "name": "x"}
    assert "ends" in problem(people.post("/api/calendar/closed", backwards), 400)["errors"]
    assert (
        "name"
        in problem(people.post("/api/calendar/closed", {"starts": SPORTS_DAY}), 400)["errors"]
    )
    too_long = people.get("/api/calendar", params={"from": "2026-01-01", "to": "2028-01-01"})
    assert "to" in problem(too_long, 400)["errors"]
    no_right = people.post("/api/calendar/closed", {"starts": SPORTS_DAY, "name": "x"}, "assistant")
    problem(no_right, 403)
    assert people.get("/api/calendar", role="assistant").status_code == 200

    # Each change is an event with who made it.
    def changes():
        page = people.get("/api/events", params={"source": "circulation"}).json()["events"]
        return [e["type"] for e in page if e["type"].startswith("ClosedDays")]

    wait_until(lambda: len(changes()) == 4, timeout=20, what="the calendar's events")
    assert changes() == ["ClosedDaysSet", "ClosedDaysSet", "ClosedDaysRemoved", "ClosedDaysRemoved"]


def test_a_change_another_instance_made_is_seen_by_the_next_lend(people, pool_for):
    """The calendar is the store's, not one a process kept: a closed day appended by
    someone else (another circulation instance, as here straight to the store) moves the
    next lend's due date."""
    first, second = people.add_books(copies=2)
    before = people.lend(first, people.card())
    assert before.status_code == 201 and before.json()["due_on"] == SPORTS_DAY, before.text
    closed = {"starts": SPORTS_DAY, "ends": SPORTS_DAY, "name": "运动会", "kind": "closed"}
    with pool_for("circulation").transaction() as cursor:
        event = NewEvent("ClosedDaysSet", "calendar-school", closed)
        EventStore("circulation").append(cursor, "calendar-school", ANY_VERSION, [event])
    after = people.lend(second, people.card(name="韩梅梅"))
    assert after.status_code == 201 and after.json()["due_on"] == "2026-10-27", after.text


def test_a_make_up_school_day_on_a_saturday_keeps_a_due_date_on_it(people, doc):
    [barcode, other] = people.add_books(copies=2)
    saturday = "2026-10-31"  # 14 days after Saturday 2026-10-17
    before = people.lend(other, people.card(name="韩梅梅"), on=TODAY.replace(day=17))
    assert before.json()["due_on"] == "2026-11-02"  # a weekend: moved to Monday
    make_up = {"starts": saturday, "name": "调休上课", "kind": "open"}
    opened = people.post("/api/calendar/closed", make_up)
    conforms(doc, "POST", "/api/calendar/closed", opened)
    assert opened.status_code == 201 and opened.json()["kind"] == "open"
    lent = people.lend(barcode, people.card(), on=TODAY.replace(day=17))
    assert lent.json()["due_on"] == saturday
    bad_kind = people.post("/api/calendar/closed", {**make_up, "kind": "maybe"})
    assert "kind" in problem(bad_kind, 400)["errors"]


def test_overdue_days_leave_out_the_days_the_library_was_shut(people):
    [barcode] = people.add_books()
    patron = people.card(class_name="G9-1", name="张三")
    lent = people.lend(barcode, patron, on=TODAY.replace(month=9, day=16))
    assert lent.json()["due_on"] == "2026-09-30"

    overdue = people.get("/api/overdue", params={"class": "G9-1", "on": TODAY.isoformat()})
    [loan] = overdue.json()["classes"][0]["loans"]
    assert loan["days_overdue"] == 3  # Oct 8, 9 and 12: not the national-day week nor a weekend
    clearance = people.get("/api/clearance", params={"class": "G9-1", "on": TODAY.isoformat()})
    assert clearance.json()["outstanding"][0]["loans"][0]["days_overdue"] == 3

    back = people.post(
        "/api/returns",
        {"barcode": barcode, "campus": "north", "on": TODAY.isoformat()},
        role="assistant",
    )
    assert back.status_code == 200, back.text
    assert back.json()["overdue_days"] == 3


def test_the_rota_is_set_cleared_and_read(people, doc):
    tuesday = "2026-10-13"
    rota = people.get("/api/rota", params={"campus": "north", "on": tuesday}, role="assistant")
    conforms(doc, "GET", "/api/rota", rota)
    assert rota.status_code == 200, rota.text
    assert [slot["class_name"] for slot in rota.json()["today"]] == ["G7-2", "G7-3"]
    assert rota.json()["closed"] is None and rota.json()["weekday"] == 2

    slot = {"class": "G8-2", "campus": "north", "weekday": 2, "period": "4"}
    set_ = people.post("/api/rota", slot)
    conforms(doc, "POST", "/api/rota", set_)
    assert set_.status_code == 200, set_.text
    assert set_.json() == {
        "class_name": "G8-2",
        "campus": "north",
        "weekday": 2,
        "period": "4",
        "source": "librarian",
    }
    moved = people.post("/api/rota", {**slot, "class": "G7-3", "weekday": 5, "period": "3"})
    assert moved.status_code == 200, moved.text
    cleared = people.call("DELETE", "/api/rota/G7-2")
    conforms(doc, "DELETE", "/api/rota/{class_name}", cleared)
    assert cleared.status_code == 200 and cleared.json() == {"class_name": "G7-2"}

    rota = people.get("/api/rota", params={"campus": "north", "on": tuesday}).json()
    assert [(s["class_name"], s["source"]) for s in rota["today"]] == [("G8-2", "librarian")]
    assert [(s["class_name"], s["weekday"]) for s in rota["slots"]] == [
        ("G7-1", 1),
        ("G8-2", 2),
        ("G7-3", 5),
    ]
    # In the national-day week nobody comes: the day is shut, and says why.
    shut = people.get("/api/rota", params={"campus": "north", "on": "2026-10-06"}).json()
    assert shut["today"] == [] and shut["closed"] == "国庆节"
    # The whole school's rota is on the calendar too.
    calendar = people.get("/api/calendar").json()
    assert {s["class_name"] for s in calendar["rota"]} == {"G7-1", "G7-3", "G8-1", "G8-2", "G9-1"}

    assert problem(people.call("DELETE", "/api/rota/G7-2"), 409)["code"] == "no_such_rota_slot"
    bad = problem(people.post("/api/rota", {**slot, "weekday": 8, "class": "七年级3班"}), 400)
    assert {"weekday", "class"} <= set(bad["errors"])
    problem(people.post("/api/rota", slot, role="assistant"), 403)
