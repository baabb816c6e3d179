"""Reading the programme's read models: for deciding commands and answering teachers.

A reader's class and campus are those on their card (``readers``), falling
back to what the loan said when circulation's card has not been seen. Every
list is sorted completely, so equal counts always come out in the same order.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

from services.activities import domain
from services.activities.programme import Period
from shared.eventsourcing.projection import Cursor

Row = dict[str, Any]

# ---------------------------------------------------------------- for deciding

CARD = """
    SELECT patron_id, name, kind, class_name, campus, retired FROM readers WHERE patron_id = %s
"""
LOAN = """
    SELECT loan_id, patron_id, patron_kind, lent_on, title, isbn FROM borrowings
    WHERE loan_id = %s
"""


def card(cursor: Cursor, patron_id: str) -> domain.Card | None:
    cursor.execute(CARD, (patron_id,))
    row = cursor.fetchone()
    return domain.Card(*row) if row else None


def loan_on_record(cursor: Cursor, loan_id: str) -> domain.LoanOnRecord | None:
    cursor.execute(LOAN, (loan_id,))
    row = cursor.fetchone()
    return domain.LoanOnRecord(*row) if row else None


def class_order(class_name: str | None) -> tuple[int, int, str]:
    """G7-3 before G10-1: classes in the order of the school's list, not of the alphabet."""
    found = re.fullmatch(r"G(\d+)-(\d+)", class_name or "")
    if found is None:
        return (99, 99, class_name or "")
    return (int(found[1]), int(found[2]), "")


def ranked(rows: list[Row], count: str, order: Callable[[Row], Any]) -> list[Row]:
    """``rows`` by ``count`` (highest first, then ``order``), with a rank each; equal
    counts share a rank (1, 1, 3)."""
    rows = sorted(rows, key=lambda row: (-row[count], order(row)))
    for place, row in enumerate(rows, start=1):
        tied = place > 1 and rows[place - 2][count] == row[count]
        row["rank"] = rows[place - 2]["rank"] if tied else place
    return rows


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


# ---------------------------------------------------------------- notes

NOTE_COLUMNS = """
    n.note_id, n.patron_id, r.name, r.class_name, r.campus, n.loan_id, n.isbn, n.title, n.text,
    n.word_count, n.submitted_on, n.award, n.awarded_by, n.awarded_on
"""
NOTE = f"""
    SELECT {NOTE_COLUMNS} FROM reading_notes n LEFT JOIN readers r USING (patron_id)
    WHERE n.note_id = %s
"""
NOTES_OF = f"""
    SELECT {NOTE_COLUMNS} FROM reading_notes n LEFT JOIN readers r USING (patron_id)
    WHERE n.patron_id = %s ORDER BY n.submitted_on, n.note_id
"""
NOTE_FIELDS = (
    "note_id",
    "patron_id",
    "name",
    "class_name",
    "campus",
    "loan_id",
    "isbn",
    "title",
    "text",
    "word_count",
    "submitted_on",
    "award",
    "awarded_by",
    "awarded_on",
)


def _note(row: tuple[Any, ...]) -> Row:
    note = dict(zip(NOTE_FIELDS, row, strict=True))
    note["submitted_on"] = _iso(note["submitted_on"])
    note["awarded_on"] = _iso(note["awarded_on"])
    return note


def note(cursor: Cursor, note_id: str) -> Row | None:
    cursor.execute(NOTE, (note_id,))
    row = cursor.fetchone()
    return _note(row) if row else None


def notes_of(cursor: Cursor, patron_id: str) -> list[Row]:
    cursor.execute(NOTES_OF, (patron_id,))
    return [_note(row) for row in cursor.fetchall()]


NOTES_WHERE = f"""
    SELECT {NOTE_COLUMNS} FROM reading_notes n LEFT JOIN readers r USING (patron_id)
    WHERE {{where}} ORDER BY n.submitted_on DESC, n.note_id DESC LIMIT %s
"""


def notes_list(
    cursor: Cursor,
    class_name: str | None,
    campus: str | None,
    status: str | None,
    patron_id: str | None,
    limit: int,
) -> list[Row]:
    """Notes of a class, a campus or a reader, newest first; ``status`` pending (not yet
    awarded) or awarded. A reader's class and campus are those on their card."""
    where, params = ["true"], []
    for column, value in (("r.class_name", class_name), ("r.campus", campus)):
        if value:
            where.append(f"{column} = %s")
            params.append(value)
    if patron_id:
        where.append("n.patron_id = %s")
        params.append(patron_id)
    if status == "pending":
        where.append("n.award IS NULL")
    elif status == "awarded":
        where.append("n.award IS NOT NULL")
    cursor.execute(NOTES_WHERE.format(where=" AND ".join(where)), (*params, limit))
    return [_note(row) for row in cursor.fetchall()]


NOTES_IN = """
    SELECT n.patron_id, r.name, r.class_name, r.campus, count(*)::int, count(n.award)::int,
           sum(n.word_count)::int
    FROM reading_notes n JOIN readers r USING (patron_id)
    WHERE n.submitted_on BETWEEN %s AND %s AND r.kind = 'student' {campus}
    GROUP BY n.patron_id, r.name, r.class_name, r.campus
"""


def monthly_winners(cursor: Cursor, month: Period, campus: str | None, limit: int) -> Row:
    """The month's best note writers in each class and each campus: most awards, then
    most notes, then most words; equal students by card number. Awards count in the
    month their note was written, since teachers judge a month's notes at its end."""
    cursor.execute(
        NOTES_IN.format(campus="AND r.campus = %s" if campus else ""),
        (month.starts, month.ends, *([campus] if campus else [])),
    )
    names = ("patron_id", "name", "class_name", "campus", "notes", "awards", "words")
    writers = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    writers.sort(key=lambda w: (-w["awards"], -w["notes"], -w["words"], w["patron_id"]))

    def top(group: Iterable[Row]) -> list[Row]:
        return [{"rank": place, **w} for place, w in enumerate(group, start=1) if place <= limit]

    classes = sorted({(w["campus"], w["class_name"]) for w in writers}, key=_class_key)
    campuses = sorted({w["campus"] for w in writers})
    return {
        "month": month.name,
        "from": month.starts.isoformat(),
        "to": month.ends.isoformat(),
        "campus": campus,
        "classes": [
            {
                "campus": where,
                "class_name": name,
                "winners": top(
                    w for w in writers if (w["campus"], w["class_name"]) == (where, name)
                ),
            }
            for where, name in classes
        ],
        "campuses": [
            {"campus": where, "winners": top(w for w in writers if w["campus"] == where)}
            for where in campuses
        ],
    }


def _class_key(key: tuple[str, str | None]) -> tuple[str, tuple[int, int, str]]:
    return key[0], class_order(key[1])


# ---------------------------------------------------------------- competitions

COMPETITION = """
    SELECT c.competition_id, c.title, c.kind, c.campus, c.opened_on, c.closes_on, c.status,
           c.closed_on, count(e.entry_id)::int, count(e.score)::int
    FROM competitions c LEFT JOIN competition_entries e USING (competition_id)
    WHERE {where}
    GROUP BY c.competition_id
    ORDER BY c.closes_on DESC, c.competition_id
"""
COMPETITION_FIELDS = (
    "competition_id",
    "title",
    "kind",
    "campus",
    "opened_on",
    "closes_on",
    "status",
    "closed_on",
    "entries",
    "scored",
)
ENTRIES = """
    SELECT e.entry_id, e.patron_id, r.name, r.class_name, e.title, e.entered_on, e.entry_order,
           e.score, e.scored_by
    FROM competition_entries e LEFT JOIN readers r USING (patron_id)
    WHERE e.competition_id = %s ORDER BY e.entry_order
"""
RANKING = "SELECT ranking FROM competitions WHERE competition_id = %s"


def _competition(row: tuple[Any, ...]) -> Row:
    found = dict(zip(COMPETITION_FIELDS, row, strict=True))
    for name in ("opened_on", "closes_on", "closed_on"):
        found[name] = _iso(found[name])
    return found


def competitions(cursor: Cursor, status: str | None, campus: str | None) -> list[Row]:
    where, params = ["true"], []
    if status:
        where.append("c.status = %s")
        params.append(status)
    if campus:
        where.append("(c.campus = %s OR c.campus IS NULL)")
        params.append(campus)
    cursor.execute(COMPETITION.format(where=" AND ".join(where)), params)
    return [_competition(row) for row in cursor.fetchall()]


def competition(cursor: Cursor, competition_id: str) -> Row | None:
    cursor.execute(COMPETITION.format(where="c.competition_id = %s"), (competition_id,))
    row = cursor.fetchone()
    return _competition(row) if row else None


def entries(cursor: Cursor, competition_id: str) -> list[Row]:
    cursor.execute(ENTRIES, (competition_id,))
    names = (
        "entry_id",
        "patron_id",
        "name",
        "class_name",
        "title",
        "entered_on",
        "entry_order",
        "score",
        "scored_by",
    )
    found = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    for entry in found:
        entry["entered_on"] = _iso(entry["entered_on"])
    return found


def entry(cursor: Cursor, competition_id: str, entry_id: str) -> Row | None:
    return next((e for e in entries(cursor, competition_id) if e["entry_id"] == entry_id), None)


def competition_results(cursor: Cursor, competition_id: str) -> Row | None:
    """The ranking: final (as the closing event froze it) once closed, provisional before,
    with the entries still waiting for a score."""
    found = competition(cursor, competition_id)
    if found is None:
        return None
    entered = entries(cursor, competition_id)
    people = {e["patron_id"]: (e["name"], e["class_name"]) for e in entered}
    if found["status"] == "closed":
        cursor.execute(RANKING, (competition_id,))
        ranking = cursor.fetchone()[0] or []
    else:
        ranking = domain.rank(
            domain.Entry(e["entry_id"], e["patron_id"], e["title"], e["entry_order"], e["score"])
            for e in entered
        )
    results = [
        {
            **line,
            "name": people.get(line["patron_id"], (None, None))[0],
            "class_name": people.get(line["patron_id"], (None, None))[1],
        }
        for line in ranking
    ]
    unscored = [
        {key: e[key] for key in ("entry_id", "patron_id", "name", "class_name", "title")}
        for e in entered
        if e["score"] is None
    ]
    return {
        "competition": found,
        "final": found["status"] == "closed",
        "results": results,
        "unscored": unscored,
    }


# ---------------------------------------------------------------- leaderboards

RETURNED_TO_STUDENTS = """
    SELECT loan_id, patron_id, title_key, returned_on, lost, class_name, campus
    FROM borrowings
    WHERE patron_kind = 'student' AND returned_on BETWEEN %s AND %s {patrons}
    ORDER BY returned_on, loan_id
"""


def class_as_of(day: str = "%s") -> str:
    """SQL for the class of reader ``r`` on ``day``: the class a later move at a school
    year's turn took them out of (``class_moves``), else the card's class now. So a past
    term counts each student in the class they were in then."""
    return f"""coalesce(
        (SELECT m.from_class FROM class_moves m
         WHERE m.patron_id = r.patron_id AND m.moved_on > {day}
         ORDER BY m.moved_on, m.school_year LIMIT 1),
        r.class_name)"""


STUDENT_CARDS = f"""
    SELECT r.patron_id, r.name, {class_as_of()}, r.campus FROM readers r
    WHERE r.patron_id = ANY(%s)
"""
TOP_TITLES = """
    SELECT title_key,
           (array_agg(title ORDER BY lent_on, loan_id) FILTER (WHERE title IS NOT NULL))[1],
           (array_agg(isbn ORDER BY lent_on, loan_id) FILTER (WHERE isbn IS NOT NULL))[1],
           count(*)::int
    FROM borrowings
    WHERE lent_on BETWEEN %s AND %s AND patron_kind = 'student' AND title_key IS NOT NULL
          {campus}
    GROUP BY title_key
"""


def books_read(
    cursor: Cursor, starts: date, ends: date, patrons: list[str] | None = None
) -> tuple[dict[str, int], dict[str, tuple[str | None, str]]]:
    """Books each student read from ``starts`` to ``ends``, by ``domain.books_read``
    (the rule lives there), and the class and campus of their latest such loan, for
    a card not seen yet. Only loans returned in the period can count, so only those
    are read; ``patrons`` narrows it to some students."""
    narrow = patrons is not None
    cursor.execute(
        RETURNED_TO_STUDENTS.format(patrons="AND patron_id = ANY(%s)" if narrow else ""),
        (starts, ends, *([patrons] if narrow else [])),
    )
    borrowings, lent_as = [], {}
    for loan_id, patron_id, key, returned_on, lost, class_name, campus in cursor.fetchall():
        borrowings.append(domain.Borrowing(loan_id, patron_id, key, returned_on, lost))
        lent_as[patron_id] = (class_name, campus)
    return domain.books_read(borrowings, starts, ends), lent_as


def books_per_student(cursor: Cursor, period: Period, campus: str | None) -> list[Row]:
    """Every student who read at least one book in ``period``, with their count; a
    student counts for the campus on their card and the class they were in at the
    period's end (``class_as_of``)."""
    books, lent_as = books_read(cursor, period.starts, period.ends)
    cursor.execute(STUDENT_CARDS, (period.ends, list(books)))
    cards = {patron_id: (name, class_name, where) for patron_id, name, class_name, where in cursor}
    students = []
    for patron_id, count in books.items():
        name, class_name, where = cards.get(patron_id, (None, None, None))
        student = {
            "patron_id": patron_id,
            "name": name or patron_id,
            "class_name": class_name or lent_as[patron_id][0],
            "campus": where or lent_as[patron_id][1],
            "books": count,
        }
        if campus is None or student["campus"] == campus:
            students.append(student)
    return students


def leaderboard(cursor: Cursor, scope: str, period: Period, campus: str | None) -> list[Row]:
    """Books read in ``period`` per student, class or campus, ranked."""
    students = books_per_student(cursor, period, campus)
    if scope == "student":
        return ranked(students, "books", lambda s: (s["name"], s["patron_id"]))
    if scope == "class":
        classes: dict[tuple[str, str | None], Row] = {}
        for student in students:
            key = (student["campus"], student["class_name"])
            row = classes.setdefault(
                key, {"class_name": key[1], "campus": key[0], "books": 0, "readers": 0}
            )
            row["books"] += student["books"]
            row["readers"] += 1
        return ranked(
            list(classes.values()),
            "books",
            lambda c: (class_order(c["class_name"]), c["campus"]),
        )
    totals: Counter[str] = Counter()
    readers: Counter[str] = Counter()
    for student in students:
        totals[student["campus"]] += student["books"]
        readers[student["campus"]] += 1
    return ranked(
        [{"campus": c, "books": totals[c], "readers": readers[c]} for c in totals],
        "books",
        lambda c: c["campus"],
    )


def top_titles(cursor: Cursor, period: Period, campus: str | None) -> list[Row]:
    """Titles by how often students borrowed them in ``period`` (at ``campus``'s desk)."""
    cursor.execute(
        TOP_TITLES.format(campus="AND campus = %s" if campus else ""),
        (period.starts, period.ends, *([campus] if campus else [])),
    )
    titles = [
        {"title": title or key, "isbn": isbn, "loans": loans, "_key": key}
        for key, title, isbn, loans in cursor.fetchall()
    ]
    titles = ranked(titles, "loans", lambda t: (t["title"], t["_key"]))
    for title in titles:
        del title["_key"]
    return titles


# ---------------------------------------------------------------- term targets

PROGRESS = f"""
    SELECT r.patron_id, r.name, r.kind, c.class_name, r.campus, coalesce(sum(d.loans), 0)::int
    FROM readers r
    CROSS JOIN LATERAL (SELECT {class_as_of()} AS class_name) c
    LEFT JOIN loans_by_day d ON d.patron_id = r.patron_id AND d.lent_on BETWEEN %s AND %s
        AND r.kind = 'teacher'
    WHERE NOT r.retired AND r.kind IN ('student', 'teacher') {{where}}
    GROUP BY r.patron_id, c.class_name
"""


def term_progress(
    cursor: Cursor,
    starts: date,
    until: date,
    class_name: str | None,
    campus: str | None,
    patron_id: str | None = None,
) -> list[Row]:
    """Every current student and teacher with what counts toward their term target
    from ``starts`` to ``until``, as ``loans``: a student's books read
    (``domain.books_read``), a teacher's loans taken out; each in the class they were
    in on ``until`` (``class_as_of``)."""
    where, params = [], [until, starts, until]
    if class_name:
        where.append("AND c.class_name = %s")
        params.append(class_name)
    if campus:
        where.append("AND r.campus = %s")
        params.append(campus)
    if patron_id:
        where.append("AND r.patron_id = %s")
        params.append(patron_id)
    cursor.execute(PROGRESS.format(where=" ".join(where)), params)
    names = ("patron_id", "name", "kind", "class_name", "campus", "loans")
    people = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    students = [p["patron_id"] for p in people if p["kind"] == "student"]
    books, _ = books_read(cursor, starts, until, students)
    for person in people:
        if person["kind"] == "student":
            person["loans"] = books.get(person["patron_id"], 0)
    return people


def term_targets(people: list[Row], books_per_student: int, loans_per_teacher: int) -> Row:
    """Who is behind their term target, class by class, and how many are on it."""

    def behind(group: list[Row], target: int, counted: str) -> list[Row]:
        late = [p for p in group if p["loans"] < target]
        late.sort(key=lambda p: (p["loans"], p["name"], p["patron_id"]))
        return [
            {
                "patron_id": p["patron_id"],
                "name": p["name"],
                counted: p["loans"],
                "short_by": target - p["loans"],
            }
            for p in late
        ]

    students = [p for p in people if p["kind"] == "student"]
    teachers = [p for p in people if p["kind"] == "teacher"]
    keys = sorted({(p["campus"], p["class_name"]) for p in students}, key=_class_key)
    classes = []
    for where, name in keys:
        members = [p for p in students if (p["campus"], p["class_name"]) == (where, name)]
        late = behind(members, books_per_student, "books")
        classes.append(
            {
                "campus": where,
                "class_name": name,
                "students": len(members),
                "on_target": len(members) - len(late),
                "behind": late,
            }
        )
    late_teachers = behind(teachers, loans_per_teacher, "loans")
    return {
        "classes": classes,
        "teachers": {
            "total": len(teachers),
            "on_target": len(teachers) - len(late_teachers),
            "behind": late_teachers,
        },
        "totals": {
            "students": len(students),
            "students_on_target": sum(c["on_target"] for c in classes),
            "teachers": len(teachers),
            "teachers_on_target": len(teachers) - len(late_teachers),
        },
    }


# ---------------------------------------------------------------- weekly bulletin

CLASS_SIZES = f"""
    SELECT r.campus, c.class_name, count(*)::int FROM readers r
    CROSS JOIN LATERAL (SELECT {class_as_of()} AS class_name) c
    WHERE r.kind = 'student' AND NOT r.retired AND c.class_name IS NOT NULL {{campus}}
    GROUP BY r.campus, c.class_name
"""
CLASS_LOANS = """
    SELECT coalesce(r.campus, b.campus), coalesce(b.class_name, r.class_name), b.patron_kind,
           b.patron_id, b.title_key, b.title, b.isbn
    FROM borrowings b LEFT JOIN readers r USING (patron_id)
    WHERE b.lent_on BETWEEN %s AND %s AND b.patron_kind IN ('student', 'class_corner')
    ORDER BY b.lent_on, b.loan_id
"""
TOP_TITLES_PER_CLASS = 3


def class_borrowing(cursor: Cursor, week: Period, campus: str | None) -> list[Row]:
    """Each class's borrowing in ``week``: students' loans, how many of them borrowed,
    the class size (cards issued minus retired), loans per student, the top three
    titles, and what the class book corner took out."""
    cursor.execute(
        CLASS_SIZES.format(campus="AND r.campus = %s" if campus else ""),
        [week.ends, *([campus] if campus else [])],
    )
    sizes = {(where, name): size for where, name, size in cursor.fetchall()}
    cursor.execute(CLASS_LOANS, (week.starts, week.ends))
    loans: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
    shown: dict[str, tuple[str, str | None]] = {}  # title key -> (title, isbn) of its first loan
    for where, name, kind, patron, key, title, isbn in cursor.fetchall():
        if name is None or (campus and where != campus):
            continue
        key = key or "?"
        if key not in shown or (shown[key][0] == key and title):
            shown[key] = (title or key, isbn)
        loans.setdefault((where, name), []).append((kind, patron, key))
    classes = []
    for class_key in sorted(set(sizes) | set(loans), key=_class_key):
        taken = loans.get(class_key, [])
        students = [loan for loan in taken if loan[0] == "student"]
        size = sizes.get(class_key, 0)
        titles = Counter(key for _, _, key in students)
        top = sorted(titles.items(), key=lambda item: (-item[1], shown[item[0]][0], item[0]))
        classes.append(
            {
                "campus": class_key[0],
                "class_name": class_key[1],
                "loans": len(students),
                "readers": len({patron for _, patron, _ in students}),
                "class_size": size,
                "loans_per_student": round(len(students) / size, 2) if size else None,
                "top_titles": [
                    {"title": shown[key][0], "isbn": shown[key][1], "loans": count}
                    for key, count in top[:TOP_TITLES_PER_CLASS]
                ],
                "corner_loans": len(taken) - len(students),
            }
        )
    return classes
