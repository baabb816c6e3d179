"""Desks lending and taking back over HTTP, through the gateway, as a desk program does.

    python -m bench.http_desk [--seconds 20] [--runs 3] [--profile DIR]
    python -m bench http                 # the same through the runner; make bench runs it too

On a stage of its own (scratch databases and a vhost, ``bench.stage``), with a
collection catalogued and a roster's cards imported as the rush makes them
(``bench.rush``), catalog, circulation, activities, archives,
accounts, the gateway (on a free port of 127.0.0.1) and the echo service run as
``nameko run`` processes. Each of 20 desks is a librarian's account signed in with
``POST /api/sessions``, with its own HTTP connection (kept alive) and its own readers
and copies of its campus (students and copies dealt out, no two desks sharing one;
``bench.desk.Desk`` says what comes next); all lend (``POST /api/loans``) and take back
(``POST /api/returns``) in a closed loop for ``--seconds``, each waiting for its answer.

Per run, in the same run so every figure can be read as a ratio: the echo-RPC baseline
(20 clients, ``bench.desk.baseline_echo``: calls/s and the CPU one call costs), then the
desks: commands/s, latency p50/p95/p99, refusals (a 4xx problem, by code: the desks'
plan makes none) and errors (anything else), and the CPU each process spent per
command, read from /proc as ``bench.desk`` reads it (the services, this stage's
PostgreSQL backends, RabbitMQ, the bench). A command's CPU in all is set against an
echo call's in all.

Medians over ``--runs``; results in bench/results/http_desk.json. ``--profile DIR``
samples the services with py-spy during the first run (``bench.profile``).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import sys
import time
import traceback
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import eventlet

eventlet.monkey_patch()

import urllib3  # noqa: E402
from eventlet.event import Event  # noqa: E402
from nameko.standalone.rpc import ServiceRpcProxy  # noqa: E402
from rich.console import Console  # noqa: E402

from bench.desk import DESKS, Desk, baseline_echo, percentile  # noqa: E402
from bench.report import (  # noqa: E402
    figures_table,
    median_of,
    print_outcomes,
    print_profiles,
    summed_outcomes,
)
from bench.rush import FREE_COPIES, import_cards, seed_catalogue  # noqa: E402
from bench.rush_plan import make_roster, readers_from_import  # noqa: E402
from bench.stage import Measured, Stage  # noqa: E402
from shared.config import REPO_ROOT  # noqa: E402
from shared.runtime.topology import declare_all  # noqa: E402
from shared.storage.green import make_psycopg_green  # noqa: E402

RESULTS = Path(__file__).parent / "results"
WORKDIR = REPO_ROOT / ".run" / "bench" / "http"
SERVICES = ("catalog", "circulation", "activities", "archives", "accounts", "gateway")
ROUTES = {"lend": "/api/loans", "return_copy": "/api/returns"}
START_TIMEOUT = 90.0
READERS_PER_DESK = 3  # each a student, who may have 3 books out
COPIES_PER_DESK = 40  # a copy comes round again once taken back
# Targets of issue 18, over HTTP on this machine.
TARGET_COMMANDS_PER_SECOND = 150
TARGET_P99_MS = 250
TARGET_CPU_VS_ECHO = 3.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(stage: Stage, port: int, timeout: float = START_TIMEOUT) -> None:
    """Until the gateway accepts a connection."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
            return
        except OSError:
            if stage.processes["gateway"].poll() is not None:
                raise RuntimeError(f"the gateway exited; see {stage.workdir}/gateway.log") from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing listens on port {port}; see {stage.workdir}") from None
            time.sleep(0.2)


def librarians(stage: Stage, port: int, count: int) -> list[str]:
    """``count`` librarian accounts, each signed in over HTTP: their session tokens."""
    tokens = []
    http = urllib3.HTTPConnectionPool("127.0.0.1", port, maxsize=1)
    with ServiceRpcProxy("accounts", stage.config, timeout=120) as accounts:
        for number in range(1, count + 1):
            username, password = f"bench-desk-{number:02d}", secrets.token_urlsafe(12)
            accounts.create_account(
                {
                    "command_id": str(uuid.uuid4()),
                    "username": username,
                    "name": f"借还台 {number}",
                    "roles": ["librarian"],
                    "password": password,
                }
            )
            reply = http.request(
                "POST", "/api/sessions", json={"username": username, "password": password}
            )
            if reply.status != 201:
                raise RuntimeError(f"sign-in of {username}: {reply.status} {reply.data[:300]!r}")
            tokens.append(json.loads(reply.data)["token"])
    http.close()
    return tokens


def school(stage: Stage, console: Console) -> tuple[list[str], list[tuple[str, str]]]:
    """A roster's cards imported (the collection is seeded before the services start):
    the students (id, campus) and the free copies (barcode, campus)."""
    rows = make_roster(DESKS * READERS_PER_DESK * 3)
    imported = import_cards(stage, rows, console)
    readers = readers_from_import(rows, imported["issued"])
    students = [(r.patron_id, r.campus) for r in readers if r.kind == "student"]
    with stage.pools["circulation"].transaction() as cursor:
        cursor.execute(FREE_COPIES)
        copies = [(barcode, campus) for barcode, campus in cursor.fetchall()]
    return students, copies


def make_desks(
    stage: Stage, students: list[tuple[str, str]], copies: list[tuple[str, str]]
) -> list[Desk]:
    """Half the desks at each campus, each with its own students and copies of that campus."""
    desks = []
    per_campus = DESKS // 2
    for number in range(DESKS):
        campus, seat = ("north", "south")[number % 2], number // 2
        mine = [p for p, c in students if c == campus][seat::per_campus][:READERS_PER_DESK]
        shelf = [b for b, c in copies if c == campus][seat::per_campus][:COPIES_PER_DESK]
        desks.append(Desk(stage.config, campus, mine, shelf))
    return desks


def run_desks(
    stage: Stage,
    port: int,
    desks: list[Desk],
    tokens: list[str],
    seconds: float,
    profile: Path | None = None,
) -> dict[str, Any]:
    """Every desk lends and takes back over HTTP, flat out, for ``seconds``."""
    latencies: list[float] = []
    refusals: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    first_errors: list[str] = []
    ready, go, clock = [], Event(), {"stop": 0.0}

    def desk_loop(desk: Desk, token: str) -> None:
        http = urllib3.HTTPConnectionPool("127.0.0.1", port, maxsize=1, retries=False)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        ready.append(desk)
        go.wait()
        while time.monotonic() < clock["stop"]:
            method, payload = desk.next_command()
            payload.pop("on", None)  # a desk sends no day: today at the school
            body = json.dumps(payload).encode()
            started = time.monotonic()
            try:
                reply = http.request("POST", ROUTES[method], body=body, headers=headers)
            except Exception as error:  # a broken connection: an error of the run
                errors[type(error).__name__] += 1
                if len(first_errors) < 5:
                    first_errors.append(f"{method}: {error}")
                continue
            took = time.monotonic() - started
            if reply.status < 300:
                latencies.append(took)
                desk.done(method, payload)
            elif reply.status < 500:
                code = json.loads(reply.data).get("code", str(reply.status))
                refusals[f"{method}: {code}"] += 1
            else:
                errors[str(reply.status)] += 1
                if len(first_errors) < 5:
                    first_errors.append(f"{method}: {reply.status} {reply.data[:200]!r}")
        http.close()

    threads = [eventlet.spawn(desk_loop, d, t) for d, t in zip(desks, tokens, strict=True)]
    while len(ready) < len(desks):
        eventlet.sleep(0.05)
    measured = Measured(stage, SERVICES, seconds, profile)
    clock["stop"] = measured.started + seconds
    go.send()
    for thread in threads:
        thread.wait()
    done = len(latencies)
    elapsed, cpu = measured.stop(done)
    return {
        "commands": done,
        "commands_per_second": round(done / elapsed, 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
        "p95_ms": round(percentile(latencies, 0.95) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "refused": sum(refusals.values()),
        "errors": sum(errors.values()),
        "refusals": dict(refusals),
        "errors_by_kind": dict(errors),
        "first_errors": first_errors,
        "cpu_ms_per_command": cpu,
        "cpu_ms_per_command_all": round(sum(cpu.values()), 2),
    }


def measure(
    stage: Stage,
    port: int,
    tokens: list[str],
    desks: list[Desk],
    args: argparse.Namespace,
    profile: Path | None,
) -> dict[str, Any]:
    """One run: the echo baseline, then the desks over HTTP (carrying on where they were)."""
    echo = baseline_echo(stage, args.echo_seconds)
    echo_cpu = round(sum(echo["cpu_ms_per_call"].values()), 2)
    result = run_desks(stage, port, desks, tokens, args.seconds, profile)
    return {
        "load_average": round(os.getloadavg()[0], 2),
        "echo_calls_per_second": round(echo["calls_per_second"], 1),
        "echo_cpu_ms_per_call": echo["cpu_ms_per_call"],
        "echo_cpu_ms_per_call_all": echo_cpu,
        **result,
        "commands_vs_echo": round(result["commands_per_second"] / echo["calls_per_second"], 3),
        "cpu_vs_echo": round(result["cpu_ms_per_command_all"] / echo_cpu, 2) if echo_cpu else None,
    }


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians of the figures; refusals and errors summed over the runs."""
    figures = {**median_of(runs, 3), **summed_outcomes(runs)}
    figures["targets"] = {
        "commands_per_second >= 150": figures["commands_per_second"] >= TARGET_COMMANDS_PER_SECOND,
        "p99_ms <= 250": figures["p99_ms"] <= TARGET_P99_MS,
        "cpu_vs_echo <= 3": (figures.get("cpu_vs_echo") or 99) <= TARGET_CPU_VS_ECHO,
    }
    return figures


ROWS = (
    ("echo RPC, 20 clients (calls/s)", "echo_calls_per_second", "{:,.0f}"),
    ("echo RPC CPU per call, all processes (ms)", "echo_cpu_ms_per_call_all", "{:,.2f}"),
    ("lend/return over HTTP, 20 desks (commands/s)", "commands_per_second", "{:,.1f}"),
    ("commands/s / echo calls/s", "commands_vs_echo", "{:.0%}"),
    ("latency p50 (ms)", "p50_ms", "{:,.1f}"),
    ("latency p95 (ms)", "p95_ms", "{:,.1f}"),
    ("latency p99 (ms)", "p99_ms", "{:,.1f}"),
    ("CPU per command, all processes (ms)", "cpu_ms_per_command_all", "{:,.2f}"),
    ("CPU per command / CPU per echo call", "cpu_vs_echo", "{:,.2f}x"),
    ("load average (1 min) after each run", "load_average", "{:,.2f}"),
    ("refused (all runs; the plan makes none)", "refused", "{:,.0f}"),
    ("errors (all runs; must be 0)", "errors", "{:,.0f}"),
)


def print_table(console: Console, results: dict[str, Any]) -> None:
    figures = results["median"]
    table = figures_table(
        f"{results['desks']} desks over HTTP, {results['seconds']:g}s per run "
        f"(medians of {results['runs']})",
        ROWS,
        figures,
    )
    for name, ms in figures.get("cpu_ms_per_command", {}).items():
        table.add_row(f"CPU ms per command: {name}", f"{ms:,.2f}")
    for name, ms in figures.get("echo_cpu_ms_per_call", {}).items():
        table.add_row(f"CPU ms per echo call: {name}", f"{ms:,.2f}")
    for target, met in figures["targets"].items():
        table.add_row(f"target {target}", "met" if met else "not met")
    console.print(table)
    print_outcomes(console, figures)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--echo-seconds", type=float, default=5.0)
    parser.add_argument("--out", type=Path, default=RESULTS / "http_desk.json")
    parser.add_argument(
        "--profile", type=Path, help="py-spy every service during the first run, into this folder"
    )
    args = parser.parse_args(argv)
    make_psycopg_green()
    console = Console()
    load_before = [round(x, 2) for x in os.getloadavg()]
    stage = Stage.open(WORKDIR)
    port = free_port()
    runs: list[dict[str, Any]] = []
    try:
        stage.config["WEB_SERVER_ADDRESS"] = f"127.0.0.1:{port}"
        stage.save_config()
        seed_catalogue(stage, DESKS * COPIES_PER_DESK * 3)
        declare_all(stage.config["AMQP_URI"])
        stage.start("echo", "bench.echo")
        for service in SERVICES:
            stage.start(service, f"services.{service}.service")
        stage.wait_for_rpc(["echo", *(s for s in SERVICES if s != "gateway")])
        wait_for_port(stage, port)
        students, copies = school(stage, console)
        desks = make_desks(stage, students, copies)
        tokens = librarians(stage, port, DESKS)
        for run in range(args.runs):
            profile = args.profile if run == 0 else None
            result = measure(stage, port, tokens, desks, args, profile)
            runs.append(result)
            console.print(
                f"run {run + 1}/{args.runs}: {result['commands_per_second']:,.1f} commands/s "
                f"({result['commands_vs_echo']:.0%} of echo {result['echo_calls_per_second']:,.0f}"
                f"/s), p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, CPU "
                f"{result['cpu_ms_per_command_all']} ms = {result['cpu_vs_echo']}x echo's; "
                f"refused {result['refused']}, errors {result['errors']}; "
                f"load {result['load_average']}"
            )
        peaks = stage.peak_rss_mb()
    except Exception:
        console.print(traceback.format_exc())
        console.print(f"[red]the HTTP desk bench failed; see {WORKDIR}")
        return 1
    finally:
        try:
            stage.close()
        except Exception as error:  # a server restarted meanwhile: the figures still stand
            console.print(f"[yellow]tearing the stage down: {error}")
    results = {
        "desks": DESKS,
        "seconds": args.seconds,
        "runs": args.runs,
        "cores": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "median": summarise(runs),
        "peak_rss_mb": peaks,
        "measurements": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print_table(console, results)
    if args.profile:
        print_profiles(args.profile, console)
    console.print(
        f"{results['cores']} cores; load average {load_before} before, "
        f"{results['load_average_after']} after; written to {args.out}"
    )
    return 1 if results["median"]["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
