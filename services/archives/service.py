"""The archives service: the event archive, ledgers, registers and term reports."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.archives import domain, queries, reports
from services.archives import schemas as s
from services.archives.projections import FOLLOWED, INLINE, SOURCES
from shared.errors import found, load
from shared.events.envelope import Envelope
from shared.eventsourcing.unit_of_work import UnitOfWork
from shared.messaging.rpc import rpc
from shared.messaging.subscriber import subscribe
from shared.runtime import event_feed
from shared.runtime.commands import command
from shared.runtime.dependencies import Calendar, EventStoreProvider, Projections

EPOCH = "1970-01-01T00:00:00+00:00"
ARCHIVES_LINGER_MS = 100


class ArchivesService(event_feed.EventFeed):
    name = "archives"
    store = EventStoreProvider(*INLINE)
    projections = Projections(*FOLLOWED)
    calendar = Calendar()

    # A tenth of a second's events at a time, in one transaction: within issue 6's lag
    # target (p99 250 ms) at a hundred commands a second. A live stream resuming from
    # this feed waits for an event not archived yet (services/gateway/live.py).
    @subscribe(*SOURCES, linger_ms=ARCHIVES_LINGER_MS)
    def on_events(self, events: list[Envelope]) -> Any:
        return self.projections.apply(events)

    # ------------------------------------------------------------ the replay feed

    @rpc
    def events(self, source: str, after: int = 0, limit: int = 500) -> list[dict[str, Any]]:
        """The archived replay feed of one source, in position order."""
        query = load(s.ArchiveQuery(), {"source": source, "after": after, "limit": limit})
        with self.store.cursor() as cursor:
            return queries.archived(cursor, query["source"], query["after"], query["limit"])

    @rpc
    def timeline(self, payload: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every source's events in the order they were recorded, a page at a time."""
        query = load(s.TimelineQuery(), payload or {})
        after = (
            query["after_recorded_at"].isoformat() if query["after_recorded_at"] else EPOCH,
            query["after_source"],
            query["after_position"],
        )
        with self.store.cursor() as cursor:
            return queries.timeline(cursor, after, query["limit"])

    # ------------------------------------------------------------ who did what

    @rpc
    def audit(self, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """Archived events of every source, newest first: one actor's or everyone's, in a period."""
        query = load(s.AuditQuery(), payload or {})
        period = queries.moments(query["since"], query["until"], self.calendar.timezone)
        with self.store.cursor() as cursor:
            return queries.audit(cursor, query["actor"], period, query["after"], query["limit"])

    @rpc
    def copy_history(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Every source's archived events about one copy, in the order they happened: its
        timeline, each step with when, who did it and the reader it names."""
        query = load(s.CopyHistoryQuery(), payload)
        with self.store.cursor() as cursor:
            events = queries.copy_history(cursor, query["barcode"], self.calendar.timezone)
        return {"barcode": query["barcode"], "events": events}

    @rpc
    def desk_today(self, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """What a desk did on a day (today at the school unless ``on``): the lends, returns,
        renewals and payments at ``campus``, newest first, each with who did it."""
        query = load(s.DeskTodayQuery(), payload or {})
        on = query["on"] or self.calendar.today()
        period = queries.moments(on, on, self.calendar.timezone)
        with self.store.cursor() as cursor:
            items = queries.desk_day(cursor, query["campus"], period)
        return {"on": on.isoformat(), "campus": query["campus"], "items": items}

    # ------------------------------------------------------------ ledgers

    @rpc
    def general_ledger(self, payload: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Copies held, added, weeded and their value, per campus and overall (总括帐)."""
        return self._ledger("campus", payload)

    @rpc
    def classification_ledger(self, payload: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """The same by top-level Chinese Library Classification letter (分类帐)."""
        return self._ledger("class_letter", payload)

    def _ledger(self, group: str, payload: dict[str, Any] | None) -> list[dict[str, Any]]:
        query = load(s.Period(), payload or {})
        with self.store.cursor() as cursor:
            return queries.ledger(cursor, group, queries.period(**query))

    @rpc
    def writeoff_ledger(self, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """Every weeded copy with its reason and value, and totals by reason (注销帐)."""
        query = load(s.Period(), payload or {})
        with self.store.cursor() as cursor:
            return queries.write_offs(cursor, queries.period(**query))

    # ------------------------------------------------------------ registers

    @rpc
    def register(self, payload: dict[str, Any]) -> dict[str, Any]:
        """One of the five registers: a page of its table (``limit`` rows after ``offset``,
        with ``total``); the gateway pages through it to write the whole as a file."""
        query = load(s.RegisterQuery(), payload)
        name = query.pop("name")
        page = query.pop("limit"), query.pop("offset")
        with self.store.cursor() as cursor:
            return {"name": name, **queries.register(cursor, name, queries.period(**query), page)}

    @rpc
    def registers(self) -> list[str]:
        return sorted(queries.REGISTERS)

    # ------------------------------------------------------------ terms

    @command(s.CloseTerm)
    def close_term(self, uow: UnitOfWork, command: Mapping[str, Any]) -> dict[str, Any]:
        """Freeze a term's report in a ``TermClosed`` event; a term is closed once."""
        term = found(
            self.calendar.term_named(command["term"]),
            f"no term {command['term']!r} in the school calendar",
        )
        on = command["on"] or self.calendar.today()
        report = reports.term_report(uow.cursor, term)
        uow.execute(domain.TERM, term.name, domain.CloseTerm(term.name, term.starts, on, report))
        return report

    @rpc
    def term_report(self, payload: dict[str, Any]) -> dict[str, Any]:
        """A closed term's frozen report; an open term's as of now."""
        query = load(s.TermReportQuery(), payload)
        term = found(
            self.calendar.term_named(query["term"]),
            f"no term {query['term']!r} in the school calendar",
        )
        with self.store.cursor() as cursor:
            frozen = queries.frozen_report(cursor, term.name)
            report = (
                {**frozen, "closed": True}
                if frozen is not None
                else {**reports.term_report(cursor, term), "closed": False}
            )
        return report
