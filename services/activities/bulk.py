"""Writing a batch of read-model rows in one statement.

A rebuild hands a projection thousands of events at a time. Building an
``INSERT ... VALUES`` string row by row in Python then costs more than the
database's own work, so a batch goes as one array per column, quoted by
psycopg2's C adapters, and is unpacked by ``unnest`` into one
``INSERT ... SELECT ... ON CONFLICT``. (``COPY`` would be faster still, but
psycopg2 refuses it on the cooperative connections the services use under
eventlet.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.eventsourcing.projection import Cursor
from shared.storage.batched import writes


def merge(
    cursor: Cursor,
    table: str,
    columns: Sequence[tuple[str, str]],
    rows: Sequence[Sequence[Any]],
    on_conflict: str,
) -> None:
    """Insert ``rows`` into ``table`` and resolve clashes with ``on_conflict``
    (e.g. ``ON CONFLICT (key) DO NOTHING``). ``columns`` are (name, SQL type)
    pairs. Keys must not repeat within ``rows`` when the conflict clause updates."""
    if not rows:
        return
    names = ", ".join(name for name, _ in columns)
    arrays = ", ".join(f"%s::{kind}[]" for _, kind in columns)
    writes(cursor).execute(
        f"INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays}) {on_conflict}",
        [list(values) for values in zip(*rows, strict=True)],
    )
