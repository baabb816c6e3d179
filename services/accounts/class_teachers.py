"""A class teacher (班主任) follows her class up a grade at the year's turn.

Circulation turns the school year (``SchoolYearTurned``); this reaction moves the
classes of every teacher's account by the same rule (``shared.runtime.school_year``:
G7-3 -> G8-3), and drops a class that graduated (G9-3, G12-5 by default): the
school gives her a new class by hand (``PUT /api/accounts/<name>/classes``). Each
changed account gets an ``AccountClassesSet``, recorded once per turn however
often the event is delivered.
"""

from __future__ import annotations

from logging import getLogger

from services.accounts import domain
from shared.events.envelope import Envelope
from shared.eventsourcing.projection import Reaction
from shared.eventsourcing.unit_of_work import UnitOfWork
from shared.runtime.school_year import teacher_classes

_log = getLogger(__name__)

CLASS_TEACHERS = """
    SELECT account_id FROM accounts
    WHERE 'teacher' = ANY(roles) AND cardinality(classes) > 0
    ORDER BY account_id
"""


class ClassTeachers(Reaction):
    """At the year's turn, each class teacher's classes move up with her students."""

    name = "class_teachers"
    sources = ("circulation",)
    types = frozenset({"SchoolYearTurned"})

    def react(self, uow: UnitOfWork, event: Envelope) -> None:
        if event.type != "SchoolYearTurned" or uow.earlier():
            return
        grades = tuple(event.data["graduating_grades"])
        cursor = uow.cursor
        cursor.execute(CLASS_TEACHERS)
        for (account_id,) in cursor.fetchall():
            loaded = uow.get(domain.ACCOUNT, account_id)
            classes = teacher_classes(loaded.state.classes, grades)
            if sorted(classes) == sorted(loaded.state.classes):
                continue
            uow.record(loaded, domain.decide(loaded.state, domain.SetClasses(tuple(classes))))
            _log.info(
                "%s's classes moved up for %s: %s -> %s",
                account_id,
                event.data["school_year"],
                ", ".join(loaded.state.classes),
                ", ".join(classes) or "none",
                extra={"correlation_id": event.correlation_id},
            )
