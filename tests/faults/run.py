"""Run the fault scenarios by hand: ``python -m tests.faults.run --size full``.

Starts the fault servers (infra/extra_rabbit.sh, infra/extra_postgres.sh) if
needed, starts the services on them, runs every scenario (or those named with
``--scenario``) in order and prints the figures as a Markdown table. Exit status
1 when any invariant was violated.

``--cluster``: the broker-node scenarios instead, on a three-node RabbitMQ
cluster (infra/rabbit_cluster.sh) and a PostgreSQL cluster of their own.
"""

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402

from shared.storage.green import make_psycopg_green  # noqa: E402
from tests.faults.scenarios import (  # noqa: E402
    CLUSTER_COLUMNS,
    CLUSTER_SCENARIOS,
    COLUMNS,
    SCENARIOS,
    SIZES,
    Run,
    run_scenario,
    table,
)
from tests.faults.servers import ClusterServers, Servers, exclusive_run  # noqa: E402
from tests.faults.system import System  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument(
        "--cluster",
        action="store_true",
        help="stop and kill nodes of a three-node RabbitMQ cluster (its own scenarios)",
    )
    parser.add_argument(
        "--scenario",
        action="append",
        choices=[s.name for s in SCENARIOS + CLUSTER_SCENARIOS],
        help="run only this one (repeatable); default: all, in order",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    make_psycopg_green()
    size = SIZES[args.size]
    scenarios = CLUSTER_SCENARIOS if args.cluster else SCENARIOS
    chosen = [s for s in scenarios if not args.scenario or s.name in args.scenario]
    if not chosen:
        parser.error("no such scenario here (the cluster's need --cluster)")
    servers = ClusterServers() if args.cluster else Servers()
    with exclusive_run(names=servers.locks):
        servers.start()
        system = System(servers)
        try:
            system.start(size.copies, size.patrons)
            run = Run(system, size)
            for seed, scenario in enumerate(chosen):
                figures = run_scenario(run, scenario, seed)
                print(f"[faults] {scenario.name}: {len(figures.violations)} violations", flush=True)
                for violation in figures.violations[:20]:
                    print(f"[faults]   {violation}", flush=True)
        finally:
            system.stop()
    print(table(run.figures, CLUSTER_COLUMNS if args.cluster else COLUMNS))
    return 1 if any(f.violations for f in run.figures) else 0


if __name__ == "__main__":
    sys.exit(main())
