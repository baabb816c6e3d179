"""Rebuilding a projection from events alone, and measuring how far behind it is.

A rebuild runs in one transaction: it locks the projection's checkpoints (live
consumers of it wait), empties its tables, replays every source's feed from
the start in batches, and sets the checkpoints to where it stopped. Anything
that arrives meanwhile is applied by the live consumer afterwards, or dropped
as a duplicate. Run it with ``python -m shared.rebuild <service> <projection>``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from shared.consumer import FeedReader, Projection, Reaction, lock_checkpoint
from shared.db import ConnectionPool
from shared.envelope import Envelope

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


def main(argv: list[str] | None = None) -> int:
    """Rebuild one projection of one service, with a progress bar."""
    import eventlet

    eventlet.monkey_patch()
    from nameko.standalone.rpc import ClusterRpcProxy
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from shared.config import database_url, load_config
    from shared.store import EventStore
    from shared.topology import service_projections

    parser = argparse.ArgumentParser(description="rebuild a projection from events alone")
    parser.add_argument("service")
    parser.add_argument("projection")
    parser.add_argument("--batch", type=int, default=REBUILD_BATCH)
    args = parser.parse_args(argv)
    config = load_config()
    projections = {p.name: p for p in service_projections(args.service)}
    if args.projection not in projections:
        known = ", ".join(sorted(projections)) or "none"
        print(f"{args.service} has no projection {args.projection!r} (it has: {known})")
        return 2
    projection = projections[args.projection]
    projection.configure(config)
    pool = ConnectionPool(database_url(config, args.service), size=2)
    with ClusterRpcProxy(config, timeout=60) as cluster:
        heads = {source: getattr(cluster, source).health()["head"] for source in projection.sources}

        def read_feed(source: str, after: int, limit: int) -> list[Envelope]:
            if source == args.service:
                with pool.transaction() as cursor:
                    return EventStore(source).read(cursor, after, limit)
            raw = getattr(cluster, source).events_since(after, min(limit, 5000))
            return [Envelope.from_dict(item) for item in raw]

        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} events"),
            TimeElapsedColumn(),
        )
        with Progress(*columns) as bar:
            tasks = {s: bar.add_task(f"{args.projection} <- {s}", total=heads[s]) for s in heads}
            report = rebuild(
                pool,
                projection,
                read_feed,
                args.batch,
                lambda source, n: bar.advance(tasks[source], n),
            )
    print(
        f"rebuilt {report.projection}: {report.events} events in {report.seconds:.1f}s "
        f"({report.rate:,.0f} events/s); checkpoints {report.positions}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
