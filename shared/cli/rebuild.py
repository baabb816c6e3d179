"""``library rebuild <service> <projection>``: rebuild one read model from events, with a bar.

The rebuild itself (``shared.eventsourcing.rebuild``) is safe while the service
runs: it holds the projection's checkpoints, so live batches wait for it.
``help_text`` is what ``library rebuild --help`` says: the projections there are,
and what the running service sees meanwhile.
"""

from __future__ import annotations

import argparse
import sys

from shared.events.envelope import Envelope
from shared.eventsourcing.rebuild import REBUILD_BATCH, rebuild
from shared.storage.pool import ConnectionPool

DESCRIPTION = """\
Rebuild one projection (a read model) from events alone: in one transaction its
tables are emptied, every event of its sources is replayed into them, and its
checkpoints are set to where the replay stopped.

While it runs the service keeps running, and everything that touches this
projection waits for the rebuild to commit:
  - its tables are locked (TRUNCATE): queries that read them wait (longer than
    GATEWAY.rpc_timeout, 30 s by default, and the gateway answers 503);
  - a followed projection's consumer waits on its checkpoint: its queue grows,
    and is drained when the rebuild commits (events already replayed are
    dropped as duplicates);
  - an inline projection is written by the service's own commands: those
    commands wait too (the desk's, for circulation's).
The service's other projections, commands and queries go on as usual. Nothing
is lost: interrupted or failed, the transaction rolls back and the old read
model stands. Rebuild an inline projection when the desks are quiet."""


def help_text() -> tuple[str, str]:
    """(description, epilog) of ``library rebuild --help``: what a rebuild does to the
    running service, and every projection by service (``shared.runtime.topology``)."""
    from shared.config import SERVICES
    from shared.eventsourcing.projection import Reaction
    from shared.runtime.topology import inline_projections, service_projections

    lines = ["projections, by service (<- the sources each follows):"]
    reactions = []
    for service in SERVICES:
        inline = {p.name for p in inline_projections(service)}
        for projection in service_projections(service):
            if isinstance(projection, Reaction):
                reactions.append(f"{service} {projection.name}")
                continue
            kept = "inline, by its commands" if projection.name in inline else "followed"
            sources = ", ".join(projection.sources)
            lines.append(f"  {service:<12} {projection.name:<22} <- {sources} ({kept})")
    lines.append("")
    lines.append("not rebuilt (reactions: they record events of their own, replaying would")
    lines.append("record them again): " + ", ".join(reactions))
    lines.append("")
    lines.append("example: library rebuild archives copy_ledger")
    return DESCRIPTION, "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Rebuild one projection of one service, with a progress bar."""
    import eventlet

    eventlet.monkey_patch()
    from nameko.standalone.rpc import ClusterRpcProxy
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from shared.config import database_url, load_config
    from shared.eventsourcing.store import EventStore
    from shared.runtime.topology import service_projections

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
