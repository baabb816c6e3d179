"""Read-model rows changed in memory and written back in one statement.

A projection that folds a batch of events (a rebuild replays thousands at a
time) loads the rows whose stored values the batch reads with one query,
applies every event to dicts that remember their changed columns, and writes
the touched rows with a statement or two, all rows as one JSON parameter: the
same result as one statement per event, in a few statements per batch.
Projections that use it for ``apply_many`` also use it for ``apply`` (a batch
of one), so the live and the rebuilt read model come from the same code.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from itertools import groupby
from typing import Any

from psycopg2.extras import execute_values

from shared.events.envelope import Envelope
from shared.eventsourcing.projection import Projection
from shared.eventsourcing.store import Cursor
from shared.storage.batched import writes

PAGE = 1000


UNREAD = type("Unread", (), {"__repr__": lambda self: "UNREAD"})()
"""The value of a column of a row changed without being read (``Rows.existing``)."""


class Row(dict):
    """A row as a dict that remembers which columns changed since it was read or written.

    Knowing the changed columns as they are set costs one comparison per change;
    finding them afterwards (every column of every touched row against a copy
    of the row as read) cost as much as writing the rows.
    """

    __slots__ = ("changed",)

    def __init__(self, values: Iterable[tuple[str, Any]] | dict[str, Any]) -> None:
        super().__init__(values)
        self.changed: set[str] = set()

    def __setitem__(self, column: str, value: Any) -> None:
        if self[column] != value:  # a KeyError for a column the table does not have
            self.changed.add(column)
            super().__setitem__(column, value)

    def update(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Set many columns (values must be hashable: the changed ones are a set difference)."""
        values = dict(*args, **kwargs)
        if not values.keys() <= self.keys():
            raise KeyError(f"no such columns: {sorted(values.keys() - self.keys())}")
        self.changed.update(column for column, _ in values.items() - self.items())
        super().update(values)


class Rows:
    """The rows of one table by primary key, as far as a batch needs them.

    Keys are handled as text (``key_type`` names the column's type for the query).
    A row that was not loaded is taken for new (all NULL); when it turns out to
    exist, writing it changes only the columns this batch changed. So a
    projection need load only the rows whose stored values it reads (or whose
    columns it may set back to NULL, which on a row taken for new changes nothing).
    """

    def __init__(
        self, table: str, key: str, columns: Sequence[str], key_type: str = "text"
    ) -> None:
        self.table = table
        self.key = key
        self.key_type = key_type
        self.columns = tuple(columns)
        self.rows: dict[Any, Row] = {}
        self.stored: set[Any] = set()  # keys known to be in the table
        self.touched: set[Any] = set()
        self.blank = dict.fromkeys(self.columns)  # a new row, before its key is set

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
            row = Row(zip(self.columns, values, strict=True))
            self.rows[row[self.key]] = row
            self.stored.add(row[self.key])

    def get(self, key: Any) -> dict[str, Any] | None:
        return self.rows.get(key)

    def row(self, key: Any) -> dict[str, Any]:
        """The row for ``key`` to change, created blank (all NULL) when new."""
        if key not in self.rows:
            row = self.rows[key] = Row(self.blank)
            dict.__setitem__(row, self.key, key)
        self.touched.add(key)
        return self.rows[key]

    def existing(self, key: Any) -> dict[str, Any]:
        """The row for ``key`` to change as an UPDATE would: not at all if there is none.

        A row not in memory is not read: its columns are ``UNREAD`` and what is
        set is written with an UPDATE, one statement for the batch instead of a
        query before it.
        """
        if key not in self.rows:
            row = self.rows[key] = Row(dict.fromkeys(self.columns, UNREAD))
            dict.__setitem__(row, self.key, key)
            self.stored.add(key)
        self.touched.add(key)
        return self.rows[key]

    def write(self, cursor: Cursor, defaults: dict[str, Any] | None = None) -> None:
        """Write every touched row; NULLs become ``defaults`` where given.

        A row that exists already gets only the columns this batch changed: a
        projection following two sources (the copy ledger: catalog's facts and
        circulation's) applies them in two transactions at once, and writing the
        whole row would put back what the other one just wrote. Rows read from
        the table are updated with their key and changed columns only; others
        are upserted (the other source may have inserted one meanwhile).
        """
        defaults = defaults or {}
        cursor = writes(cursor)  # nothing is read back: it may wait for the next round trip
        new: dict[frozenset[str], list[Any]] = {}
        changed: dict[frozenset[str], list[Any]] = {}
        for key in sorted(self.touched, key=str):
            columns = frozenset(self.rows[key].changed)
            if key not in self.stored:
                new.setdefault(columns, []).append(key)
            elif columns:
                changed.setdefault(columns, []).append(key)
        for columns, keys in new.items():
            self._insert(cursor, self._ordered(columns), keys, defaults)
        for columns, keys in changed.items():
            self._update(cursor, self._ordered(columns), keys, defaults)
        for key in self.touched:
            self.rows[key].changed.clear()
        self.stored |= self.touched
        self.touched.clear()

    def _ordered(self, columns: frozenset[str]) -> tuple[str, ...]:
        return tuple(c for c in self.columns if c in columns and c != self.key)

    @staticmethod
    def _record(values: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
        """``values`` without NULLs (JSON's missing is SQL's NULL), or their defaults."""
        record = {column: value for column, value in values.items() if value is not None}
        for column, default in defaults.items():
            if column in values:
                record.setdefault(column, default)
        return record

    def _insert(
        self, cursor: Cursor, changed: tuple[str, ...], keys: list[Any], defaults: dict[str, Any]
    ) -> None:
        records = [self._record(self.rows[key], defaults) for key in keys]
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in changed)
        conflict = f"({self.key}) " + (f"DO UPDATE SET {updates}" if changed else "DO NOTHING")
        upsert(cursor, self.table, self.columns, records, conflict)

    def _update(
        self, cursor: Cursor, changed: tuple[str, ...], keys: list[Any], defaults: dict[str, Any]
    ) -> None:
        records = [
            self._record({c: self.rows[key][c] for c in (self.key, *changed)}, defaults)
            for key in keys
        ]
        cursor.execute(
            f"UPDATE {self.table} AS old SET {', '.join(f'{c} = new.{c}' for c in changed)} "
            f"FROM json_populate_recordset(NULL::{self.table}, %s) AS new "
            f"WHERE old.{self.key} = new.{self.key}",
            (as_json(records),),
        )


def upsert(
    cursor: Cursor,
    table: str,
    columns: Sequence[str],
    records: Sequence[dict[str, Any]],
    conflict: str = "DO NOTHING",
) -> None:
    """Insert ``records`` (dicts by column name) in one statement, however many.

    They travel as one JSON parameter that PostgreSQL reads into the table's row
    type: no quoting row by row in Python (``execute_values`` spent most of a
    rebuild in ``mogrify``), and no column types to keep in step with the table.
    """
    if not records:
        return
    names = ", ".join(columns)
    writes(cursor).execute(
        f"INSERT INTO {table} ({names}) SELECT {names} "
        f"FROM json_populate_recordset(NULL::{table}, %s) ON CONFLICT {conflict}",
        (as_json(records),),
    )


def as_json(records: Sequence[dict[str, Any]]) -> str:
    """Rows as one JSON array (decimals, dates and ids as their text)."""
    return json.dumps(records, default=str, ensure_ascii=False)


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
