"""Rebuilding a projection from events alone, and measuring how far behind it is.

A rebuild runs in one transaction: it locks the projection's checkpoints (live
consumers of it wait), empties its tables, replays every source's feed from
the start in batches, and sets the checkpoints to where it stopped. Anything
that arrives meanwhile is applied by the live consumer afterwards, or dropped
as a duplicate. Run it with ``library rebuild <service> <projection>`` (``shared.cli.rebuild``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from shared.events.envelope import Envelope
from shared.eventsourcing.projection import FeedReader, Projection, Reaction, lock_checkpoint
from shared.storage.pool import ConnectionPool

REBUILD_BATCH = 20_000
"""Events per page of a rebuild. A ledger row touched in a page is written once for the
page; over a term a copy is lent and returned dozens of times, so larger pages write
it fewer times (a million events: copy ledger 16,007 events/s in pages of 5,000,
35,750 in pages of 20,000). Two pages are held at once (one read ahead)."""
Progress = Callable[[str, int], None]

SET_CHECKPOINT = """
    UPDATE projection_checkpoints SET position = %s, updated_at = now()
    WHERE projection = %s AND source = %s
"""
FORGET_PARKED = "DELETE FROM parked_events WHERE projection = %s"


@dataclass
class RebuildReport:
    projection: str
    events: int = 0
    seconds: float = 0.0
    positions: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def rebuild(
    pool: ConnectionPool,
    projection: Projection,
    read_feed: FeedReader,
    batch: int = REBUILD_BATCH,
    progress: Progress | None = None,
) -> RebuildReport:
    """Drop ``projection``'s tables and replay all of its sources into them."""
    if isinstance(projection, Reaction):
        raise ValueError(f"{projection.name} records events; replaying it would record them again")
    report = RebuildReport(projection.name)
    started = time.perf_counter()
    with pool.transaction() as cursor:
        for source in projection.sources:
            lock_checkpoint(cursor, projection.name, source)
        projection.reset(cursor)
        cursor.execute(FORGET_PARKED, (projection.name,))
        for source in projection.sources:
            after = 0
            for page in read_ahead(read_feed, source, batch):
                projection.apply_many(cursor, page)
                after = page[-1].position
                report.events += len(page)
                if progress is not None:
                    progress(source, len(page))
            cursor.execute(SET_CHECKPOINT, (after, projection.name, source))
            report.positions[source] = after
    report.seconds = time.perf_counter() - started
    return report


def read_ahead(read_feed: FeedReader, source: str, batch: int) -> Iterator[Sequence[Envelope]]:
    """Every page of ``source``'s feed, each next one read while the caller applies this one.

    Reading a page (a query, then building envelopes) took a third of a rebuild;
    applying one mostly waits on the read model's database, so the two overlap.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"read-{source}") as reader:
        ahead = reader.submit(read_feed, source, 0, batch)
        while page := ahead.result():
            ahead = reader.submit(read_feed, source, page[-1].position, batch)
            yield page


def lag(checkpoints: dict[tuple[str, str], int], heads: dict[str, int]) -> list[dict[str, Any]]:
    """Per (projection, source): the source's newest position minus the checkpoint."""
    return [
        {
            "projection": projection,
            "source": source,
            "checkpoint": position,
            "head": heads.get(source),
            "lag": None if heads.get(source) is None else max(0, heads[source] - position),
        }
        for (projection, source), position in sorted(checkpoints.items())
    ]
