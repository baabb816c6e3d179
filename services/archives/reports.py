"""The term report: what the library did in a term, frozen when the term is closed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from services.archives.queries import plain
from shared.eventsourcing.projection import Cursor
from shared.runtime.school_calendar import Term

TOP = 10

ACQUISITIONS = """
    SELECT campus, count(*), coalesce(sum(value), 0) FROM ledger_entries
    WHERE entry = 'added' AND entry_on BETWEEN %(starts)s AND %(ends)s
    GROUP BY campus ORDER BY campus
"""
WEEDED = """
    SELECT weed_reason, count(*), coalesce(sum(price), 0) FROM ledger_copies
    WHERE weeded_on BETWEEN %(starts)s AND %(ends)s
    GROUP BY weed_reason ORDER BY weed_reason
"""
HELD_AT_END = """
    SELECT coalesce(sum(copies), 0) FROM ledger_entries
    WHERE entry IN ('added', 'weeded') AND entry_on <= %(ends)s
"""
LOANS_BY_KIND = """
    SELECT patron_kind, count(*) FROM archive_loans
    WHERE lent_on BETWEEN %(starts)s AND %(ends)s GROUP BY patron_kind ORDER BY patron_kind
"""
STUDENTS = "SELECT count(*) FROM archive_patrons WHERE kind = 'student'"
TOP_TITLES = """
    SELECT title, isbn, count(*) AS loans FROM archive_loans
    WHERE lent_on BETWEEN %(starts)s AND %(ends)s AND title IS NOT NULL
    GROUP BY title, isbn ORDER BY loans DESC, title, isbn LIMIT %(top)s
"""
TOP_CLASSES = """
    SELECT l.class_name, count(*) AS loans, count(DISTINCT l.patron_id) AS readers,
           (SELECT count(*) FROM archive_patrons p
            WHERE p.class_name = l.class_name AND p.kind = 'student') AS students
    FROM archive_loans l
    WHERE l.lent_on BETWEEN %(starts)s AND %(ends)s AND l.patron_kind = 'student'
      AND l.class_name IS NOT NULL
    GROUP BY l.class_name ORDER BY loans DESC, l.class_name LIMIT %(top)s
"""


def term_report(cursor: Cursor, term: Term) -> dict[str, Any]:
    """Acquisitions, weeding, loans per student, circulation rate, top titles and classes."""
    params = {"starts": term.starts, "ends": term.ends, "top": TOP}
    cursor.execute(ACQUISITIONS, params)
    acquisitions = [
        {"campus": campus, "copies": copies, "value": plain(value)}
        for campus, copies, value in cursor.fetchall()
    ]
    cursor.execute(WEEDED, params)
    weeding = [
        {"reason": reason, "copies": copies, "value": plain(value)}
        for reason, copies, value in cursor.fetchall()
    ]
    cursor.execute(LOANS_BY_KIND, params)
    loans = dict(cursor.fetchall())
    cursor.execute(STUDENTS)
    students = cursor.fetchone()[0]
    cursor.execute(HELD_AT_END, params)
    held = cursor.fetchone()[0]
    total_loans = sum(loans.values())
    cursor.execute(TOP_TITLES, params)
    titles = [{"title": t, "isbn": i, "loans": n} for t, i, n in cursor.fetchall()]
    cursor.execute(TOP_CLASSES, params)
    classes = [
        {"class_name": name, "loans": n, "readers": readers, "students": size}
        for name, n, readers, size in cursor.fetchall()
    ]
    return {
        "term": term.name,
        "starts": term.starts.isoformat(),
        "ends": term.ends.isoformat(),
        "acquisitions": acquisitions,
        "weeding": weeding,
        "loans": {"total": total_loans, "by_kind": loans},
        "students": students,
        "loans_per_student": plain(_ratio(loans.get("student", 0), students)),
        "copies_held_at_end": held,
        "circulation_rate": plain(_ratio(total_loans, held)),
        "most_read_titles": titles,
        "most_active_classes": classes,
    }


def _ratio(numerator: int, denominator: int) -> Decimal:
    return (
        (Decimal(numerator) / denominator).quantize(Decimal("0.01")) if denominator else Decimal(0)
    )
