"""What one PostgreSQL round trip costs a service's process, blocking and under eventlet.

    python -m bench.pg_round_trip            # each mode in its own process, 3,000 trips each

The services run psycopg2 "green" (eventlet's wait callback): every statement sends,
hands the socket to the hub, sleeps until the answer, and is woken, where a blocking
client only sends and reads. This prints the wall time and the process's own CPU per
``SELECT 1``, each mode measured in a fresh process (eventlet's patching cannot be undone),
against the config's circulation database. A statement less per command is worth the
"green" figure to the service, and about as much again to PostgreSQL.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

TRIPS = 3000


def measure(green: bool, trips: int) -> tuple[float, float]:
    """(wall µs, CPU µs) per round trip, in this process."""
    if green:
        import eventlet

        eventlet.monkey_patch()
        from eventlet.support import psycopg2_patcher

        psycopg2_patcher.make_psycopg_green()
    import psycopg2

    from shared.config import database_url, load_config

    connection = psycopg2.connect(database_url(load_config(), "circulation"))
    connection.autocommit = True
    cursor = connection.cursor()
    cursor.execute("SELECT 1")
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(trips):
        cursor.execute("SELECT 1")
        cursor.fetchall()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    connection.close()
    return 1e6 * wall / trips, 1e6 * cpu / trips


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trips", type=int, default=TRIPS)
    parser.add_argument("--mode", choices=("blocking", "green"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.mode:
        wall, cpu = measure(args.mode == "green", args.trips)
        print(f"{args.mode:>8}: {wall:6.0f} µs wall, {cpu:5.0f} µs of the process's CPU per trip")
        return 0
    for mode in ("blocking", "green"):
        command = [sys.executable, "-m", "bench.pg_round_trip", "--mode", mode]
        subprocess.run([*command, "--trips", str(args.trips)], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
