"""The terms of the school calendar, for the records screens: which is current, which closed.

The calendar is the config's ``SCHOOL.terms`` (``shared.runtime.school_calendar``), read
as every service reads it. A term is closed once the archives recorded its
``TermClosed`` event: the archives' own feed holds those events only, so reading it
through (a page of a few events a school year) tells which terms are closed and when.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared.runtime.school_calendar import SchoolCalendar

FEED_PAGE = 100
TERM_CLOSED = "TermClosed"

Feed = Callable[[int, int], list[dict[str, Any]]]
"""``events_since(after, limit)`` of the archives: its own events in position order."""


def closed_terms(events_since: Feed) -> dict[str, str]:
    """The day each closed term was closed, by term, from the archives' own events."""
    closed: dict[str, str] = {}
    after = 0
    while True:
        page = events_since(after, FEED_PAGE)
        for event in page:
            if event["type"] == TERM_CLOSED:
                closed[event["data"]["term"]] = event["data"]["closed_on"]
        if len(page) < FEED_PAGE:
            return closed
        after = page[-1]["position"]


def of_calendar(calendar: SchoolCalendar, events_since: Feed) -> dict[str, Any]:
    """``{today, terms: [{term, name, from, to, current, closed, closed_on}]}`` in the
    calendar's order."""
    today = calendar.today()
    closed = closed_terms(events_since)
    return {
        "today": today.isoformat(),
        "terms": [
            {
                "term": term.name,
                "name": term.name,
                "from": term.starts.isoformat(),
                "to": term.ends.isoformat(),
                "current": today in term,
                "closed": term.name in closed,
                "closed_on": closed.get(term.name),
            }
            for term in calendar.terms
        ],
    }
