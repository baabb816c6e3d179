"""Run the fault scenarios by hand: ``python -m tests.faults.run --size full``.

Starts the fault servers (infra/extra_rabbit.sh, infra/extra_postgres.sh) if
needed, starts the services on them, runs every scenario (or those named with
``--scenario``) in order and prints the figures as a Markdown table. Exit status
1 when any invariant was violated.
"""

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402

from shared.green import make_psycopg_green  # noqa: E402
from tests.faults.scenarios import SCENARIOS, SIZES, Run, run_scenario, table  # noqa: E402
from tests.faults.servers import Servers, exclusive_run  # noqa: E402
from tests.faults.system import System  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument(
        "--scenario",
        action="append",
        choices=[s.name for s in SCENARIOS],
        help="run only this one (repeatable); default: all, in order",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    make_psycopg_green()
    size = SIZES[args.size]
    chosen = [s for s in SCENARIOS if not args.scenario or s.name in args.scenario]
    with exclusive_run():
        servers = Servers()
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
    print(table(run.figures))
    return 1 if any(f.violations for f in run.figures) else 0


if __name__ == "__main__":
    sys.exit(main())
