"""Offline circulation over HTTP, with the real services (docs/offline.md).

A desk that lost the link queued its scans; they come in order when it is back, each
done once however often it is sent; what is refused by then is a conflict a librarian
resolves once (lend anyway, return and re-lend, or dismiss). An offline file from a
laptop with a scanner is applied the same way, twice uploaded, once done.
"""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from shared.config import REPO_ROOT
from tests.helpers import wait_until
from tests.integration.test_accounts import start
from tests.integration.test_gateway import problem

MORNING = "2026-10-12T09:{:02d}:00+08:00"  # a Monday morning at the school
EXAMPLE = REPO_ROOT / "examples" / "offline" / "north-desk-morning.csv"


@pytest.fixture
def desk(runner_factory, config):
    return start(runner_factory, config)


def scan(action, barcode, patron_id=None, minute=0, command_id=None):
    entry = {
        "command_id": str(command_id or uuid.uuid4()),
        "at": MORNING.format(minute),
        "action": action,
        "barcode": barcode,
    }
    if patron_id is not None:
        entry["patron_id"] = patron_id
    return entry


def send(desk, *entries, role="assistant"):
    answer = desk.post("/api/offline", {"campus": "north", "entries": list(entries)}, role=role)
    assert answer.status_code == 200, answer.text
    return answer.json()


def loans_of(desk, patron_id):
    answer = desk.get(f"/api/patrons/{patron_id}/loans")
    assert answer.status_code == 200, answer.text
    return answer.json()["loans"]


def circulation_events(pool_for, event_type):
    with pool_for("circulation").transaction() as cursor:
        cursor.execute(
            "SELECT causation_id, data FROM events WHERE type = %s ORDER BY position",
            (event_type,),
        )
        return cursor.fetchall()


def conflicts(desk, state="open", role="librarian"):
    answer = desk.get(f"/api/offline/conflicts?campus=north&state={state}", role=role)
    assert answer.status_code == 200, answer.text
    return answer.json()["conflicts"]


def resolve(desk, conflict_id, resolution, role="librarian", note=""):
    return desk.post(
        f"/api/offline/conflicts/{conflict_id}/resolve",
        {"resolution": resolution, "note": note},
        role=role,
    )


# ------------------------------------------------------------------ the queue


def test_a_batch_is_applied_in_order_on_the_days_it_was_scanned(desk, pool_for):
    a, b = desk.add_books(2)
    reader = desk.card(name="王芳")
    entries = [
        scan("lend", a, reader, minute=1),
        scan("lend", b, reader, minute=2),
        scan("return", a, minute=40),  # lent and brought back the same morning
    ]
    answer = desk.post("/api/offline", {"campus": "north", "entries": entries}, role="assistant")
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Event-Positions"].startswith("circulation=")
    report = answer.json()
    assert report["counts"] == {"applied": 3, "already": 0, "conflicts": 0}
    assert [e["action"] for e in report["applied"]] == ["lend", "lend", "return"]
    assert report["applied"][0]["due_on"] and report["applied"][2]["patron_id"] == reader
    assert [loan["barcode"] for loan in loans_of(desk, reader)] == [b]
    lent = circulation_events(pool_for, "Lent")
    assert {data["lent_on"] for _, data in lent} == {"2026-10-12"}  # the day of `at`
    assert not any("override" in data for _, data in lent)


def test_the_same_batch_twice_is_done_once(desk, pool_for):
    a, b = desk.add_books(2)
    reader = desk.card(name="王芳")
    batch = [scan("lend", a, reader, 1), scan("lend", b, reader, 2), scan("return", b, None, 3)]
    first = send(desk, *batch)
    again = send(desk, *batch)
    assert first["counts"] == {"applied": 3, "already": 0, "conflicts": 0}
    assert again["counts"] == {"applied": 0, "already": 3, "conflicts": 0}
    assert [e["loan_id"] for e in again["applied"]] == [e["loan_id"] for e in first["applied"]]
    assert all(e["already"] for e in again["applied"])
    lent = circulation_events(pool_for, "Lent")
    assert sorted(cause for cause, _ in lent) == sorted(e["command_id"] for e in batch[:2])
    assert len(circulation_events(pool_for, "Returned")) == 1
    assert [loan["barcode"] for loan in loans_of(desk, reader)] == [a]


def test_a_bad_entry_refuses_the_whole_batch_naming_it(desk):
    (a,) = desk.add_books(1)
    reader = desk.card()
    entries = [scan("lend", a, reader), scan("lend", a, None), scan("borrow", a, reader)]
    body = problem(desk.post("/api/offline", {"campus": "north", "entries": entries}), 400)
    errors = body["errors"]["entries"]
    assert sorted(errors) == ["1", "2"]
    assert "patron_id" in errors["1"] and "action" in errors["2"]
    assert loans_of(desk, reader) == []  # nothing applied


def damaged_copy(desk, barcode):
    wait_until(
        lambda: desk.get(f"/api/copies/{barcode}/availability").json()["status"] == "damaged",
        timeout=15,
        what=f"{barcode} to be damaged",
    )


def test_a_book_returned_damaged_offline_is_recorded_damaged(desk, pool_for):
    a, b = desk.add_books(2)
    reader = desk.card(name="王芳")
    assert desk.lend(a, reader).status_code == 201
    assert desk.lend(b, reader).status_code == 201
    damaged = {**scan("return", a, minute=30), "condition": "damaged"}
    report = send(desk, damaged, scan("return", b, minute=31))  # b: "ok", as /api/returns
    assert report["counts"] == {"applied": 2, "already": 0, "conflicts": 0}
    returned = {data["barcode"]: data for _, data in circulation_events(pool_for, "Returned")}
    assert returned[a]["condition"] == "damaged" and returned[b]["condition"] == "ok"
    damaged_copy(desk, a)  # the catalog marks it; circulation's copies follow
    assert desk.get(f"/api/copies/{b}/availability").json()["status"] != "damaged"
    # A lend is never "damaged": the whole batch is refused, naming the entry.
    (c,) = desk.add_books(1)
    wrong = {**scan("lend", c, reader, 40), "condition": "damaged"}
    body = problem(desk.post("/api/offline", {"campus": "north", "entries": [wrong]}), 400)
    assert "condition" in body["errors"]["entries"]["0"]


# ------------------------------------------------------------------ conflicts


def test_what_became_impossible_meanwhile_is_kept_once_as_a_conflict(desk, pool_for):
    a, b, c, d = desk.add_books(4)
    reader, other, blocked = desk.card(name="王芳"), desk.card(name="李明"), desk.card(name="张伟")
    # meanwhile, online: a lent at the other desk, a card blocked, the reader at her limit
    assert desk.lend(a, other).status_code == 201
    assert desk.post(f"/api/cards/{blocked}/block", {"reason": "三本逾期"}).status_code == 200
    for barcode in desk.add_books(3):
        assert desk.lend(barcode, reader).status_code == 201
    batch = [
        scan("lend", a, blocked, 5),
        scan("lend", b, blocked, 6),
        scan("lend", c, reader, 7),
        scan("return", d, None, 8),  # taken back although never recorded as lent
    ]
    report = send(desk, *batch)
    assert report["counts"] == {"applied": 0, "already": 0, "conflicts": 4}
    codes = [(c["code"], c["resolutions"]) for c in report["conflicts"]]
    assert codes == [
        ("card_blocked", ["override", "dismiss"]),  # blocked is checked before the copy
        ("card_blocked", ["override", "dismiss"]),
        ("loan_limit", ["override", "dismiss"]),
        ("not_on_loan", ["dismiss"]),
    ]
    again = send(desk, *batch)  # sent again: the same conflicts, not new ones
    assert [c["conflict_id"] for c in again["conflicts"]] == [
        c["conflict_id"] for c in report["conflicts"]
    ]
    assert len(circulation_events(pool_for, "OfflineScanRefused")) == 4
    listed = conflicts(desk)
    assert [c["conflict_id"] for c in listed] == [
        c["conflict_id"] for c in reversed(report["conflicts"])
    ]  # newest first
    first = listed[-1]
    assert first["state"] == "open" and first["resolved"] is None
    assert first["at"] == "2026-10-12T09:05:00+08:00" and first["campus"] == "north"


def test_a_copy_lent_at_the_other_desk_meanwhile_is_taken_back_and_relent(desk, pool_for):
    (a,) = desk.add_books(1)
    reader, other = desk.card(name="王芳"), desk.card(name="李明")
    assert desk.lend(a, other).status_code == 201
    [conflict] = send(desk, scan("lend", a, reader, 5))["conflicts"]
    assert conflict["code"] == "copy_on_loan"
    assert conflict["resolutions"] == ["return_and_relend", "dismiss"]
    title = desk.get(f"/api/copies/{a}/availability").json()["title"]
    # who and what, for the librarian to read without a lookup per line
    assert (conflict["name"], conflict["title"]) == ("王芳", title)
    assert (conflicts(desk)[0]["name"], conflicts(desk)[0]["title"]) == ("王芳", title)
    body = problem(resolve(desk, conflict["conflict_id"], "override"), 409)
    assert body["code"] == "override_not_allowed"

    answer = resolve(desk, conflict["conflict_id"], "return_and_relend", role="assistant")
    assert answer.status_code == 200, answer.text
    resolved = answer.json()
    assert resolved["state"] == "resolved" and resolved["resolutions"] == []
    assert resolved["resolved"]["resolution"] == "return_and_relend"
    assert resolved["resolved"]["loan_id"] and resolved["resolved"]["by"]
    assert loans_of(desk, other) == []
    assert [loan["barcode"] for loan in loans_of(desk, reader)] == [a]
    assert conflicts(desk) == [] and len(conflicts(desk, "resolved")) == 1


def test_a_librarian_overrides_the_limit_and_the_loan_says_so(desk, pool_for):
    a, b, c, d = desk.add_books(4)
    reader = desk.card(name="王芳")
    for barcode in (a, b, c):
        assert desk.lend(barcode, reader).status_code == 201
    [conflict] = send(desk, scan("lend", d, reader, 9))["conflicts"]
    assert conflict["code"] == "loan_limit"

    refused = problem(resolve(desk, conflict["conflict_id"], "override", role="assistant"), 403)
    assert refused["code"] == "missing_right" and refused["right"] == "loans.override"

    answer = resolve(desk, conflict["conflict_id"], "override", note="断网时已借出")
    assert answer.status_code == 200, answer.text
    assert answer.json()["resolved"]["resolution"] == "override"
    assert len(loans_of(desk, reader)) == 4
    [(_, lent)] = [row for row in circulation_events(pool_for, "Lent") if row[1]["barcode"] == d]
    assert lent["lent_on"] == "2026-10-12"
    assert lent["override"]["code"] == "loan_limit"
    assert lent["override"]["set_aside"] == ["loan_limit"]
    assert lent["override"]["note"] == "断网时已借出"
    assert lent["override"]["conflict_id"] == conflict["conflict_id"]
    with pool_for("circulation").transaction() as cursor:
        cursor.execute("SELECT actor FROM events WHERE data->>'loan_id' = %s", (lent["loan_id"],))
        (actor,) = cursor.fetchone()
    assert actor["role"] == "librarian" and lent["override"]["by"] == actor["username"]

    again = problem(resolve(desk, conflict["conflict_id"], "dismiss"), 409)
    assert again["code"] == "offline_conflict_resolved"


def test_an_override_is_refused_for_a_retired_card_and_a_dismiss_records_nothing(desk, pool_for):
    a, b = desk.add_books(2)
    leaver = desk.card(name="赵磊")
    assert desk.post(f"/api/cards/{leaver}/retire", {"reason": "转学"}).status_code == 200
    [conflict] = send(desk, scan("lend", a, leaver, 3))["conflicts"]
    assert conflict["code"] == "card_retired" and conflict["resolutions"] == ["dismiss"]
    body = problem(resolve(desk, conflict["conflict_id"], "override"), 409)
    assert body["code"] == "override_not_allowed"

    answer = resolve(desk, conflict["conflict_id"], "dismiss", role="assistant", note="误扫")
    assert answer.status_code == 200, answer.text
    assert answer.json()["resolved"]["note"] == "误扫"
    assert circulation_events(pool_for, "Lent") == []
    assert len(circulation_events(pool_for, "OfflineConflictResolved")) == 1


def test_an_unknown_conflict_is_404(desk):
    problem(resolve(desk, "OC0000000000000000", "dismiss"), 404)


# ------------------------------------------------------------------ the file


def upload(desk, raw: bytes, role="assistant"):
    return desk.call(
        "POST",
        "/api/offline/file?campus=north",
        role,
        headers={"Content-Type": "text/csv"},
        data=raw,
    )


def test_a_file_with_a_bad_line_and_the_chinese_header_uploaded_twice_applies_once(desk, pool_for):
    a, b = desk.add_books(2)
    reader = desk.card(name="王芳")
    text = (
        "时间,操作,借书证号,条码号\n"
        f"2026-10-12 09:15,借,{reader},{a}\n"
        f"2026/10/12 9:16,借出,{reader},{b}\n"
        f"2026-10-12 25:00,借,{reader},{a}\n"
        f"2026-10-12T09:40:02,还,,{a}\n"
    )
    first = upload(desk, text.encode("gb18030"))
    assert first.status_code == 200, first.text
    report = first.json()
    assert report["counts"] == {"applied": 3, "already": 0, "conflicts": 0}
    assert report["rows_refused"] == [{"line": 4, "field": "time", "code": "offline_bad_time"}]
    again = upload(desk, "\ufeff".encode() + text.encode("utf-8"))  # UTF-8 with a BOM now
    assert again.status_code == 200, again.text
    assert again.json()["counts"] == {"applied": 0, "already": 3, "conflicts": 0}
    assert len(circulation_events(pool_for, "Lent")) == 2
    assert [loan["barcode"] for loan in loans_of(desk, reader)] == [b]


def test_a_file_with_a_condition_column_records_a_damaged_return(desk, pool_for):
    a, b, c = desk.add_books(3)
    reader = desk.card(name="王芳")
    for barcode in (a, b):
        assert desk.lend(barcode, reader).status_code == 201
    text = (
        "时间,操作,借书证号,条码号,状况\n"
        f"2026-10-12 09:15,还,,{a},损坏\n"
        f"2026-10-12 09:16,还,,{b}\n"  # the fifth cell left out: intact
        f"2026-10-12 09:17,借,{reader},{c},损坏\n"  # a lend is not damaged: a bad line
    )
    answer = upload(desk, text.encode("utf-8"))
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["counts"] == {"applied": 2, "already": 0, "conflicts": 0}
    assert report["rows_refused"] == [
        {"line": 4, "field": "condition", "code": "offline_bad_condition"}
    ]
    returned = {data["barcode"]: data for _, data in circulation_events(pool_for, "Returned")}
    assert returned[a]["condition"] == "damaged" and returned[b]["condition"] == "ok"
    damaged_copy(desk, a)
    again = upload(desk, text.encode("utf-8"))
    assert again.json()["counts"] == {"applied": 0, "already": 2, "conflicts": 0}


def test_a_file_without_the_columns_too_long_or_too_big_is_refused_whole(desk):
    body = problem(upload(desk, b"when,what\n2026-10-12 09:15,lend\n"), 400)
    assert body["code"] == "offline_bad_header"
    lines = b"time,action,card,barcode\n" + b"2026-10-12 09:15,return,,C00000001\n" * 501
    assert problem(upload(desk, lines), 400)["code"] == "offline_file_too_long"
    problem(upload(desk, b"time,action,card,barcode\n" + b"x" * (256 * 1024)), 413)


def test_the_example_morning_at_the_north_desk(desk):
    """examples/offline/north-desk-morning.csv on a library whose copies C00000041-43 were
    lent before: every line done but the bad one (line 13) and the fourth book lent to one
    student (line 15, her limit), as docs/offline.md tells."""
    barcodes = desk.add_books(60) + desk.add_books(60)
    assert barcodes[40] == "C00000041" and barcodes[110] == "C00000111"
    for patron_id in ("S70101", "S70102", "S70205", "S70310", "S70412", "S70999"):
        desk.card(name="学生", patron_id=patron_id)
    desk.card(name="王老师", kind="teacher", class_name=None, patron_id="T001")
    for barcode in ("C00000041", "C00000042", "C00000043"):
        assert desk.lend(barcode, "S70999", on=date(2026, 12, 1)).status_code == 201
    answer = upload(desk, EXAMPLE.read_bytes())
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["rows_refused"] == [{"line": 13, "field": "time", "code": "offline_bad_time"}]
    assert report["counts"] == {"applied": 18, "already": 0, "conflicts": 1}
    [conflict] = report["conflicts"]
    assert (conflict["code"], conflict["patron_id"], conflict["barcode"]) == (
        "loan_limit",
        "S70101",
        "C00000110",
    )


def test_a_scan_refused_then_sent_again_when_it_would_pass_is_still_its_conflict(desk, pool_for):
    """The first answer stands: the librarian resolves the conflict, a resend does not
    quietly lend behind her back (she may be lending it anyway at this moment)."""
    (a,) = desk.add_books(1)
    reader, other = desk.card(name="王芳"), desk.card(name="李明")
    assert desk.lend(a, other).status_code == 201
    entry = scan("lend", a, reader, 5)
    [conflict] = send(desk, entry)["conflicts"]
    returned = desk.post("/api/returns", {"barcode": a, "campus": "north"}, role="assistant")
    assert returned.status_code == 200, returned.text
    again = send(desk, entry)
    assert again["counts"] == {"applied": 0, "already": 0, "conflicts": 1}
    assert again["conflicts"][0]["conflict_id"] == conflict["conflict_id"]
    assert loans_of(desk, reader) == []
    # now the librarian lends it anyway: nothing is set aside any more, and it is recorded
    answer = resolve(desk, conflict["conflict_id"], "return_and_relend")
    assert answer.status_code == 200, answer.text
    assert [loan["barcode"] for loan in loans_of(desk, reader)] == [a]


def test_an_unknown_copy_or_card_is_a_conflict_to_dismiss(desk):
    (a,) = desk.add_books(1)
    reader = desk.card()
    report = send(
        desk,
        scan("lend", "C09999999", reader, 1),
        scan("lend", a, "S404", 2),
        scan("return", "C09999998", None, 3),
    )
    assert [(c["code"], c["resolutions"]) for c in report["conflicts"]] == [
        ("unknown_copy", ["dismiss"]),
        ("no_card", ["dismiss"]),
        ("unknown_copy", ["dismiss"]),
    ]
    title = desk.get(f"/api/copies/{a}/availability").json()["title"]
    assert [(c["name"], c["title"]) for c in report["conflicts"]] == [
        ("李雷", None),  # a copy circulation does not know has no title
        (None, title),  # nor a card it does not know a name
        (None, None),  # a return names no reader
    ]


def test_the_conflicts_read_model_is_rebuilt_from_events_alone(desk, pool_for):
    from services.circulation.offline_conflicts import OfflineConflicts
    from shared.eventsourcing.rebuild import rebuild
    from shared.eventsourcing.store import EventStore

    a, b = desk.add_books(2)
    reader, other = desk.card(name="王芳"), desk.card(name="李明")
    assert desk.lend(a, other).status_code == 201
    report = send(desk, scan("lend", a, reader, 1), scan("return", b, None, 2))
    assert resolve(desk, report["conflicts"][1]["conflict_id"], "dismiss").status_code == 200
    pool = pool_for("circulation")

    def table():
        with pool.transaction() as cursor:
            cursor.execute("SELECT * FROM offline_conflicts ORDER BY conflict_id")
            return cursor.fetchall()

    def read_feed(source, after, limit):
        with pool.transaction() as cursor:
            return EventStore(source).read(cursor, after, limit)

    live = table()
    assert len(live) == 2
    rebuild(pool, OfflineConflicts(), read_feed)
    assert table() == live


def test_the_answers_are_as_the_openapi_document_says(desk):
    from tests.integration.test_gateway_openapi import conforms

    doc = desk.get("/openapi.json", role=None).json()
    (a,) = desk.add_books(1)
    reader = desk.card()
    body = {"campus": "north", "entries": [scan("lend", a, reader, 1), scan("return", "C09999999")]}
    answer = conforms(
        doc, "POST", "/api/offline", desk.post("/api/offline", body, role="assistant")
    )
    conflict_id = answer.json()["conflicts"][0]["conflict_id"]
    listed = desk.get("/api/offline/conflicts?state=all&campus=north")
    conforms(doc, "GET", "/api/offline/conflicts", listed)
    resolved = resolve(desk, conflict_id, "dismiss")
    conforms(doc, "POST", "/api/offline/conflicts/{conflict_id}/resolve", resolved)
    file = upload(desk, b"time,action,card,barcode\n2026-10-12 10:00,return,," + a.encode() + b"\n")
    conforms(doc, "POST", "/api/offline/file", file)
