"""A realistic school history, generated and stored fast, for benchmarks and the demo.

Sizes follow the library plans: 24 classes, 1,156 students, ~80 teachers and
36,800 copies spread over the Chinese Library Classification letters. Days are
simulated in order: students borrow what is on the shelf (never more than
three books, never a copy that is out), and bring it back one to three weeks
later. Each day is stored with one bulk append per service (``append_streams``),
so a million events take a minute rather than an hour.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from shared.events.envelope import NewEvent
from shared.eventsourcing.store import ANY_VERSION, EventStore
from shared.storage.pool import ConnectionPool

# Share of the collection by top-level class letter (literature and children's books lead).
CLASS_LETTERS = {
    "I": 30,
    "K": 10,
    "G": 8,
    "H": 7,
    "J": 5,
    "O": 6,
    "Q": 5,
    "T": 6,
    "B": 4,
    "D": 4,
    "E": 2,
    "F": 3,
    "N": 2,
    "P": 2,
    "R": 2,
    "S": 1,
    "U": 1,
    "X": 1,
    "Z": 1,
}
CLASSES = [f"G{grade}-{number}" for grade in range(7, 10) for number in range(1, 9)]
FIRST_DAY = date(2026, 9, 1)


@dataclass(frozen=True)
class SchoolSize:
    copies: int = 36_800
    students: int = 1_156
    teachers: int = 80
    titles: int = 9_200


@dataclass
class Library:
    """The simulated collection and readers as the days go by."""

    size: SchoolSize
    rng: random.Random
    shelf: dict[str, list[str]] = field(default_factory=dict)  # campus -> barcodes on the shelf
    details: dict[str, dict] = field(default_factory=dict)
    patrons: list[dict] = field(default_factory=list)
    holding: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    due_back: dict[date, list[tuple[str, dict, str]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    loans: int = 0


def _isbn13(number: int) -> str:
    body = f"978{number:09d}"
    check = (10 - sum((3 if i % 2 else 1) * int(c) for i, c in enumerate(body)) % 10) % 10
    return body + str(check)


def catalogue(library: Library) -> Iterator[NewEvent]:
    """``BookAdded`` for every copy: titles with a few copies each, split over campuses."""
    letters = [letter for letter, weight in CLASS_LETTERS.items() for _ in range(weight)]
    for number in range(1, library.size.copies + 1):
        title = number % library.size.titles
        letter = letters[title % len(letters)]
        campus = "north" if title % 5 < 3 else "south"
        barcode = f"C{number:08d}"
        data = {
            "barcode": barcode,
            "isbn": _isbn13(title),
            "title": f"{letter}类图书 {title}",
            "author": f"作者 {title % 997}",
            "classification": f"{letter}{100 + title % 800}.{title % 9}",
            "campus": campus,
            "shelf": f"{campus[0].upper()}-{letter}-{title % 40:02d}",
            "price": f"{15 + title % 70}.{title % 10}0",
            "acquisition": "purchase",
            "reference_only": number % 97 == 0,
        }
        library.details[barcode] = data
        if not data["reference_only"]:
            library.shelf.setdefault(campus, []).append(barcode)
        yield NewEvent("BookAdded", f"copy-{barcode}", data, campus=campus)


def cards(library: Library) -> Iterator[NewEvent]:
    for number in range(1, library.size.students + library.size.teachers + 1):
        student = number <= library.size.students
        patron = {
            "patron_id": f"P{number:07d}",
            "name": f"读者{number}",
            "kind": "student" if student else "teacher",
            "class_name": CLASSES[number % len(CLASSES)] if student else None,
            "campus": "north" if number % 5 < 3 else "south",
        }
        library.patrons.append(patron)
        yield NewEvent("CardIssued", f"card-{patron['patron_id']}", patron, campus=patron["campus"])


def one_day(library: Library, day: date, loans_per_day: int) -> list[NewEvent]:
    """Returns due today, then the day's new loans."""
    events = []
    for barcode, patron, loan_id in library.due_back.pop(day, []):
        library.holding[patron["patron_id"]] -= 1
        library.shelf[library.details[barcode]["campus"]].append(barcode)
        events.append(
            NewEvent(
                "Returned",
                f"card-{patron['patron_id']}",
                {
                    "loan_id": loan_id,
                    "barcode": barcode,
                    "patron_id": patron["patron_id"],
                    "campus": patron["campus"],
                    "returned_on": day.isoformat(),
                    "overdue_days": 0,
                    "condition": "ok",
                },
                campus=patron["campus"],
            )
        )
    for _ in range(loans_per_day):
        patron = library.rng.choice(library.patrons)
        limit = 3 if patron["kind"] == "student" else 10
        shelf = library.shelf.get(patron["campus"]) or []
        if library.holding[patron["patron_id"]] >= limit or not shelf:
            continue
        barcode = shelf.pop(library.rng.randrange(len(shelf)))
        library.holding[patron["patron_id"]] += 1
        library.loans += 1
        loan_id = f"L{library.loans:010d}"
        copy = library.details[barcode]
        back = day + timedelta(days=library.rng.randint(5, 20))
        library.due_back[back].append((barcode, patron, loan_id))
        events.append(
            NewEvent(
                "Lent",
                f"card-{patron['patron_id']}",
                {
                    "loan_id": loan_id,
                    "barcode": barcode,
                    "patron_id": patron["patron_id"],
                    "patron_kind": patron["kind"],
                    "class_name": patron["class_name"],
                    "campus": patron["campus"],
                    "lent_on": day.isoformat(),
                    "due_on": (
                        day + timedelta(days=14 if patron["kind"] == "student" else 30)
                    ).isoformat(),
                    "title": copy["title"],
                    "classification": copy["classification"],
                    "isbn": copy["isbn"],
                },
                campus=patron["campus"],
            )
        )
    return events


def store_all(pool: ConnectionPool, source: str, events: list[NewEvent]) -> int:
    """Append events grouped by stream, in one bulk append; returns how many."""
    streams: dict[str, list[NewEvent]] = defaultdict(list)
    for event in events:
        streams[event.stream_id].append(event)
    with pool.transaction() as cursor:
        EventStore(source).append_streams(
            cursor, [(stream, ANY_VERSION, batch) for stream, batch in streams.items()]
        )
    return len(events)


def generate(
    pools: dict[str, ConnectionPool],
    total_events: int,
    size: SchoolSize = SchoolSize(),
    seed: int = 2026,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Store about ``total_events`` events in the catalog and circulation stores."""
    library = Library(size, random.Random(seed))
    stored = {"catalog": 0, "circulation": 0}
    batch: list[NewEvent] = []
    for event in catalogue(library):
        batch.append(event)
        if len(batch) == 5000:
            stored["catalog"] += store_all(pools["catalog"], "catalog", batch)
            batch = []
    stored["catalog"] += store_all(pools["catalog"], "catalog", batch)
    stored["circulation"] += store_all(pools["circulation"], "circulation", list(cards(library)))
    if progress:
        progress(stored["catalog"] + stored["circulation"])
    remaining = total_events - sum(stored.values())
    days = 180
    loans_per_day = max(1, remaining // (2 * days))
    day = FIRST_DAY
    # Each loan is two events (lent, then returned); a day lends no more than the
    # budget has room for, so no loan is cut off after it was counted as lent.
    while (room := total_events - sum(stored.values()) - open_loans(library)) >= 2:
        events = one_day(library, day, min(loans_per_day, room // 2))
        if events:
            stored["circulation"] += store_all(pools["circulation"], "circulation", events)
            if progress:
                progress(len(events))
        day += timedelta(days=1)
    # The end of term: every book comes back, so the desks that follow find
    # every reader free to borrow (as after a stock-take), however long the history.
    while library.due_back:
        events = one_day(library, min(library.due_back), 0)
        stored["circulation"] += store_all(pools["circulation"], "circulation", events)
        if progress:
            progress(len(events))
    return stored


def open_loans(library: Library) -> int:
    """Loans not yet returned (each will be one ``Returned`` more)."""
    return sum(len(loans) for loans in library.due_back.values())
