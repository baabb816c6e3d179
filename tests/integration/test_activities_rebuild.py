"""Activities' read models of circulation: built live or rebuilt, the same tables.

Random circulation histories (cards issued, blocked and retired, books lent
and returned, on random days, sometimes without a title) are appended to a
circulation test store. The live path is the consumer's: every event
delivered up to three times in a shuffled order to ``ProjectionRunner``,
which drops duplicates and fills gaps from the feed. The rebuild path is
``shared.eventsourcing.rebuild`` in batches of random size through ``apply_many``. Both must
leave the same rows, and the leaderboard must count exactly the loans to
students, day by day.
"""

import random
from collections import Counter
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.activities.projections import FOLLOWING_CIRCULATION, title_key
from shared.events.envelope import NewEvent
from shared.eventsourcing.projection import ProjectionRunner
from shared.eventsourcing.rebuild import rebuild
from shared.eventsourcing.store import ANY_VERSION, EventStore

FIRST_DAY = date(2026, 9, 1)
TITLES = [
    ("红楼梦", "978-7-02-000220-7"),
    ("西游记", "9787020008735"),
    ("三国演义", "9787020008728"),
    ('Notes\tand \\ {queries}, "quoted"\n', None),  # awkward in an array literal; no ISBN
    (None, None),  # an old loan recorded without its title
]
CLASSES = ["G7-3", "G7-4", "G8-1"]
# Days from the start of the term: a few, so one reader often borrows twice a day;
# across weeks, months and the end of the term.
DAYS = [0, 1, 6, 7, 29, 30, 31, 60, 120, 143]
CAMPUSES = ["north", "south"]
KINDS = ["student", "student", "student", "teacher", "class_corner"]

step = st.tuples(
    st.sampled_from(["issue", "lend", "lend", "lend", "return", "retire", "block"]),
    st.integers(0, 30),  # whom (modulo the cards or loans there are)
    st.sampled_from(DAYS),
    st.integers(0, len(TITLES) - 1),
    st.sampled_from(KINDS),
    st.sampled_from(CLASSES),
    st.sampled_from(CAMPUSES),
)


def history_of(steps):
    """Turn random steps into a history circulation could have recorded."""
    cards, retired, open_loans, events = [], set(), [], []
    for action, whom, day, title_index, kind, class_name, campus in steps:
        if action == "issue" or not cards:
            patron_id = f"P{len(cards) + 1:07d}"
            cards.append((patron_id, kind, class_name if kind != "teacher" else None, campus))
            data = {
                "patron_id": patron_id,
                "name": f"读者{len(cards)}",
                "kind": kind,
                "class_name": cards[-1][2],
                "campus": campus,
            }
            events.append(NewEvent("CardIssued", f"card-{patron_id}", data, campus=campus))
            continue
        patron_id, patron_kind, card_class, home = cards[whom % len(cards)]
        if action == "lend" and patron_id not in retired:
            title, isbn = TITLES[title_index]
            lent_on = FIRST_DAY + timedelta(days=day)
            loan = {
                "loan_id": f"L{len(events):06d}",
                "barcode": f"C{title_index:04d}{len(events):04d}",
                "patron_id": patron_id,
                "patron_kind": patron_kind,
                "class_name": card_class,
                "campus": campus,
                "lent_on": lent_on.isoformat(),
                "due_on": (lent_on + timedelta(days=14)).isoformat(),
                "classification": "I242.4",
                **({"title": title} if title else {}),
                **({"isbn": isbn} if isbn else {}),
            }
            open_loans.append(loan)
            events.append(NewEvent("Lent", f"card-{patron_id}", loan, campus=campus))
        elif action == "return" and open_loans:
            loan = open_loans.pop(whom % len(open_loans))
            returned = {
                "loan_id": loan["loan_id"],
                "barcode": loan["barcode"],
                "patron_id": loan["patron_id"],
                "campus": campus,
                "returned_on": loan["due_on"],
                "overdue_days": 0,
                "condition": "ok",
            }
            events.append(NewEvent("Returned", f"card-{loan['patron_id']}", returned))
        elif action == "retire" and not any(loan["patron_id"] == patron_id for loan in open_loans):
            retired.add(patron_id)
            data = {"patron_id": patron_id, "reason": "left the school"}
            events.append(NewEvent("CardRetired", f"card-{patron_id}", data))
        elif action == "block":
            data = {"patron_id": patron_id, "reason": "lost card"}
            events.append(NewEvent("CardBlocked", f"card-{patron_id}", data))
    return events


def record(pool, events):
    store = EventStore("circulation")
    stored = []
    with pool.transaction() as cursor:
        for event in events:
            stored += store.append(cursor, event.stream_id, ANY_VERSION, [event])
    return stored


def tables(pool, projections):
    found = {}
    with pool.transaction() as cursor:
        for projection in projections:
            for table in projection.tables:
                cursor.execute(f"SELECT * FROM {table}")
                found[table] = sorted(cursor.fetchall(), key=lambda row: tuple(map(str, row)))
    return found


def start_afresh(circulation, activities, projections):
    with circulation.transaction() as cursor:
        cursor.execute("TRUNCATE events")
    with activities.transaction() as cursor:
        for projection in projections:
            projection.reset(cursor)
        cursor.execute("TRUNCATE projection_checkpoints, parked_events")


def expected_counts(history):
    """What the leaderboard must hold, counted straight from the events."""
    lent = [event.data for event in history if event.type == "Lent"]
    return Counter((loan["lent_on"], loan["patron_id"]) for loan in lent)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    steps=st.lists(step, min_size=1, max_size=80),
    copies=st.integers(1, 3),
    seed=st.integers(0, 2**32 - 1),
    batch=st.integers(1, 40),
)
def test_rebuilt_read_models_equal_the_live_ones(pool_for, steps, copies, seed, batch):
    circulation, activities = pool_for("circulation"), pool_for("activities")
    projections = list(FOLLOWING_CIRCULATION)
    start_afresh(circulation, activities, projections)
    history = record(circulation, history_of(steps))

    def read_feed(source, after, limit):
        with pool_for(source).transaction() as cursor:
            return EventStore(source).read(cursor, after, limit)

    runner = ProjectionRunner(activities, projections, read_feed)
    deliveries = history * copies
    random.Random(seed).shuffle(deliveries)
    for event in deliveries:
        assert not runner.handle(event).parked
    live = tables(activities, projections)

    assert {(str(row[0]), row[1]): row[5] for row in live["loans_by_day"]} == expected_counts(
        history
    )
    issued = [e for e in history if e.type == "CardIssued"]
    assert len(live["readers"]) == len(issued)
    lent = [e.data for e in history if e.type == "Lent"]
    assert sorted((row[0], row[8]) for row in live["borrowings"]) == sorted(
        (loan["loan_id"], title_key(loan.get("isbn"), loan.get("title"))) for loan in lent
    )

    for projection in projections:
        report = rebuild(activities, projection, read_feed, batch=batch)
        assert report.events == len(history)
    assert tables(activities, projections) == live
