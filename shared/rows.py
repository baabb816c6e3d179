"""Read-model rows changed in memory and written back in one statement.

A projection that folds a batch of events (a rebuild replays thousands at a
time) loads the rows the batch touches with one query, applies every event to
plain dicts, and upserts the touched rows with one ``execute_values``: the same
result as one statement per event, in a few statements per batch. Projections
that use it for ``apply_many`` also use it for ``apply`` (a batch of one), so
the live and the rebuilt read model come from the same code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from itertools import groupby
from typing import Any

from psycopg2.extras import execute_values

from shared.consumer import Projection
from shared.envelope import Envelope
from shared.store import Cursor

PAGE = 1000


class Rows:
    """The rows of one table by primary key, as far as a batch needs them.

    Keys are handled as text (``key_type`` names the column's type for the query).
    """

    def __init__(
        self, table: str, key: str, columns: Sequence[str], key_type: str = "text"
    ) -> None:
        self.table = table
        self.key = key
        self.key_type = key_type
        self.columns = tuple(columns)
        self.rows: dict[Any, dict[str, Any]] = {}
        self.stored: dict[Any, dict[str, Any]] = {}  # each row as last read or written
        self.touched: set[Any] = set()

    def load(self, cursor: Cursor, keys: Iterable[Any]) -> None:
        """Fetch the stored rows for ``keys`` not already in memory."""
        wanted = [key for key in set(keys) if key is not None and key not in self.rows]
        if not wanted:
            return
        selected = [f"{c}::text" if c == self.key else c for c in self.columns]
        cursor.execute(
            f"SELECT {', '.join(selected)} FROM {self.table} "
            f"WHERE {self.key} = ANY(%s::{self.key_type}[])",
            (wanted,),
        )
        for values in cursor.fetchall():
            row = dict(zip(self.columns, values, strict=True))
            self.rows[row[self.key]] = row
            self.stored[row[self.key]] = dict(row)

    def get(self, key: Any) -> dict[str, Any] | None:
        return self.rows.get(key)

    def row(self, key: Any) -> dict[str, Any]:
        """The row for ``key`` to change, created blank (all NULL) when new."""
        if key not in self.rows:
            self.rows[key] = {column: None for column in self.columns} | {self.key: key}
        self.touched.add(key)
        return self.rows[key]

    def write(self, cursor: Cursor, defaults: dict[str, Any] | None = None) -> None:
        """Upsert every touched row; NULLs become ``defaults`` where given.

        A row that exists already gets only the columns this batch changed: a
        projection following two sources (the copy ledger: catalog's facts and
        circulation's) applies them in two transactions at once, and writing the
        whole row would put back what the other one just wrote.
        """
        if not self.touched:
            return
        defaults = defaults or {}
        by_change: dict[tuple[str, ...], list[Any]] = {}
        for key in sorted(self.touched, key=str):
            before, row = self.stored.get(key, {}), self.rows[key]
            changed = tuple(c for c in self.columns if c != self.key and row[c] != before.get(c))
            by_change.setdefault(changed, []).append(key)
        for changed, keys in by_change.items():
            values = [
                tuple(
                    defaults.get(column)
                    if self.rows[key][column] is None
                    else self.rows[key][column]
                    for column in self.columns
                )
                for key in keys
            ]
            updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in changed)
            execute_values(
                cursor,
                f"INSERT INTO {self.table} ({', '.join(self.columns)}) VALUES %s "
                f"ON CONFLICT ({self.key}) "
                + (f"DO UPDATE SET {updates}" if changed else "DO NOTHING"),
                values,
                page_size=PAGE,
            )
            for key in keys:
                self.stored[key] = dict(self.rows[key])
        self.touched.clear()


def insert_runs(
    cursor: Cursor,
    events: Sequence[Envelope],
    event_type: str,
    insert: tuple[str, str],
    apply_one: Callable[[Cursor, Envelope], None],
    row: Callable[[Envelope], dict[str, Any]] = lambda event: event.data,
) -> None:
    """Apply a batch in order, each run of ``event_type`` with one multi-row insert.

    ``insert`` is ``(statement with VALUES %s, row template)``, filled from
    ``row(event)`` (the event's data unless given); every other event goes to
    ``apply_one``. For read models whose
    rows are born of one event type (a copy of ``BookAdded``): a catalogue of
    thousands of copies is a few statements instead of one per copy.
    """
    statement, template = insert
    for is_insert, run in groupby(events, key=lambda event: event.type == event_type):
        if is_insert:
            rows = [row(event) for event in run]
            execute_values(cursor, statement, rows, template=template, page_size=PAGE)
        else:
            for event in run:
                apply_one(cursor, event)


class BornInBulk(Projection):
    """A projection whose rows are born of one event type, inserted a run at a time.

    Subclasses set ``born_of`` (the event type) and ``insert`` (see
    ``insert_runs``), and handle every other event in ``apply_one``.
    """

    born_of: str
    insert: tuple[str, str]

    def row_of(self, event: Envelope) -> dict[str, Any]:
        return event.data

    def apply_many(self, cursor: Cursor, events: Sequence[Envelope]) -> None:
        insert_runs(cursor, events, self.born_of, self.insert, self.apply_one, row=self.row_of)

    def apply(self, cursor: Cursor, event: Envelope) -> None:
        self.apply_many(cursor, [event])

    def apply_one(self, cursor: Cursor, event: Envelope) -> None:
        raise NotImplementedError
