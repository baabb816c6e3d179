"""Rebuild speed: replay a large history into the ledgers and leaderboards.

    python -m bench.rebuild [--events 100000] [--runs 1]

Stores a realistic history in scratch databases, then rebuilds every archives
projection (and the activities leaderboard) from the stores' feeds, in
batches, printing events/s per projection and writing bench/results/rebuild.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from bench.history import generate
from shared.config import load_config
from shared.eventsourcing.projection import Projection
from shared.eventsourcing.rebuild import REBUILD_BATCH, rebuild
from shared.eventsourcing.store import EventStore
from shared.runtime.topology import service_projections
from shared.storage.pool import ConnectionPool
from shared.storage.scratch_databases import create_scratch_databases, drop_scratch_databases

RESULTS = Path(__file__).parent / "results"
PREFIX = "libbench_"


def projections_to_rebuild() -> list[tuple[str, Projection]]:
    chosen = []
    for service in ("archives", "activities"):
        for projection in service_projections(service):
            if set(projection.sources) <= {"catalog", "circulation"}:
                chosen.append((service, projection))
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=REBUILD_BATCH)
    parser.add_argument(
        "--runs", type=int, default=1, help="rebuild each projection this many times (median)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch databases")
    args = parser.parse_args(argv)
    console = Console()
    config = load_config()
    dsns = create_scratch_databases(config, PREFIX)
    pools = {service: ConnectionPool(dsn, size=2) for service, dsn in dsns.items()}
    try:
        started = time.perf_counter()
        with Progress(console=console) as bar:
            task = bar.add_task("storing a school history", total=args.events)
            stored = generate(pools, args.events, progress=lambda n: bar.advance(task, n))
        generated = time.perf_counter() - started
        console.print(f"stored {stored} in {generated:.1f}s")

        def read_feed(source: str, after: int, limit: int) -> list:
            with pools[source].transaction() as cursor:
                return EventStore(source).read(cursor, after, limit)

        results = []
        for service, projection in projections_to_rebuild():
            projection.configure(config)
            total = sum(stored.get(source, 0) for source in projection.sources)
            reports = []
            for run in range(args.runs):
                with Progress(console=console) as bar:
                    label = f"{service}.{projection.name} (run {run + 1}/{args.runs})"
                    task = bar.add_task(label, total=total)
                    reports.append(
                        rebuild(
                            pools[service],
                            projection,
                            read_feed,
                            args.batch,
                            lambda source, n, task=task: bar.advance(task, n),
                        )
                    )
            seconds = statistics.median(report.seconds for report in reports)
            results.append(
                {
                    "service": service,
                    "projection": projection.name,
                    "events": reports[0].events,
                    "seconds": round(seconds, 2),
                    "events_per_second": round(reports[0].events / seconds),
                    "runs": [round(report.rate) for report in reports],
                }
            )
        # The read rate alone is the ceiling any projection can reach.
        read_started, read = time.perf_counter(), 0
        for source in ("catalog", "circulation"):
            after = 0
            while page := read_feed(source, after, args.batch):
                after, read = page[-1].position, read + len(page)
        read_rate = read / (time.perf_counter() - read_started)
    finally:
        for pool in pools.values():
            pool.close()
        if not args.keep:
            drop_scratch_databases(config, PREFIX)
    print_results(console, stored, results, read_rate, args.batch)

    return 0


def print_results(
    console: Console, stored: dict, results: list[dict], read_rate: float, batch: int
) -> None:
    """Print the table and write bench/results/rebuild.json."""
    table = Table(title=f"Rebuild from {sum(stored.values()):,} stored events")
    for column in ("projection", "events", "seconds", "events/s", "vs. reading the feed"):
        table.add_column(column, justify="right")
    for row in results:
        table.add_row(
            f"{row['service']}.{row['projection']}",
            f"{row['events']:,}",
            f"{row['seconds']}",
            f"{row['events_per_second']:,}",
            f"{row['events_per_second'] / read_rate:.0%}",
        )
    console.print(table)
    console.print(f"reading the feed alone: {read_rate:,.0f} events/s")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "rebuild.json").write_text(
        json.dumps(
            {
                "events": stored,
                "batch": batch,
                "feed_read_events_per_second": round(read_rate),
                "projections": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    sys.exit(main())
