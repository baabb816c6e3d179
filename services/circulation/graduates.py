"""Reading the cards the year's turn concerns: classes to move, graduates to clear.

SQL only; the rules are in ``school_year`` and ``domain``. Graduates are the
cards marked with the school year they graduated in (``patrons.graduated``),
so the clearance of G9-3's graduates never mixes in the students who moved up
into G9-3 the same day. The outstanding loans and losses are read as the
clearance query reads them (``queries.open_loans``, ``queries.unpaid_losses``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from services.circulation import queries
from shared.eventsourcing.projection import Cursor
from shared.runtime.school_year import class_order

CARDS_WITH_A_CLASS = """
    SELECT patron_id FROM patrons
    WHERE status <> 'retired' AND class_name IS NOT NULL AND graduated IS NULL
    ORDER BY patron_id
"""
ACTIVE_GRADUATES = """
    SELECT patron_id FROM patrons
    WHERE graduated = %s AND status <> 'retired' ORDER BY patron_id
"""
LAST_GRADUATED = "SELECT max(graduated) FROM patrons"
GRADUATES = """
    SELECT patron_id, name, kind, class_name, campus, status, owed::text
    FROM patrons WHERE graduated = %s
    ORDER BY class_name, name, patron_id
"""


def cards_to_turn(cursor: Cursor) -> list[str]:
    """The cards a year's turn may move: not retired, with a class, not graduated."""
    cursor.execute(CARDS_WITH_A_CLASS)
    return [row[0] for row in cursor.fetchall()]


def active_graduates(cursor: Cursor, school_year: int) -> list[str]:
    """The cards of ``school_year``'s graduates not retired yet."""
    cursor.execute(ACTIVE_GRADUATES, (school_year,))
    return [row[0] for row in cursor.fetchall()]


def last_graduated(cursor: Cursor) -> int | None:
    """The latest school year any class graduated in, or None."""
    cursor.execute(LAST_GRADUATED)
    return cursor.fetchone()[0]


def clearance(
    cursor: Cursor, school_year: int, today: date, overdue: queries.DaysOverdue = queries.every_day
) -> dict[str, Any]:
    """The graduating classes of ``school_year``, each with its graduates counted
    (``graduates``, ``retired``, ``active``, ``cleared``: active and holding nothing) and
    those who still hold books or owe (``outstanding``, as ``/api/clearance`` lists them)."""
    cursor.execute(GRADUATES, (school_year,))
    names = queries.PATRON_FIELDS
    people = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    outstanding = holders(
        cursor, [p["patron_id"] for p in people if p["status"] != "retired"], today, overdue
    )
    by_class: dict[str, dict[str, Any]] = {}
    for person in people:
        line = by_class.setdefault(
            person["class_name"],
            {
                "class_name": person["class_name"],
                "graduates": 0,
                "retired": 0,
                "active": 0,
                "cleared": 0,
                "outstanding": [],
            },
        )
        line["graduates"] += 1
        if person["status"] == "retired":
            line["retired"] += 1
            continue
        line["active"] += 1
        if person["patron_id"] in outstanding:
            line["outstanding"].append(outstanding[person["patron_id"]])
        else:
            line["cleared"] += 1
    classes = [by_class[name] for name in sorted(by_class, key=class_order)]
    return {"school_year": school_year, "classes": classes}


def holders(
    cursor: Cursor,
    patron_ids: list[str],
    today: date,
    overdue: queries.DaysOverdue = queries.every_day,
) -> dict[str, dict[str, Any]]:
    """Of these cards, those that still hold books or owe for lost ones: each card with
    its open ``loans`` and ``unpaid`` losses, by card number."""
    if not patron_ids:
        return {}
    where, params = "p.patron_id = ANY(%s)", (patron_ids,)
    people = queries.patrons_of(cursor, "patron_id = ANY(%s)", params)
    by_patron = {p["patron_id"]: {**p, "loans": [], "unpaid": []} for p in people}
    for loan in queries.open_loans(cursor, where, params, today, overdue):
        by_patron[loan["patron_id"]]["loans"].append(loan)
    for loss in queries.unpaid_losses(cursor, where, params):
        by_patron[loss["patron_id"]]["unpaid"].append(loss)
    return {k: v for k, v in by_patron.items() if v["loans"] or v["unpaid"]}
