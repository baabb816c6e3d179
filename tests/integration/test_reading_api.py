"""The reading programme over HTTP, with the real services: what the screens call.

Notes of a class (a teacher sees her own), the month's winners, competitions
(open, enter, score, close, ranked results), term targets with who is behind,
the weekly class bulletin (JSON, text and CSV) and the top titles, each as the
person who uses it: a librarian, a class teacher, a student, or anyone (what the
library publishes). Every answer is checked against the OpenAPI document.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import requests

from tests.helpers import wait_until
from tests.integration.test_accounts import People
from tests.integration.test_gateway import TITLE, TODAY, problem
from tests.integration.test_gateway_openapi import conforms

WEEK = "2026-W42"  # the week of TODAY (Monday 2026-10-12)


def known_to_the_programme(people: People, token: str) -> None:
    """The reading programme has seen the reader's card (it follows circulation's events)."""
    wait_until(
        lambda: people.as_(token, "GET", "/api/me/target").status_code == 200,
        timeout=20,
        what="the reading programme to know the card",
    )


def note_about(people: People, token: str, loan_id: str, text: str) -> dict:
    """A student hands in a note about his loan once the programme knows the loan."""

    def submitted():
        answer = people.as_(token, "POST", "/api/notes", json={"loan_id": loan_id, "text": text})
        return answer if answer.status_code == 201 else None

    return wait_until(submitted, timeout=20, what="the note to be accepted").json()


# ------------------------------------------------------------------ notes and winners


def test_a_teacher_lists_her_classs_notes_awards_one_and_the_month_has_a_winner(people, doc):
    teacher, teacher_token = people.card_holder("陈老师", "teacher", "G7-3")
    li_lei, li_lei_token = people.card_holder("李雷", "student", "G7-3")
    wang, wang_token = people.card_holder("王五", "student", "G8-1")
    first, second = people.add_books(copies=2)
    loan = people.lend(first, li_lei).json()
    other = people.lend(second, wang).json()
    note = note_about(people, li_lei_token, loan["loan_id"], "宝玉和黛玉的故事让我很感动。")
    note_about(people, wang_token, other["loan_id"], "我喜欢这本书。")

    # Her one class when she names none; only her classes.
    mine = conforms(doc, "GET", "/api/notes", people.as_(teacher_token, "GET", "/api/notes"))
    assert [n["note_id"] for n in mine.json()["notes"]] == [note["note_id"]]
    pending = people.as_(teacher_token, "GET", "/api/notes", params={"status": "pending"})
    assert [n["patron_id"] for n in pending.json()["notes"]] == [li_lei]
    assert pending.json()["notes"][0]["class_name"] == "G7-3"
    refused = problem(people.as_(teacher_token, "GET", "/api/notes", params={"class": "G8-1"}), 403)
    assert refused["right"] == "patrons.read"
    problem(people.as_(li_lei_token, "GET", "/api/notes"), 403)
    problem(people.get("/api/notes", params={"class_name": "G7-3"}), 400)  # written `class`

    # The librarian sees every class, by campus, reader or status.
    everyone = people.get("/api/notes", params={"campus": "north"}).json()["notes"]
    assert {n["patron_id"] for n in everyone} == {li_lei, wang}
    his = people.get("/api/notes", params={"patron_id": wang}).json()["notes"]
    assert [n["patron_id"] for n in his] == [wang]

    awarded = people.as_(
        teacher_token, "POST", f"/api/notes/{note['note_id']}/award",
        json={"award": "一等奖", "awarded_by": teacher},
    )  # fmt: skip
    assert awarded.status_code == 200, awarded.text
    done = people.as_(teacher_token, "GET", "/api/notes", params={"status": "awarded"}).json()
    assert [n["award"] for n in done["notes"]] == ["一等奖"]
    assert people.as_(teacher_token, "GET", "/api/notes", params={"status": "pending"}).json() == {
        "notes": []
    }

    month = note["submitted_on"][:7]
    winners = people.as_(wang_token, "GET", "/api/notes/winners", params={"month": month})
    conforms(doc, "GET", "/api/notes/winners", winners)
    board = winners.json()
    assert board["month"] == month
    by_class = {c["class_name"]: c["winners"] for c in board["classes"]}
    assert by_class["G7-3"][0]["patron_id"] == li_lei and by_class["G7-3"][0]["awards"] == 1
    [north] = board["campuses"]
    assert [w["patron_id"] for w in north["winners"]] == [li_lei, wang]  # the award counts first
    this_month = people.as_(wang_token, "GET", "/api/notes/winners").json()
    assert this_month["month"] == month  # left out: this month
    problem(people.get("/api/notes/winners", params={"month": "2026-13"}), 400)
    problem(people.get("/api/notes/winners", role=None), 401)


# ------------------------------------------------------------------ competitions


def test_a_competition_is_opened_entered_scored_closed_and_ranked(people, doc):
    teacher, teacher_token = people.card_holder("陈老师", "teacher", "G7-3")
    li_lei, li_lei_token = people.card_holder("李雷", "student", "G7-3")
    han_mei, han_mei_token = people.card_holder("韩梅梅", "student", "G7-3")
    for token in (li_lei_token, han_mei_token):
        known_to_the_programme(people, token)

    closes_on = (TODAY + timedelta(days=400)).isoformat()
    essay = {"title": "我最喜欢的一本书", "kind": "essay", "closes_on": closes_on}
    problem(people.as_(li_lei_token, "POST", "/api/competitions", json=essay), 403)
    opened = people.as_(teacher_token, "POST", "/api/competitions", json=essay)
    conforms(doc, "POST", "/api/competitions", opened)
    assert opened.status_code == 201, opened.text
    competition = opened.json()
    assert competition["status"] == "open" and competition["entries"] == 0
    cid = competition["competition_id"]

    # A student enters himself (his card filled in), never someone else; staff enter anyone.
    entries = f"/api/competitions/{cid}/entries"
    mine = people.as_(li_lei_token, "POST", entries, json={"title": "读《红楼梦》"})
    conforms(doc, "POST", "/api/competitions/{competition_id}/entries", mine)
    assert mine.status_code == 201 and mine.json()["patron_id"] == li_lei
    for_her = people.as_(li_lei_token, "POST", entries, json={"title": "x", "patron_id": han_mei})
    assert problem(for_her, 403)["right"] == "desk"
    hers = people.as_(teacher_token, "POST", entries, json={"title": "读《西游记》",
                                                            "patron_id": han_mei})  # fmt: skip
    assert hers.status_code == 201, hers.text
    again = people.as_(li_lei_token, "POST", entries, json={"title": "再来一次"})
    assert problem(again, 409)["code"] == "already_entered"

    provisional = people.as_(han_mei_token, "GET", f"/api/competitions/{cid}/results")
    conforms(doc, "GET", "/api/competitions/{competition_id}/results", provisional)
    assert provisional.json()["final"] is False and len(provisional.json()["unscored"]) == 2
    close = f"/api/competitions/{cid}/close"
    assert problem(people.as_(teacher_token, "POST", close), 409)["code"] == "unscored_entries"

    # The teacher scores in her own name (her card filled in); a student cannot score.
    def score(token, entry, points, **extra):
        path = f"/api/competitions/{cid}/entries/{entry['entry_id']}/score"
        return people.as_(token, "POST", path, json={"score": points, **extra})

    problem(score(li_lei_token, mine.json(), 100), 403)
    scored = score(teacher_token, mine.json(), 88)
    conforms(doc, "POST", "/api/competitions/{competition_id}/entries/{entry_id}/score", scored)
    assert scored.json()["score"] == 88 and scored.json()["scored_by"] == teacher
    assert problem(score(teacher_token, hers.json(), 95, scored_by=li_lei), 403)["right"] == (
        "collection.manage"
    )
    assert score(teacher_token, hers.json(), 95).status_code == 200
    problem(score(teacher_token, hers.json(), 101), 400)

    closed = people.as_(teacher_token, "POST", close)
    conforms(doc, "POST", "/api/competitions/{competition_id}/close", closed)
    final = closed.json()
    assert final["final"] is True and final["competition"]["status"] == "closed"
    assert [(r["rank"], r["patron_id"], r["name"]) for r in final["results"]] == [
        (1, han_mei, "韩梅梅"),
        (2, li_lei, "李雷"),
    ]
    assert problem(people.as_(teacher_token, "POST", close), 409)["code"] == "already_closed"

    listed = people.as_(li_lei_token, "GET", "/api/competitions")
    conforms(doc, "GET", "/api/competitions", listed)
    summary = [
        (c["competition_id"], c["status"], c["entries"]) for c in listed.json()["competitions"]
    ]
    assert summary == [(cid, "closed", 2)]
    assert people.get("/api/competitions", params={"status": "open"}).json() == {"competitions": []}
    problem(people.get("/api/competitions/K-nothing/results"), 404)
    problem(people.get("/api/competitions", role=None), 401)
    problem(people.post("/api/competitions", {**essay, "kind": "poem"}), 400)


# ------------------------------------------------------------------ targets, bulletin, titles


def test_term_targets_say_who_is_behind_class_by_class(people, doc):
    teacher, teacher_token = people.card_holder("陈老师", "teacher", "G7-3")
    li_lei, li_lei_token = people.card_holder("李雷", "student", "G7-3")
    wang = people.card(name="王五", class_name="G8-1")
    known_to_the_programme(people, li_lei_token)
    on = {"on": "2026-10-20"}

    def targets(role="librarian", token=None, **params):
        if token:
            return people.as_(token, "GET", "/api/targets", params={**on, **params})
        return people.get("/api/targets", role=role, params={**on, **params})

    whole = wait_until(
        lambda: len(targets().json().get("classes", [])) == 2 and targets(),
        timeout=20,
        what="both classes in the targets",
    )
    conforms(doc, "GET", "/api/targets", whole)
    answer = whole.json()
    assert answer["term"] == "2026-autumn" and answer["targets"]["books_per_student"] == 5
    g73 = next(c for c in answer["classes"] if c["class_name"] == "G7-3")
    assert g73["students"] == 1 and g73["on_target"] == 0
    assert g73["behind"] == [{"patron_id": li_lei, "name": "李雷", "books": 0, "short_by": 5}]
    assert answer["teachers"]["behind"][0]["patron_id"] == teacher

    # A class teacher: her class (named or not), no other; the assistant (records.read): all.
    hers = targets(token=teacher_token).json()
    assert [c["class_name"] for c in hers["classes"]] == ["G7-3"]
    refused = problem(targets(token=teacher_token, **{"class": "G8-1"}), 403)
    assert refused["right"] == "records.read"
    g81 = targets(role="assistant", **{"class": "G8-1"}).json()
    assert [p["patron_id"] for p in g81["classes"][0]["behind"]] == [wang]
    problem(targets(token=li_lei_token), 403)
    named = targets(term="2026-autumn", campus="north").json()
    assert named["term"] == "2026-autumn" and len(named["classes"]) == 2
    problem(targets(term="1999-autumn"), 404)
    problem(targets(term="no term!"), 400)


def test_the_weekly_bulletin_and_top_titles_are_published_to_anyone(people, doc):
    li_lei = people.card(name="李雷", class_name="G7-3")
    han_mei = people.card(name="韩梅梅", class_name="G7-3")
    first, second = people.add_books(copies=2)
    [other] = people.add_books(copies=1, isbn="978-7-5321-7101-9", title="平凡的世界")
    for barcode, patron in ((first, li_lei), (second, han_mei), (other, li_lei)):
        assert people.lend(barcode, patron).status_code == 201

    def bulletin(**params):
        return requests.get(people.base + "/api/bulletin", params=params, timeout=10)

    def counted():
        answer = bulletin(week=WEEK).json()
        return answer.get("totals", {}).get("loans") == 3 and answer

    figures = wait_until(counted, timeout=20, what="the week's three loans in the bulletin")
    conforms(doc, "GET", "/api/bulletin", bulletin(week=WEEK))
    assert figures["week"]["name"] == WEEK and figures["week"]["from"] == "2026-10-12"
    [g73] = figures["classes"]
    assert (g73["class_name"], g73["loans"], g73["readers"], g73["class_size"]) == (
        "G7-3",
        3,
        2,
        2,
    )
    assert g73["top_titles"][0] == {"title": TITLE["title"], "isbn": TITLE["isbn"], "loans": 2}
    assert "G7-3 (north): 3 loan(s) by 2 of 2 students" in figures["text"]
    assert bulletin(on="2026-10-15", campus="north").json()["totals"]["loans"] == 3
    assert bulletin(week=WEEK, campus="south").json()["classes"] == []

    as_csv = bulletin(week=WEEK, format="csv")
    assert as_csv.status_code == 200 and as_csv.headers["Content-Type"].startswith("text/csv")
    assert f"bulletin-{WEEK}.csv" in as_csv.headers["Content-Disposition"]
    assert as_csv.content.startswith("\ufeff".encode())  # a BOM: Excel reads it as UTF-8
    rows = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["班级", "校区", "借阅次数"]
    assert rows[1][:3] == ["初一(3)班", "北区", "3"]
    accepted = requests.get(
        people.base + "/api/bulletin", params={"week": WEEK},
        headers={"Accept": "text/csv"}, timeout=10,
    )  # fmt: skip
    assert accepted.text == as_csv.text
    problem(bulletin(week="2027-W53"), 400)  # 2027 has 52 weeks
    problem(bulletin(week="2026-42"), 400)

    top = requests.get(
        people.base + "/api/top-titles", params={"on": TODAY.isoformat()}, timeout=10
    )  # the week by default
    conforms(doc, "GET", "/api/top-titles", top)
    assert top.json()["period"] == "week" and top.json()["name"] == WEEK
    assert [(t["rank"], t["title"], t["loans"]) for t in top.json()["titles"]] == [
        (1, TITLE["title"], 2),
        (2, "平凡的世界", 1),
    ]
    month = people.get("/api/top-titles", params={"period": "month", "on": "2026-10-31",
                                                  "limit": 1}).json()  # fmt: skip
    assert month["name"] == "2026-10" and len(month["titles"]) == 1
    problem(people.get("/api/top-titles", params={"period": "year"}), 400)
