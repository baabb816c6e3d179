"""The activities service: the reading programme (entrypoints only).

Reading notes and competitions are decided on their own streams
(``domain.NOTE``, ``domain.COMPETITION``) by ``@command`` handlers that the
command pipeline runs once per ``command_id``, in one transaction; everything a rule needs from
circulation (the loan, the reader's and the teacher's cards) comes from this
service's own read models of circulation's events, never from its database.
Leaderboards, term targets, the weekly bulletin and the monthly winners are
answered from the read models in ``projections``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from services.activities import domain, queries
from services.activities import schemas as s
from services.activities.bulletin import bulletin, week_starting
from services.activities.programme import Programme, month_named
from services.activities.programme import month as month_of
from services.activities.projections import FOLLOWING_CIRCULATION, INLINE
from shared.errors import found, load
from shared.events.envelope import Envelope
from shared.eventsourcing.pipeline import derived_name
from shared.eventsourcing.unit_of_work import UnitOfWork
from shared.messaging.rpc import rpc
from shared.messaging.subscriber import subscribe
from shared.runtime import event_feed
from shared.runtime.commands import command
from shared.runtime.dependencies import EventStoreProvider, Projections

Command = Mapping[str, Any]


CIRCULATION_LINGER_MS = 100


class ActivitiesService(event_feed.EventFeed):
    name = "activities"
    store = EventStoreProvider(*INLINE)
    projections = Projections(*FOLLOWING_CIRCULATION)
    programme = Programme()

    # Loans and returns counted a tenth of a second's worth at a time, in one transaction:
    # within issue 6's lag target (p99 250 ms) at a hundred commands a second.
    @subscribe("circulation", linger_ms=CIRCULATION_LINGER_MS)
    def on_circulation_events(self, events: list[Envelope]) -> Any:
        return self.projections.apply(events)

    # ------------------------------------------------------------ reading notes

    @command(s.SubmitNote)
    def submit_note(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        """A reader's note about a book they borrowed: ``{patron_id, loan_id, text,
        word_count?, on?, command_id?}``; one note per loan."""
        note_id = domain.note_id_for(command["loan_id"])
        reader = queries.card(uow.cursor, command["patron_id"])
        submit = domain.SubmitNote(
            note_id,
            command["patron_id"],
            command["loan_id"],
            queries.loan_on_record(uow.cursor, command["loan_id"]),
            command["text"],
            command["word_count"],
            self._today(command),
        )
        uow.execute(domain.NEW_NOTE, note_id, submit, campus=reader.campus if reader else None)
        return queries.note(uow.cursor, note_id)

    @command(s.AwardNote)
    def award_note(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        """A teacher awards a note, once: ``{note_id, award, awarded_by, on?, command_id?}``."""
        note_id = command["note_id"]
        award = domain.AwardNote(
            command["award"],
            command["awarded_by"],
            queries.card(uow.cursor, command["awarded_by"]),
            self._today(command),
        )
        note = queries.note(uow.cursor, note_id)
        uow.execute(domain.NOTE, note_id, award, campus=note["campus"] if note else None)
        return queries.note(uow.cursor, note_id)

    @rpc
    def get_note(self, note_id: str) -> dict[str, Any]:
        with self.store.cursor() as cursor:
            return found(queries.note(cursor, note_id), f"no reading note {note_id!r}")

    @rpc
    def reading_notes(self, payload: dict[str, Any]) -> list[dict[str, Any]]:
        """Every note a reader wrote, oldest first: ``{patron_id}``."""
        query = load(s.NotesQuery(), payload)
        with self.store.cursor() as cursor:
            return queries.notes_of(cursor, query["patron_id"])

    @rpc
    def notes(self, payload: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Notes of a class, a campus or a reader, newest first, for teachers to award:
        ``{class?, campus?, status?, patron_id?, limit?}``."""
        query = load(s.NoteListQuery(), payload or {})
        with self.store.cursor() as cursor:
            return queries.notes_list(
                cursor,
                query["class_name"],
                query["campus"],
                query["status"],
                query["patron_id"],
                query["limit"],
            )

    @rpc
    def monthly_winners(self, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """The month's best note writers per class and per campus: ``{month?, campus?,
        limit?}`` (this month when ``month`` is left out)."""
        query = load(s.MonthlyWinnersQuery(), payload or {})
        month = month_named(query["month"]) if query["month"] else month_of(self.programme.today())
        with self.store.cursor() as cursor:
            return queries.monthly_winners(cursor, month, query["campus"], query["limit"])

    # ------------------------------------------------------------ competitions

    @command(s.OpenCompetition)
    def open_competition(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        """Open an essay, quiz or reading-notes competition:
        ``{title, kind, campus?, closes_on, on?, command_id?}``."""
        competition_id = derived_name("K", command["command_id"], "competition")
        open_ = domain.OpenCompetition(
            competition_id,
            command["title"],
            command["kind"],
            command["campus"],
            command["closes_on"],
            self._today(command),
        )
        uow.execute(domain.NEW_COMPETITION, competition_id, open_, campus=command["campus"])
        return self._competition(uow.cursor, competition_id)

    @command(s.EnterCompetition)
    def enter_competition(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        """A student enters, once, before the closing date:
        ``{competition_id, patron_id, title, text?, on?, command_id?}``."""
        entry_id = derived_name("E", command["command_id"], "entry")
        entrant = queries.card(uow.cursor, command["patron_id"])
        enter = domain.EnterCompetition(
            entry_id,
            command["patron_id"],
            entrant,
            command["title"],
            command["text"],
            self._today(command),
        )
        self._decide_on_competition(uow, command["competition_id"], enter, entrant)
        return queries.entry(uow.cursor, command["competition_id"], entry_id)

    @command(s.ScoreEntry)
    def score_entry(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        """A teacher scores an entry 0-100 (again, until the close):
        ``{competition_id, entry_id, score, scored_by, command_id?}``."""
        score = domain.ScoreEntry(
            command["entry_id"],
            command["score"],
            command["scored_by"],
            queries.card(uow.cursor, command["scored_by"]),
        )
        self._decide_on_competition(uow, command["competition_id"], score)
        return queries.entry(uow.cursor, command["competition_id"], command["entry_id"])

    @command(s.CloseCompetition)
    def close_competition(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        """Close a competition whose entries are all scored; answer its final ranking."""
        close = domain.CloseCompetition(self._today(command))
        self._decide_on_competition(uow, command["competition_id"], close)
        return self._results(uow.cursor, command["competition_id"])

    def _decide_on_competition(
        self, uow: UnitOfWork, competition_id: str, change: Any, entrant: domain.Card | None = None
    ) -> None:
        """Decide on a competition; its events belong to the entrant's campus or its own."""
        found = queries.competition(uow.cursor, competition_id)
        campus = entrant.campus if entrant else (found["campus"] if found else None)
        uow.execute(domain.COMPETITION, competition_id, change, campus=campus)

    def _today(self, command: Command) -> date:
        return command["on"] or self.programme.today()

    @rpc
    def competition_results(self, competition_id: str) -> dict[str, Any]:
        """The ranking by score (ties share a rank, 1, 1, 3): final once closed."""
        with self.store.cursor() as cursor:
            return self._results(cursor, competition_id)

    @rpc
    def competitions(self, payload: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Competitions, latest closing date first: ``{status?, campus?}``."""
        query = load(s.CompetitionsQuery(), payload or {})
        with self.store.cursor() as cursor:
            return queries.competitions(cursor, query["status"], query["campus"])

    def _competition(self, cursor: Any, competition_id: str) -> dict[str, Any]:
        return found(
            queries.competition(cursor, competition_id), f"no competition {competition_id!r}"
        )

    def _results(self, cursor: Any, competition_id: str) -> dict[str, Any]:
        return found(
            queries.competition_results(cursor, competition_id),
            f"no competition {competition_id!r}",
        )

    # ------------------------------------------------------------ figures from circulation

    @rpc
    def leaderboard(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Books read per student, class or campus in a week, month or term; a
        student counts for the class and campus on their card:
        ``{scope, period, on?, campus?, limit?}``."""
        query = load(s.LeaderboardQuery(), payload)
        period = self.programme.period(query["period"], query["on"] or self.programme.today())
        with self.store.cursor() as cursor:
            entries = queries.leaderboard(cursor, query["scope"], period, query["campus"])
        return {
            "scope": query["scope"],
            **period.as_dict(),
            "campus": query["campus"],
            "total": len(entries),
            "entries": entries[: query["limit"]],
        }

    @rpc
    def top_titles(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The titles students borrowed most in a week, month or term (at one campus's
        desk when ``campus`` is given): ``{period, on?, campus?, limit?}``."""
        query = load(s.TopTitlesQuery(), payload)
        period = self.programme.period(query["period"], query["on"] or self.programme.today())
        with self.store.cursor() as cursor:
            titles = queries.top_titles(cursor, period, query["campus"])
        return {**period.as_dict(), "campus": query["campus"], "titles": titles[: query["limit"]]}

    @rpc
    def term_targets(self, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """This term so far: who is behind the target (each student reads 5 books,
        each teacher borrows 5), class by class: ``{on?, term?, class?, campus?}``. A
        named term is counted up to ``on`` or its end, whichever comes first."""
        query = load(s.TermTargetsQuery(), payload or {})
        on = query["on"] or self.programme.today()
        if query["term"]:
            term = found(
                self.programme.calendar.term_named(query["term"]),
                f"no term {query['term']!r} in the school calendar",
            )
        else:
            term = self.programme.term(on)
        with self.store.cursor() as cursor:
            people = queries.term_progress(
                cursor, term.starts, min(on, term.ends), query["class_name"], query["campus"]
            )
        targets = queries.term_targets(
            people, self.programme.books_per_student, self.programme.loans_per_teacher
        )
        return {
            "term": term.name,
            "from": term.starts.isoformat(),
            "to": term.ends.isoformat(),
            "on": on.isoformat(),
            "targets": {
                "books_per_student": self.programme.books_per_student,
                "loans_per_teacher": self.programme.loans_per_teacher,
            },
            **targets,
        }

    @rpc
    def target_progress(self, patron_id: str) -> dict[str, Any]:
        """One reader's progress toward this term's target (a student's books read, a
        teacher's loans); ``NotFound`` for a card that has none (a class book corner)."""
        query = load(s.NotesQuery(), {"patron_id": patron_id})
        on = self.programme.today()
        term = self.programme.term(on)
        with self.store.cursor() as cursor:
            people = queries.term_progress(
                cursor, term.starts, min(on, term.ends), None, None, query["patron_id"]
            )
        person = found(people[0] if people else None, f"no reader {patron_id!r} with a target")
        target = (
            self.programme.books_per_student
            if person["kind"] == "student"
            else self.programme.loans_per_teacher
        )
        return {
            "term": term.name,
            "patron_id": person["patron_id"],
            "kind": person["kind"],
            "target": target,
            "count": person["loans"],
            "on_target": person["loans"] >= target,
        }

    @rpc
    def weekly_bulletin(self, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """Each class's borrowing in a week, ready to publish: ``{on? | week?, campus?}``
        (the gateway lays it out as a file or a printed page: services/gateway/exports.py)."""
        query = load(s.BulletinQuery(), payload or {})
        on = week_starting(query["week"]) if query["week"] else query["on"]
        week = self.programme.period("week", on or self.programme.today())
        with self.store.cursor() as cursor:
            classes = queries.class_borrowing(cursor, week, query["campus"])
        return bulletin(week, query["campus"], classes)
