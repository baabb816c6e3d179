"""The reading programme over real RabbitMQ and PostgreSQL, as the school uses it.

Catalog and circulation run for real: copies are catalogued, cards issued and
books lent at the desk (backdated with ``on`` to place loans in weeks, months
and terms), and activities follows circulation's events through its queue.
"""

from datetime import date, timedelta

import eventlet
import pytest
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ServiceRpcProxy

from services.activities.projections import FOLLOWING_CIRCULATION, INLINE
from services.activities.service import ActivitiesService
from services.catalog.service import CatalogService
from services.circulation.service import CirculationService
from shared.eventsourcing.rebuild import rebuild
from shared.eventsourcing.store import EventStore
from tests.factories import book_added
from tests.helpers import wait_until

COPY = {k: v for k, v in book_added().items() if k != "barcode"}
MONDAY = date(2026, 10, 12)  # week 2026-W42, in the 2026-autumn term


def isbn13(number: int) -> str:
    digits = f"978730{number:06d}"
    check = (10 - sum((3 if i % 2 else 1) * int(c) for i, c in enumerate(digits)) % 10) % 10
    return digits + str(check)


TITLES = {
    name: isbn13(n)
    for n, name in enumerate(["红楼梦", "西游记", "三国演义", "水浒传", "儒林外史"], 1)
}


@pytest.fixture
def school(runner_factory, config):
    runner_factory(config, CatalogService, CirculationService, ActivitiesService).start()
    with (
        ServiceRpcProxy("catalog", config, timeout=20) as catalog,
        ServiceRpcProxy("circulation", config, timeout=20) as circulation,
        ServiceRpcProxy("activities", config, timeout=20) as activities,
    ):
        yield School(catalog, circulation, activities)


class School:
    """The desk, the library's reading programme and the teachers' screens."""

    def __init__(self, catalog, circulation, activities):
        self.catalog = catalog
        self.circulation = circulation
        self.activities = activities
        self.shelf: dict[tuple[str, str], list[str]] = {}

    def stock(self, copies=4, campus="north"):
        """Catalogue ``copies`` copies of every title at a campus."""
        for title, isbn in TITLES.items():
            shelf = self.shelf.setdefault((title, campus), [])
            shelf += self.catalog.add_copies(
                {
                    **COPY,
                    "title": title,
                    "isbn": isbn,
                    "campus": campus,
                    "shelf": f"{campus[0].upper()}-I-01",
                    "copies": copies,
                }
            )["barcodes"]
        last = shelf[-1]
        wait_until(lambda: self._known(last), timeout=20, what="circulation to see the copies")

    def _known(self, barcode):
        try:
            return self.circulation.copy_availability(barcode)
        except RemoteError:
            return None

    def card(self, name, kind="student", class_name="G7-3", campus="north"):
        return self.circulation.issue_card(
            {
                "name": name,
                "kind": kind,
                "class": class_name if kind != "teacher" else None,
                "campus": campus,
            }
        )["patron_id"]

    def lend(self, patron_id, title="红楼梦", on=MONDAY, campus="north", copy=0):
        barcode = self.shelf[(title, campus)][copy]
        return self.circulation.lend(
            {"barcode": barcode, "patron_id": patron_id, "campus": campus, "on": on.isoformat()}
        )

    def read(self, patron_id, title="红楼梦", on=MONDAY, campus="north"):
        """Borrow a book and bring it back the same day: one book read."""
        loan = self.lend(patron_id, title, on, campus)
        self.circulation.return_copy(
            {"barcode": loan["barcode"], "campus": campus, "on": on.isoformat()}
        )
        return loan

    def caught_up(self):
        """Wait until activities has applied every circulation event recorded so far."""

        def done():
            lag = self.activities.projection_lag()
            following = {
                row["projection"]: row["lag"] for row in lag if row["source"] == "circulation"
            }
            return set(following) == {p.name for p in FOLLOWING_CIRCULATION} and not any(
                following.values()
            )

        wait_until(done, timeout=20, what="activities to follow circulation")

    def note(self, patron_id, loan, text="我喜欢这本书", on=MONDAY, **extra):
        return self.activities.submit_note(
            {
                "patron_id": patron_id,
                "loan_id": loan["loan_id"],
                "text": text,
                "on": on.isoformat(),
                **extra,
            }
        )


def refusal(call, *args):
    with pytest.raises(RemoteError) as caught:
        call(*args)
    return caught.value


# ---------------------------------------------------------------- reading notes


def test_a_student_writes_one_note_per_loan_and_a_teacher_awards_it_once(school):
    school.stock(copies=1)
    student = school.card("李雷")
    classmate = school.card("韩梅梅")
    teacher = school.card("王老师", kind="teacher")
    loan = school.lend(student, "红楼梦")
    other = school.lend(classmate, "西游记")
    school.caught_up()

    assert "not lent to" in refusal(school.note, classmate, loan).value
    unknown = refusal(school.note, student, {"loan_id": "L-nope"})
    assert unknown.exc_type == "Refused" and "no loan L-nope on record" in unknown.value
    early = refusal(school.note, student, loan, "读后感", MONDAY - timedelta(days=1))
    assert "lent on 2026-10-12" in early.value

    note = school.note(student, loan, "《红楼梦》读后感：我读了两遍。", MONDAY + timedelta(days=2))
    assert (note["title"], note["isbn"], note["word_count"]) == ("红楼梦", TITLES["红楼梦"], 11)
    assert (note["name"], note["class_name"], note["submitted_on"]) == (
        "李雷",
        "G7-3",
        "2026-10-14",
    )
    assert "one note per book borrowed" in refusal(school.note, student, loan).value
    assert school.note(classmate, other, "Journey to the West", word_count=600)["word_count"] == 600

    not_a_teacher = refusal(
        school.activities.award_note,
        {"note_id": note["note_id"], "award": "一等奖", "awarded_by": classmate},
    )
    assert "韩梅梅 is not a teacher" in not_a_teacher.value
    awarded = school.activities.award_note(
        {"note_id": note["note_id"], "award": "一等奖", "awarded_by": teacher, "on": "2026-10-30"}
    )
    assert (awarded["award"], awarded["awarded_by"], awarded["awarded_on"]) == (
        "一等奖",
        teacher,
        "2026-10-30",
    )
    again = refusal(
        school.activities.award_note,
        {"note_id": note["note_id"], "award": "二等奖", "awarded_by": teacher},
    )
    assert "a note is awarded once" in again.value
    missing = refusal(
        school.activities.award_note, {"note_id": "N-nope", "award": "x", "awarded_by": teacher}
    )
    assert missing.exc_type == "NotFound"
    assert refusal(school.activities.submit_note, {"patron_id": student}).exc_type == "BadRequest"

    assert [n["note_id"] for n in school.activities.reading_notes({"patron_id": student})] == [
        note["note_id"]
    ]
    assert school.activities.get_note(note["note_id"])["award"] == "一等奖"


def test_a_retried_note_is_answered_not_written_twice(school):
    school.stock(copies=1)
    student = school.card("李雷")
    loan = school.lend(student)
    school.caught_up()
    command_id = "3f0a7c52-8a0e-4f4b-9d3c-6c1e2b7a9d10"
    first = school.note(student, loan, command_id=command_id)
    assert school.note(student, loan, command_id=command_id) == first
    assert len(school.activities.events_since(0, 10)) == 1


def test_monthly_winners_rank_awards_then_notes_then_words(school, pool_for):
    school.stock(copies=1)
    school.stock(copies=1, campus="south")
    teacher = school.card("王老师", kind="teacher")
    a, b, c = (school.card(name) for name in ("安", "白", "陈"))
    d = school.card("丁", class_name="G8-1")
    e = school.card("鄂", campus="south")
    october = [MONDAY + timedelta(days=n) for n in range(10)]

    def write(student, day, words, campus="north", title="红楼梦"):
        loan = school.read(student, title, day, campus)
        school.caught_up()
        return school.note(student, loan, "读" * words, day)

    def award(note):
        school.activities.award_note(
            {"note_id": note["note_id"], "award": "优秀读书笔记", "awarded_by": teacher}
        )

    write(a, date(2026, 9, 28), 900)  # September: not October's
    award(write(a, october[0], 100))
    write(a, october[1], 100)
    write(b, october[2], 500)
    write(b, october[3], 500)
    award(write(c, october[4], 50))
    write(d, october[5], 10)
    write(e, october[6], 80, campus="south")

    winners = school.activities.monthly_winners({"month": "2026-10"})
    assert (winners["from"], winners["to"]) == ("2026-10-01", "2026-10-31")
    assert [
        (c["campus"], c["class_name"], [(w["rank"], w["name"]) for w in c["winners"]])
        for c in winners["classes"]
    ] == [
        ("north", "G7-3", [(1, "安"), (2, "陈"), (3, "白")]),
        ("north", "G8-1", [(1, "丁")]),
        ("south", "G7-3", [(1, "鄂")]),
    ]
    top = winners["campuses"][0]["winners"][0]
    assert (top["name"], top["awards"], top["notes"], top["words"]) == ("安", 1, 2, 200)
    assert [w["name"] for w in winners["campuses"][0]["winners"]] == ["安", "陈", "白"]
    south = school.activities.monthly_winners({"month": "2026-10", "campus": "south", "limit": 1})
    assert [c["class_name"] for c in south["classes"]] == ["G7-3"]
    assert [w["name"] for w in south["campuses"][0]["winners"]] == ["鄂"]
    september = school.activities.monthly_winners({"month": "2026-09"})
    assert [w["name"] for w in september["campuses"][0]["winners"]] == ["安"]
    assert refusal(school.activities.monthly_winners, {"month": "2026-13"}).exc_type == "BadRequest"
    assert_rebuild_gives_the_same_tables(pool_for, INLINE, "activities")


# ---------------------------------------------------------------- competitions


def test_a_competition_from_opening_to_its_final_ranking(school, pool_for):
    teacher = school.card("王老师", kind="teacher")
    students = [school.card(name) for name in ("甲", "乙", "丙", "丁")]
    south = school.card("戊", campus="south")
    school.caught_up()
    activities = school.activities

    past = refusal(
        activities.open_competition,
        {"title": "征文", "kind": "essay", "closes_on": "2026-10-01", "on": MONDAY.isoformat()},
    )
    assert "already past" in past.value
    bad = refusal(activities.open_competition, {"title": "x", "kind": "dance", "closes_on": "x"})
    assert bad.exc_type == "BadRequest" and "kind" in bad.value and "closes_on" in bad.value
    competition = activities.open_competition(
        {
            "title": "我爱读书征文",
            "kind": "essay",
            "campus": "north",
            "closes_on": "2026-10-31",
            "on": MONDAY.isoformat(),
        }
    )
    cid = competition["competition_id"]
    assert (competition["status"], competition["entries"]) == ("open", 0)

    def enter(patron, on=MONDAY):
        return activities.enter_competition(
            {
                "competition_id": cid,
                "patron_id": patron,
                "title": "读书的乐趣",
                "on": on.isoformat(),
            }
        )

    entries = [enter(student, MONDAY + timedelta(days=n)) for n, student in enumerate(students)]
    assert "has already entered" in refusal(enter, students[0]).value
    assert "for the north campus" in refusal(enter, south).value
    assert "not a student" in refusal(enter, teacher).value
    assert "closed on 2026-10-31" in refusal(enter, school.card("己"), date(2026, 11, 1)).value

    def score(entry, points, by=teacher):
        return activities.score_entry(
            {
                "competition_id": cid,
                "entry_id": entry["entry_id"],
                "score": points,
                "scored_by": by,
            }
        )

    assert "not a teacher" in refusal(score, entries[0], 90, students[1]).value
    assert refusal(score, entries[0], 101).exc_type == "BadRequest"
    score(entries[0], 70)
    score(entries[0], 80)  # corrected before the close
    score(entries[1], 95)
    score(entries[2], 95)
    provisional = activities.competition_results(cid)
    assert not provisional["final"]
    assert [(r["rank"], r["name"]) for r in provisional["results"]] == [
        (1, "乙"),
        (1, "丙"),
        (3, "甲"),
    ]
    assert [u["name"] for u in provisional["unscored"]] == ["丁"]
    unscored = refusal(activities.close_competition, {"competition_id": cid})
    assert "1 entry of 我爱读书征文 still need a score" in unscored.value
    assert entries[3]["entry_id"] in unscored.value

    score(entries[3], 60)
    closed = activities.close_competition({"competition_id": cid, "on": "2026-11-02"})
    assert closed["final"] and closed["competition"]["status"] == "closed"
    assert closed["competition"]["closed_on"] == "2026-11-02"
    assert [(r["rank"], r["name"], r["score"]) for r in closed["results"]] == [
        (1, "乙", 95),
        (1, "丙", 95),
        (3, "甲", 80),
        (4, "丁", 60),
    ]
    assert activities.competition_results(cid) == closed
    assert "results are final" in refusal(score, entries[3], 100).value
    assert "already closed" in refusal(activities.close_competition, {"competition_id": cid}).value
    assert [c["competition_id"] for c in activities.competitions({"status": "closed"})] == [cid]
    assert activities.competitions({"status": "open"}) == []
    assert refusal(activities.competition_results, "K-nope").exc_type == "NotFound"
    assert "no longer accepted" in refusal(enter, students[0]).value
    assert_rebuild_gives_the_same_tables(pool_for, INLINE, "activities")


# ---------------------------------------------------------------- figures from circulation


def board(school, scope, period, on=MONDAY + timedelta(days=2), **extra):
    answer = school.activities.leaderboard(
        {"scope": scope, "period": period, "on": on.isoformat(), **extra}
    )
    key = {"student": "name", "class": "class_name", "campus": "campus"}[scope]
    return [(row["rank"], row[key], row["books"]) for row in answer["entries"]]


def test_leaderboards_move_with_every_book_a_student_reads(school, pool_for):
    school.stock(copies=2)
    school.stock(copies=1, campus="south")
    a, b = school.card("安"), school.card("白")
    c = school.card("陈", class_name="G8-1")
    d = school.card("丁", campus="south")
    teacher = school.card("王老师", kind="teacher")
    corner = school.card("G7-3 图书角", kind="class_corner")
    for day, title in ((0, "红楼梦"), (1, "西游记"), (2, "红楼梦")):  # 红楼梦 again: 2 books
        school.read(a, title, MONDAY + timedelta(days=day))
    school.read(b, "红楼梦", MONDAY + timedelta(days=3))
    school.read(c, "三国演义", MONDAY)
    school.read(c, "水浒传", MONDAY + timedelta(days=4))
    school.read(d, "西游记", MONDAY + timedelta(days=1), campus="south")
    for day in range(3):  # the week before: same month, one book read three times
        school.read(b, "水浒传", MONDAY - timedelta(days=7 - day))
    for day in range(4):  # September: same term, one book
        school.read(c, "西游记", date(2026, 9, 14 + day))
    school.read(teacher, "三国演义", MONDAY)  # teachers and book corners are not on the board
    school.lend(corner, "水浒传", MONDAY, copy=1)
    school.caught_up()

    assert board(school, "student", "week") == [
        (1, "安", 2),
        (1, "陈", 2),
        (3, "丁", 1),
        (3, "白", 1),
    ]
    assert board(school, "student", "month") == [
        (1, "安", 2),
        (1, "白", 2),
        (1, "陈", 2),
        (4, "丁", 1),
    ]
    assert board(school, "student", "term")[0] == (1, "陈", 3)
    assert board(school, "class", "week") == [(1, "G7-3", 3), (2, "G8-1", 2), (3, "G7-3", 1)]
    assert board(school, "campus", "week") == [(1, "north", 5), (2, "south", 1)]
    assert board(school, "student", "week", campus="south") == [(1, "丁", 1)]
    assert board(school, "student", "week", limit=2) == [(1, "安", 2), (1, "陈", 2)]
    week = school.activities.leaderboard({"scope": "class", "period": "week", "on": "2026-10-14"})
    assert (week["name"], week["from"], week["to"], week["total"]) == (
        "2026-W42",
        "2026-10-12",
        "2026-10-18",
        3,
    )
    assert week["entries"][0]["readers"] == 2
    holidays = refusal(
        school.activities.leaderboard, {"scope": "student", "period": "term", "on": "2026-08-01"}
    )
    assert holidays.exc_type == "NotFound" and "holidays" in holidays.value

    school.read(b, "三国演义", MONDAY + timedelta(days=5))
    school.read(b, "西游记", MONDAY + timedelta(days=6))
    school.read(b, "红楼梦", MONDAY + timedelta(days=6))  # read on Thursday already
    school.caught_up()
    assert board(school, "student", "week") == [
        (1, "白", 3),
        (2, "安", 2),
        (2, "陈", 2),
        (4, "丁", 1),
    ]

    titles = school.activities.top_titles({"period": "week", "on": MONDAY.isoformat()})
    assert [(t["rank"], t["title"], t["loans"]) for t in titles["titles"]] == [
        (1, "红楼梦", 4),
        (2, "西游记", 3),
        (3, "三国演义", 2),
        (4, "水浒传", 1),
    ]
    south = school.activities.top_titles({"period": "month", "on": "2026-10-01", "campus": "south"})
    assert [(t["title"], t["loans"]) for t in south["titles"]] == [("西游记", 1)]

    # What activities built live, through RabbitMQ, is what a rebuild from the log gives.
    assert_rebuild_gives_the_same_tables(pool_for, FOLLOWING_CIRCULATION, "circulation")


def test_a_book_read_is_a_title_brought_back_counted_once_in_the_week_it_came_back(
    school, pool_for
):
    """Borrowing a title again is not reading another book, and a lost book is none."""
    school.stock(copies=1)
    reader, loser = school.card("安"), school.card("白")
    teacher = school.card("王老师", kind="teacher")
    next_monday = MONDAY + timedelta(days=7)

    school.read(reader, "红楼梦", MONDAY)
    school.lend(reader, "水浒传", MONDAY + timedelta(days=1))  # never brought back
    school.read(reader, "红楼梦", MONDAY + timedelta(days=2))  # the same title, the same week
    over_the_weekend = school.lend(reader, "三国演义", MONDAY + timedelta(days=4))
    school.circulation.return_copy(
        {"barcode": over_the_weekend["barcode"], "campus": "north", "on": next_monday.isoformat()}
    )
    school.read(reader, "红楼梦", next_monday + timedelta(days=1))  # again, but another week
    lost = school.lend(loser, "西游记", MONDAY)
    school.circulation.declare_lost({"loan_id": lost["loan_id"]})
    school.read(teacher, "儒林外史", MONDAY)
    school.read(teacher, "儒林外史", MONDAY + timedelta(days=1))
    school.caught_up()

    assert board(school, "student", "week") == [(1, "安", 1)]
    assert board(school, "student", "week", on=next_monday) == [(1, "安", 2)]
    assert board(school, "student", "month") == [(1, "安", 2)]  # 红楼梦 and 三国演义
    assert board(school, "class", "week") == [(1, "G7-3", 1)]
    assert board(school, "campus", "month") == [(1, "north", 2)]

    targets = school.activities.term_targets({"on": (next_monday + timedelta(days=1)).isoformat()})
    assert targets["classes"][0]["behind"] == [
        {"patron_id": loser, "name": "白", "books": 0, "short_by": 5},
        {"patron_id": reader, "name": "安", "books": 2, "short_by": 3},
    ]
    assert targets["teachers"]["behind"] == [  # a teacher's target is loans: each one counts
        {"patron_id": teacher, "name": "王老师", "loans": 2, "short_by": 3}
    ]
    assert_rebuild_gives_the_same_tables(pool_for, FOLLOWING_CIRCULATION, "circulation")


def test_term_targets_show_who_is_behind_class_by_class(school):
    school.stock(copies=1)
    school.stock(copies=1, campus="south")
    a, b, c = (school.card(name) for name in ("安", "白", "陈"))
    d = school.card("丁", class_name="G8-1")
    e = school.card("鄂", campus="south")
    leaver = school.card("离", class_name="G8-1")
    school.circulation.retire_card({"patron_id": leaver, "reason": "moved away"})
    busy, idle = school.card("王老师", kind="teacher"), school.card("李老师", kind="teacher")
    titles = list(TITLES)
    for day in range(5):  # five books; the teacher's target is loans, a title again counts
        school.read(a, titles[day], date(2026, 9, 7 + day))
        school.read(busy, titles[day % 4], date(2026, 10, 5 + day))
    school.read(b, "红楼梦", date(2026, 8, 20))  # the summer holidays: before the term
    school.read(b, "红楼梦", date(2026, 9, 21))
    school.read(b, "西游记", date(2026, 10, 19))
    school.read(b, "三国演义", date(2026, 10, 21))  # after the day asked about
    school.read(d, "水浒传", date(2026, 10, 8))
    school.read(idle, "红楼梦", date(2026, 10, 8))
    school.caught_up()

    targets = school.activities.term_targets({"on": "2026-10-20"})
    assert (targets["term"], targets["from"], targets["on"]) == (
        "2026-autumn",
        "2026-09-01",
        "2026-10-20",
    )
    assert targets["targets"] == {"books_per_student": 5, "loans_per_teacher": 5}
    assert [
        (k["campus"], k["class_name"], k["students"], k["on_target"], k["behind"])
        for k in targets["classes"]
    ] == [
        (
            "north",
            "G7-3",
            3,
            1,
            [
                {"patron_id": c, "name": "陈", "books": 0, "short_by": 5},
                {"patron_id": b, "name": "白", "books": 2, "short_by": 3},
            ],
        ),
        ("north", "G8-1", 1, 0, [{"patron_id": d, "name": "丁", "books": 1, "short_by": 4}]),
        ("south", "G7-3", 1, 0, [{"patron_id": e, "name": "鄂", "books": 0, "short_by": 5}]),
    ]
    assert targets["teachers"] == {
        "total": 2,
        "on_target": 1,
        "behind": [{"patron_id": idle, "name": "李老师", "loans": 1, "short_by": 4}],
    }
    assert targets["totals"] == {
        "students": 5,
        "students_on_target": 1,
        "teachers": 2,
        "teachers_on_target": 1,
    }
    one_class = school.activities.term_targets(
        {"on": "2026-10-20", "class": "G7-3", "campus": "north"}
    )
    assert [k["class_name"] for k in one_class["classes"]] == ["G7-3"]
    assert one_class["teachers"]["total"] == 0
    assert (
        school.activities.term_targets({"on": "2026-10-22"})["classes"][0]["behind"][1]["books"]
        == 3
    )
    assert refusal(school.activities.term_targets, {"on": "2026-08-01"}).exc_type == "NotFound"


def test_the_weekly_bulletin_publishes_each_classs_borrowing(school):
    school.stock(copies=3)
    school.stock(copies=1, campus="south")
    a, b = school.card("安"), school.card("白")
    c = school.card("陈")
    leaver = school.card("离")
    school.circulation.retire_card({"patron_id": leaver})
    school.card("丁", class_name="G8-1")
    school.card("鄂", class_name="G8-1")
    f = school.card("方", campus="south")
    corner = school.card("G7-3 图书角", kind="class_corner")
    school.read(a, "红楼梦", MONDAY)
    school.read(a, "西游记", MONDAY + timedelta(days=1))
    school.read(b, "红楼梦", MONDAY + timedelta(days=6))
    school.read(c, "水浒传", MONDAY - timedelta(days=1))  # last week
    school.read(f, "三国演义", MONDAY + timedelta(days=2), campus="south")
    for copy in range(3):
        school.lend(corner, "水浒传", MONDAY, copy=copy)
    school.caught_up()

    bulletin = school.activities.weekly_bulletin({"on": "2026-10-14"})
    assert bulletin["week"] == {
        "period": "week",
        "name": "2026-W42",
        "from": "2026-10-12",
        "to": "2026-10-18",
    }
    assert bulletin["classes"] == [
        {
            "campus": "north",
            "class_name": "G7-3",
            "loans": 3,
            "readers": 2,
            "class_size": 3,
            "loans_per_student": 1.0,
            "top_titles": [
                {"title": "红楼梦", "isbn": TITLES["红楼梦"], "loans": 2},
                {"title": "西游记", "isbn": TITLES["西游记"], "loans": 1},
            ],
            "corner_loans": 3,
        },
        {
            "campus": "north",
            "class_name": "G8-1",
            "loans": 0,
            "readers": 0,
            "class_size": 2,
            "loans_per_student": 0.0,
            "top_titles": [],
            "corner_loans": 0,
        },
        {
            "campus": "south",
            "class_name": "G7-3",
            "loans": 1,
            "readers": 1,
            "class_size": 1,
            "loans_per_student": 1.0,
            "top_titles": [{"title": "三国演义", "isbn": TITLES["三国演义"], "loans": 1}],
            "corner_loans": 0,
        },
    ]
    assert bulletin["totals"] == {
        "loans": 4,
        "readers": 3,
        "students": 6,
        "loans_per_student": 0.67,
        "corner_loans": 3,
    }
    assert bulletin["text"].splitlines()[1] == (
        "G7-3 (north): 3 loan(s) by 2 of 3 students, 1.00 per student; "
        "most borrowed: 红楼梦 (2), 西游记 (1); book corner: 3 loan(s)"
    )
    south = school.activities.weekly_bulletin({"on": "2026-10-14", "campus": "south"})
    assert [k["class_name"] for k in south["classes"]] == ["G7-3"]
    assert south["text"].startswith(
        "Class borrowing, week 2026-W42 (2026-10-12 to 2026-10-18), south"
    )
    last_week = school.activities.weekly_bulletin({"on": "2026-10-11"})
    assert [k["loans"] for k in last_week["classes"]] == [1, 0, 0]


# ---------------------------------------------------------------- rebuilding


def snapshot(pool, projections):
    """Every row of the projections' tables, in a fixed order."""
    tables = {}
    with pool.transaction() as cursor:
        for projection in projections:
            for table in projection.tables:
                cursor.execute(f"SELECT * FROM {table}")
                tables[table] = sorted(cursor.fetchall(), key=lambda row: tuple(map(str, row)))
    return tables


def assert_rebuild_gives_the_same_tables(pool_for, projections, source):
    def read_feed(feed_source, after, limit):
        with pool_for(feed_source).transaction() as cursor:
            return EventStore(feed_source).read(cursor, after, limit)

    pool = pool_for("activities")
    live = snapshot(pool, projections)
    assert any(live.values())
    for projection in projections:
        report = rebuild(pool, projection, read_feed, batch=7)
        assert report.positions[source] > 0
    assert snapshot(pool, projections) == live


def test_racing_submissions_leave_one_note_per_loan_and_one_entry_per_student(school, config):
    school.stock(copies=1)
    student = school.card("李雷")
    loan = school.lend(student)
    school.caught_up()
    competition = school.activities.open_competition(
        {"title": "知识竞赛", "kind": "quiz", "closes_on": "2026-10-31", "on": MONDAY.isoformat()}
    )

    def attempt(call, payload):
        service, method = call.split(".")
        with ServiceRpcProxy(service, config, timeout=20) as proxy:
            try:
                return getattr(proxy, method)(payload)
            except RemoteError as error:
                return error.exc_type

    note = {
        "patron_id": student,
        "loan_id": loan["loan_id"],
        "text": "我喜欢这本书",
        "on": MONDAY.isoformat(),
    }
    entry = {
        "competition_id": competition["competition_id"],
        "patron_id": student,
        "title": "答卷",
        "on": MONDAY.isoformat(),
    }
    pool = eventlet.GreenPool(12)
    notes = list(pool.imap(lambda _: attempt("activities.submit_note", note), range(6)))
    entries = list(pool.imap(lambda _: attempt("activities.enter_competition", entry), range(6)))
    assert sorted(map(str, notes)).count("Refused") == 5
    assert sorted(map(str, entries)).count("Refused") == 5
    assert len(school.activities.reading_notes({"patron_id": student})) == 1
    assert school.activities.competitions()[0]["entries"] == 1
