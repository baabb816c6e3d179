"""Desk throughput, latency and event lag, against a store already holding a school's history.

    python -m bench.desk [--events 1000000] [--seconds 20] [--runs 3] [--rates 10,25,50,100,300]
                         [--profile DIR]

Stores a realistic history, starts catalog, circulation, activities, archives
and a bare echo service as ``nameko run`` processes, then measures in the same
run, so every figure can be read as a ratio:

* baselines: nameko echo-RPC calls/s (20 clients) and the latency of echo
  calls made one at a time (the floor under any command's), single-row PostgreSQL
  inserts/s, RabbitMQ publishes/s confirmed one by one;
* 20 desks lending and returning as fast as they can (commands/s, latency);
* open loops at 10, 25, 50, 100 and 300 commands/s (``--rates``; readers
  arrive at random): latency p50/p95/p99 counted from when each command was
  due, and the lag from a loan's reply to its effect in the archives' loan
  records and the activities' borrowings;
* the command side alone (the three consumers paused) and then the read side
  alone (the time they take to apply what piled up meanwhile);
* peak memory (RSS) of each service.

Medians over ``--runs`` runs; results in bench/results/desk.json.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import sys
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import eventlet

eventlet.monkey_patch()

from eventlet.event import Event  # noqa: E402
from nameko.standalone.rpc import ServiceRpcProxy  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from bench.history import generate  # noqa: E402
from bench.report import median_of, print_profiles  # noqa: E402
from bench.stage import Measured, Stage, cpu_used  # noqa: E402
from shared.eventsourcing.store import EventStore  # noqa: E402
from shared.messaging.publisher import ConfirmingPublisher, OutgoingMessage  # noqa: E402
from shared.runtime.topology import declare_all  # noqa: E402
from shared.storage.green import make_psycopg_green  # noqa: E402
from shared.storage.pool import connect  # noqa: E402

RESULTS = Path(__file__).parent / "results"
DESKS = 20
RATES = (10, 25, 50, 100, 300)  # offered commands/s for the open-loop runs
LAG_QUERIES = {  # where a loan shows once each read model has taken it in
    "archives": "SELECT loan_id FROM archive_loans WHERE loan_id = ANY(%s)",
    "activities": "SELECT loan_id FROM borrowings WHERE loan_id = ANY(%s)",
}
LAG_GIVE_UP = 30.0  # seconds: a loan not seen by then counts as this late
LAG_POLL = 0.01  # seconds between two looks of a lag poller (its resolution)
SERVICES = ("catalog", "circulation", "activities", "archives")

SEED_COPY_LOANS = """
    UPDATE copy_availability c SET loan_id = last.data->>'loan_id',
        patron_id = last.data->>'patron_id', due_on = (last.data->>'due_on')::date
    FROM (SELECT DISTINCT ON (data->>'barcode') data, type FROM events
          WHERE type IN ('Lent', 'Returned', 'DeclaredLost')
          ORDER BY data->>'barcode', position DESC) last
    WHERE last.type = 'Lent' AND c.barcode = last.data->>'barcode'
"""
FREE_COPIES = """
    SELECT barcode, campus FROM copy_availability
    WHERE loan_id IS NULL AND status = 'on_shelf' AND NOT reference_only ORDER BY barcode
"""
IDLE_STUDENTS = """
    SELECT e.data->>'patron_id', e.data->>'campus' FROM events e
    WHERE e.type = 'CardIssued' AND e.data->>'kind' = 'student'
      AND NOT EXISTS (SELECT 1 FROM copy_availability c WHERE c.patron_id = e.data->>'patron_id')
    ORDER BY 1
"""


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def seed(stage: Stage, events: int, console: Console) -> dict[str, int]:
    """A history in the stores; read models and relays set as if they had followed it."""
    started = time.perf_counter()
    stored = generate(stage.pools, events)
    console.print(f"stored {stored} in {time.perf_counter() - started:.0f}s")
    heads = stage.as_if_followed(SERVICES)
    with stage.pools["circulation"].transaction() as cursor:
        cursor.execute(SEED_COPY_LOANS)
    return heads


def baseline_echo(stage: Stage, seconds: float) -> dict[str, Any]:
    """Echo calls/s from 20 clients, and the CPU each part spent per call."""
    config = stage.config
    done = [0]
    stop = time.monotonic() + seconds

    def client() -> None:
        with ServiceRpcProxy("echo", config) as echo:
            while time.monotonic() < stop:
                echo.echo("ping")
                done[0] += 1

    threads = [eventlet.spawn(client) for _ in range(DESKS)]
    cpu_before = stage.cpu_seconds()
    started = time.monotonic()
    for thread in threads:
        thread.wait()
    elapsed = time.monotonic() - started
    used = cpu_used(cpu_before, stage.cpu_seconds())
    return {
        "calls_per_second": done[0] / elapsed,
        "cpu_ms_per_call": {
            name: round(seconds * 1000 / done[0], 2)
            for name, seconds in used.items()
            if name in ("echo", "rabbitmq", "bench (the desks)")
        },
    }


def baseline_echo_latency(stage: Stage, calls: int = 500) -> dict[str, float]:
    """Latency of echo calls made one at a time by one client: the floor under a command's."""
    with ServiceRpcProxy("echo", stage.config) as echo:
        for _ in range(20):  # warm up the connection and the reply queue
            echo.echo("ping")
        latencies = []
        for _ in range(calls):
            started = time.monotonic()
            echo.echo("ping")
            latencies.append(time.monotonic() - started)
    return {
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
    }


def baseline_postgres(dsn: str, seconds: float) -> float:
    conn = connect(dsn, autocommit=True)
    with conn.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_raw (n bigint, at timestamptz)")
        count, started = 0, time.monotonic()
        while time.monotonic() - started < seconds:
            cursor.execute("INSERT INTO bench_raw VALUES (%s, now())", (count,))
            count += 1
    conn.close()
    return count / (time.monotonic() - started)


def baseline_rabbit(uri: str, seconds: float) -> float:
    publisher = ConfirmingPublisher(uri)
    count, started = 0, time.monotonic()
    while time.monotonic() - started < seconds:
        publisher.publish_batch("amq.topic", [OutgoingMessage("bench", b"{}", str(count))])
        count += 1
    publisher.close()
    return count / (time.monotonic() - started)


class Desk:
    """One desk with its own readers and shelf, lending and taking back in turn."""

    def __init__(
        self,
        config: dict,
        campus: str,
        patrons: list[str],
        copies: list[str],
        keyed: bool = False,
    ) -> None:
        self.config, self.campus = config, campus
        self.patrons, self.copies = patrons, copies
        self.keyed = keyed  # every command with its own command_id, as screens send them
        self.out: list[tuple[str, str]] = []  # (barcode, patron) lent, to take back
        self.turn = 0

    def next_command(self) -> tuple[str, dict[str, Any]]:
        today = date.today().isoformat()
        key = {"command_id": str(uuid.uuid4())} if self.keyed else {}
        if self.out and (len(self.out) >= len(self.patrons) or self.turn % 2):
            barcode, _ = self.out.pop(0)
            self.turn += 1
            return "return_copy", {"barcode": barcode, "campus": self.campus, "on": today, **key}
        barcode = self.copies.pop(0)
        patron = self.patrons[self.turn % len(self.patrons)]
        self.turn += 1
        lend = {"barcode": barcode, "patron_id": patron, "campus": self.campus, "on": today}
        return "lend", {**lend, **key}

    def done(self, method: str, payload: dict[str, Any]) -> None:
        if method == "lend":
            self.out.append((payload["barcode"], payload["patron_id"]))
        else:
            self.copies.append(payload["barcode"])


def make_desks(stage: Stage, keyed: bool = False) -> list[Desk]:
    with stage.pools["circulation"].transaction() as cursor:
        cursor.execute(FREE_COPIES)
        copies = cursor.fetchall()
        cursor.execute(IDLE_STUDENTS)
        students = cursor.fetchall()
    desks = []
    per_campus = DESKS // 2
    for number in range(DESKS):
        # Even desks at north, odd at south; each campus's readers and copies dealt out in turn.
        campus, seat = ("north", "south")[number % 2], number // 2
        at_campus = [p for p, c in students if c == campus]
        shelf = [b for b, c in copies if c == campus]
        mine_patrons = at_campus[seat::per_campus]
        mine_copies = shelf[seat::per_campus]
        desks.append(Desk(stage.config, campus, mine_patrons[:3], mine_copies[:400], keyed))
    return desks


def run_load(
    stage: Stage,
    desks: list[Desk],
    seconds: float,
    rate: float | None,
    watch_lag: bool = False,
    profile: Path | None = None,
) -> dict[str, Any]:
    """Closed loop (``rate`` None) or open loop at ``rate`` commands/s over all desks.

    With ``profile``, every service is sampled by py-spy while the desks run.
    """
    latencies: list[float] = []
    lags: dict[str, list[float]] = {"archives": [], "activities": []}
    errors: list[str] = []
    stop = time.monotonic() + seconds
    ready, go = [], Event()

    watched: dict[str, dict[str, float]] = {"archives": {}, "activities": {}}
    watching = {"on": watch_lag}

    def watch(service: str, sql: str) -> None:
        """One poller per read model: which loans awaited there have arrived (every 10 ms)."""
        waiting = watched[service]
        with stage.pools[service].transaction() as cursor:
            while watching["on"] or waiting:
                if waiting:
                    cursor.execute(sql, (list(waiting),))
                    seen = time.monotonic()
                    for (loan_id,) in cursor.fetchall():
                        lags[service].append(seen - waiting.pop(loan_id))
                    cursor.connection.commit()
                    for loan_id, replied in list(waiting.items()):
                        if seen - replied > LAG_GIVE_UP:
                            del waiting[loan_id]
                            lags[service].append(LAG_GIVE_UP)
                eventlet.sleep(LAG_POLL)

    def work(desk: Desk, seat: int) -> None:
        interval = DESKS / rate if rate else 0.0
        with ServiceRpcProxy("circulation", stage.config, timeout=60) as circulation:
            ready.append(desk)
            go.wait()
            # Readers come to a desk at random (a Poisson stream per desk, so all the
            # desks together make one at ``rate``), not as a burst of 20 every interval.
            arrivals = random.Random(seat)
            scheduled = time.monotonic() + (arrivals.expovariate(1 / interval) if rate else 0)
            # Behind schedule, an open loop keeps its backlog (no coordinated omission)
            # but gives up at twice the run's length: the figures then show it fell behind.
            while scheduled < stop and time.monotonic() < stop + seconds:
                if rate:
                    eventlet.sleep(max(0.0, scheduled - time.monotonic()))
                start = scheduled if rate else time.monotonic()
                method, payload = desk.next_command()
                try:
                    answer = getattr(circulation, method)(payload)
                except Exception as error:  # a refusal here is a bench bug: count it
                    errors.append(f"{method}: {error}")
                else:
                    desk.done(method, payload)
                    replied = time.monotonic()
                    latencies.append(replied - start)
                    if watch_lag and method == "lend":
                        for waiting in watched.values():
                            waiting[answer["loan_id"]] = replied
                scheduled = (
                    scheduled + arrivals.expovariate(1 / interval) if rate else time.monotonic()
                )

    threads = [eventlet.spawn(work, desk, seat) for seat, desk in enumerate(desks)]
    pollers = [eventlet.spawn(watch, service, sql) for service, sql in LAG_QUERIES.items()]
    while len(ready) < len(desks):
        eventlet.sleep(0.05)
    measured = Measured(stage, SERVICES, seconds, profile)
    go.send()
    for thread in threads:
        thread.wait()
    elapsed, cpu = measured.stop(len(latencies))
    watching["on"] = False
    for poller in pollers:
        poller.wait()  # until every loan reached both read models (or LAG_GIVE_UP passed)
    result = {
        "offered_per_second": rate or 0,
        "commands_per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
        "p95_ms": round(percentile(latencies, 0.95) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "errors": len(errors),
        "first_errors": errors[:3],
        "cpu_ms_per_command": cpu,
    }
    for service, values in lags.items():
        if values:
            result[f"lag_{service}_p50_ms"] = round(percentile(values, 0.50) * 1000, 1)
            result[f"lag_{service}_p99_ms"] = round(percentile(values, 0.99) * 1000, 1)
    return result


CONSUMERS = ("catalog", "activities", "archives")
FOLLOWED_TO = "SELECT coalesce(min(position), 0) FROM projection_checkpoints WHERE source = %s"


def commands_alone(stage: Stage, seconds: float, keyed: bool = False) -> dict[str, Any]:
    """The command side on its own, then the read side on its own.

    The three consumers are paused (SIGSTOP) while 20 desks lend and return
    flat out, so circulation, its relay and RabbitMQ have the cores to
    themselves; then they are let go, and the time they take to apply the
    backlog gives the read side's own rate. Together with the run where both
    share the machine, this tells which side bounds the desks.
    """
    for name in CONSUMERS:
        stage.processes[name].send_signal(signal.SIGSTOP)
    try:
        result = run_load(stage, make_desks(stage, keyed), seconds, None)
    finally:
        for name in CONSUMERS:
            stage.processes[name].send_signal(signal.SIGCONT)
    with stage.pools["circulation"].transaction() as cursor:
        head = EventStore("circulation").head(cursor)
    started, behind = time.monotonic(), {}
    for name in CONSUMERS:
        with stage.pools[name].transaction() as cursor:
            cursor.execute(FOLLOWED_TO, ("circulation",))
            behind[name] = head - cursor.fetchone()[0]
    for name in CONSUMERS:
        while True:
            with stage.pools[name].transaction() as cursor:
                cursor.execute(FOLLOWED_TO, ("circulation",))
                if cursor.fetchone()[0] >= head:
                    break
            eventlet.sleep(0.02)
    took = time.monotonic() - started
    backlog = max(behind.values())
    result["backlog_events"] = backlog
    result["read_side_catch_up_seconds"] = round(took, 2)
    result["read_side_events_per_second"] = round(backlog / took, 1) if took else 0.0
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--rates",
        type=lambda text: tuple(int(r) for r in text.split(",") if r),
        default=RATES,
        help="offered commands/s of the open-loop runs, comma-separated ('' for none)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="sample every service with py-spy while the desks run flat out; "
        "collapsed stacks and a summary go to this folder",
    )
    parser.add_argument(
        "--keyed",
        action="store_true",
        help="every lend and return carries its own command_id (idempotency key), as the "
        "desk screens and kiosks send them",
    )
    args = parser.parse_args(argv)
    make_psycopg_green()
    console = Console()
    stage = Stage.open(Path(".run/bench"))
    try:
        heads = seed(stage, args.events, console)
        declare_all(stage.config["AMQP_URI"])
        stage.start("echo", "bench.echo")
        for service in SERVICES:
            stage.start(service, f"services.{service}.service")
        stage.wait_for_rpc(["echo", *SERVICES])
        results: dict[str, Any] = {"events_in_store": heads, "desks": DESKS}
        runs: dict[str, list[dict[str, Any]]] = {}
        for run in range(args.runs):
            console.print(f"run {run + 1}/{args.runs}")
            short = max(3.0, args.seconds / 4)
            runs.setdefault("echo", []).append(baseline_echo(stage, short))
            runs.setdefault("echo_one_caller", []).append(baseline_echo_latency(stage))
            runs.setdefault("postgres", []).append(
                {
                    "inserts_per_second": baseline_postgres(
                        stage.config["DATABASES"]["catalog"], short
                    )
                }
            )
            runs.setdefault("rabbit", []).append(
                {"confirmed_publishes_per_second": baseline_rabbit(stage.config["AMQP_URI"], short)}
            )
            baselines = ("echo", "echo_one_caller", "postgres", "rabbit")
            console.print(f"  baselines: {[runs[k][-1] for k in baselines]}")
            for rate in (None, *args.rates):
                name = f"load_{rate}" if rate else "desks_flat_out"
                desks = make_desks(stage, args.keyed)
                profiler = args.profile if rate is None and run == 0 else None
                result = run_load(
                    stage, desks, args.seconds, rate, watch_lag=bool(rate), profile=profiler
                )
                runs.setdefault(name, []).append(result)
                console.print(f"  {name}: {result}")
            alone = commands_alone(stage, args.seconds, args.keyed)
            runs.setdefault("commands_alone", []).append(alone)
            console.print(f"  commands_alone: {alone}")
        for name, values in runs.items():
            results[name] = median_of(values, 1)
        echo = results["echo"]["calls_per_second"]
        results["lend_return_vs_echo"] = round(
            results["desks_flat_out"]["commands_per_second"] / echo, 2
        )
        results["commands_alone_vs_echo"] = round(
            results["commands_alone"]["commands_per_second"] / echo, 2
        )
        results["peak_rss_mb"] = stage.peak_rss_mb()
    finally:
        stage.close()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "desk.json").write_text(json.dumps(results, indent=2))
    table = Table(
        title=f"Desks against {sum(heads.values()):,} stored events (medians of {args.runs})"
    )
    table.add_column("measure")
    table.add_column("figure", justify="right")
    loads = [f"load_{rate}" for rate in args.rates]
    measures = ("echo", "echo_one_caller", "postgres", "rabbit", "desks_flat_out")
    for name in (*measures, *loads, "commands_alone"):
        for key, value in results[name].items():
            if isinstance(value, dict):  # CPU per command, by process
                for part, figure in value.items():
                    table.add_row(f"{name}.{key}.{part}", f"{figure:,}")
            else:
                table.add_row(f"{name}.{key}", f"{value:,}")
    table.add_row("lend/return throughput / echo RPC", f"{results['lend_return_vs_echo']:.0%}")
    table.add_row(
        "lend/return, consumers paused / echo RPC", f"{results['commands_alone_vs_echo']:.0%}"
    )
    for name, mb in results["peak_rss_mb"].items():
        table.add_row(f"peak RSS {name} (MB)", f"{mb}")
    console.print(table)
    if args.profile:
        print_profiles(args.profile, console)
    return 0


if __name__ == "__main__":
    sys.exit(main())
