"""How the reading figures are ranked, grouped and published, without a database."""

from datetime import date

from services.activities.bulletin import bulletin
from services.activities.programme import week
from services.activities.queries import class_order, ranked, term_targets


def test_equal_counts_share_a_rank_and_are_listed_by_name_then_card():
    rows = [
        {"patron_id": "P3", "name": "乙", "books": 4},
        {"patron_id": "P1", "name": "甲", "books": 2},
        {"patron_id": "P2", "name": "乙", "books": 4},
        {"patron_id": "P4", "name": "丙", "books": 7},
    ]
    board = ranked(rows, "books", lambda r: (r["name"], r["patron_id"]))
    assert [(r["rank"], r["patron_id"]) for r in board] == [
        (1, "P4"),
        (2, "P2"),
        (2, "P3"),
        (4, "P1"),
    ]


def test_classes_sort_in_the_schools_order():
    names = ["G10-1", "G7-12", "G7-3", "staff", "G9-1"]
    assert sorted(names, key=class_order) == ["G7-3", "G7-12", "G9-1", "G10-1", "staff"]


def person(patron_id, name, loans, kind="student", class_name="G7-3", campus="north"):
    return {
        "patron_id": patron_id,
        "name": name,
        "kind": kind,
        "class_name": class_name if kind == "student" else None,
        "campus": campus,
        "loans": loans,
    }


def test_term_targets_list_who_is_behind_furthest_first():
    people = [
        person("P1", "甲", 5),
        person("P2", "乙", 1),
        person("P3", "丙", 0),
        person("P4", "丁", 3, class_name="G8-1"),
        person("T1", "王老师", 6, kind="teacher"),
        person("T2", "李老师", 2, kind="teacher"),
    ]
    targets = term_targets(people, books_per_student=5, loans_per_teacher=5)
    g7, g8 = targets["classes"]
    assert (g7["class_name"], g7["students"], g7["on_target"]) == ("G7-3", 3, 1)
    assert [(p["name"], p["books"], p["short_by"]) for p in g7["behind"]] == [
        ("丙", 0, 5),
        ("乙", 1, 4),
    ]
    assert g8["behind"] == [{"patron_id": "P4", "name": "丁", "books": 3, "short_by": 2}]
    assert targets["teachers"]["behind"] == [
        {"patron_id": "T2", "name": "李老师", "loans": 2, "short_by": 3}
    ]
    assert targets["totals"] == {
        "students": 4,
        "students_on_target": 1,
        "teachers": 2,
        "teachers_on_target": 1,
    }


def test_the_bulletin_is_ready_to_publish():
    classes = [
        {
            "campus": "north",
            "class_name": "G7-3",
            "loans": 3,
            "readers": 2,
            "class_size": 4,
            "loans_per_student": 0.75,
            "top_titles": [{"title": "红楼梦", "isbn": "9787020002207", "loans": 2}],
            "corner_loans": 0,
        },
        {
            "campus": "north",
            "class_name": "G8-1",
            "loans": 0,
            "readers": 0,
            "class_size": 2,
            "loans_per_student": 0.0,
            "top_titles": [],
            "corner_loans": 40,
        },
    ]
    figures = bulletin(week(date(2026, 10, 14)), "north", classes)
    assert figures["totals"] == {
        "loans": 3,
        "readers": 2,
        "students": 6,
        "loans_per_student": 0.5,
        "corner_loans": 40,
    }
    assert figures["text"].splitlines() == [
        "Class borrowing, week 2026-W42 (2026-10-12 to 2026-10-18), north campus",
        "G7-3 (north): 3 loan(s) by 2 of 4 students, 0.75 per student; most borrowed: 红楼梦 (2)",
        "G8-1 (north): 0 loan(s) by 0 of 2 students, 0.00 per student; book corner: 40 loan(s)",
        "All classes: 3 loan(s) by 2 of 6 students, 0.50 per student",
    ]


def test_an_empty_bulletin_says_so():
    figures = bulletin(week(date(2026, 10, 14)), None, [])
    assert figures["totals"]["loans_per_student"] is None
    assert "No class has library cards yet." in figures["text"]
