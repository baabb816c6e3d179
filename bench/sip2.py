"""Self-check kiosks lending and taking back over SIP2, against the echo-RPC baseline.

    python -m bench.sip2 [--kiosks 50] [--seconds 20] [--runs 3] [--out bench/results/sip2.json]
    python -m bench sip2                # the same through the runner; make bench runs it too

On a stage of its own (scratch databases and a vhost, ``bench.stage``) with catalog,
circulation, accounts, the SIP2 server (``services/sip2``, on a free port of
127.0.0.1) and the echo service as ``nameko run`` processes:

1. a collection and a roster's cards, as the rush makes them (``bench.rush``), and one
   kiosk account (role ``kiosk``) per kiosk, half at each campus;
2. each kiosk gets its own students and copies of its campus (``plan_desks``, the
   rush's: no two kiosks share a card or a copy);
3. per run: the echo-RPC baseline (20 clients, ``bench.desk``), then every kiosk on its
   own TCP connection, a closed loop for ``--seconds``: log in (93), then checkout (11)
   of its next copy to its next reader and checkin (09) of that copy, again and again
   (20 copies each, so that no copy comes round within the same second: the server
   would rightly take that for a resend), with error detection on as real kiosks use
   it. Measured: messages/s over all kiosks (a message is a request and its answer),
   latency p50/p95/p99 per message from the kiosk's side, login time, refusals (ok 0,
   with their screen message; the plan makes none, so any is a finding) and errors
   (must be 0), CPU per message of each process, and messages/s / echo calls/s.

Medians over ``--runs`` runs; results in bench/results/sip2.json.
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
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import eventlet

eventlet.monkey_patch()

from eventlet.event import Event  # noqa: E402
from nameko.standalone.rpc import ServiceRpcProxy  # noqa: E402
from rich.console import Console  # noqa: E402

from bench.desk import baseline_echo  # noqa: E402
from bench.report import figures_table, median_of, print_outcomes, summed_outcomes  # noqa: E402
from bench.rush import FREE_COPIES, cpu_now, import_cards, lend_limits, seed_catalogue  # noqa: E402
from bench.rush_plan import (  # noqa: E402
    DeskPlan,
    copies_needed,
    cpu_ms_per,
    latency_summary,
    make_roster,
    plan_desks,
    ratio,
    readers_from_import,
)
from bench.sip2_kiosk import Answer, KioskLines  # noqa: E402
from bench.stage import Stage  # noqa: E402
from services.sip2.protocol import take_message  # noqa: E402
from shared.config import REPO_ROOT  # noqa: E402
from shared.runtime.topology import declare_all  # noqa: E402
from shared.storage.green import make_psycopg_green  # noqa: E402

RESULTS = Path(__file__).parent / "results"
WORKDIR = REPO_ROOT / ".run" / "bench" / "sip2"
SERVICES = ("catalog", "circulation", "accounts")
KIOSKS = 50
LENDS_PER_KIOSK = 20  # copies (each with a reader) a kiosk cycles through
READ_TIMEOUT = 60.0
START_TIMEOUT = 90.0


@dataclass(frozen=True)
class Kiosk:
    """A kiosk's account, where it stands, and the (copy, reader) pairs it cycles through."""

    username: str
    password: str
    campus: str
    lends: list[tuple[str, str]]


@dataclass
class Tally:
    """What every kiosk of one run saw."""

    latencies: list[float] = field(default_factory=list)
    logins: list[float] = field(default_factory=list)
    checkouts: int = 0
    checkins: int = 0
    waits: int = 0  # times a kiosk waited for the next second (see ``run_kiosks``)
    refusals: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    first_errors: list[str] = field(default_factory=list)

    def error(self, kiosk: Kiosk, error: BaseException) -> None:
        name = type(error).__name__
        self.errors[name] += 1
        if len(self.first_errors) < 5:
            self.first_errors.append(f"{kiosk.username}: {name}: {error}")


class Connection:
    """A kiosk's TCP connection: send a line, wait for the one answer (CR-ended)."""

    def __init__(self, address: tuple[str, int], lines: KioskLines) -> None:
        self.sock = socket.create_connection(address, timeout=READ_TIMEOUT)
        self.lines = lines
        self.buffer = b""

    def ask(self, line: bytes) -> Answer:
        self.sock.sendall(line)
        while True:
            raw, self.buffer = take_message(self.buffer)
            if raw is not None:
                return self.lines.read(raw)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the SIP2 server closed the connection")
            self.buffer += chunk

    def close(self) -> None:
        self.sock.close()


def sip2_settings(stage: Stage, port: int) -> None:
    """The stage's SIP2 server listens on ``port`` of 127.0.0.1, in UTF-8, room for all."""
    settings = dict(stage.config.get("SIP2") or {})
    settings["listeners"] = [
        {"name": "bench", "host": "127.0.0.1", "port": port, "encoding": "utf-8"}
    ]
    settings["max_connections"] = max(int(settings.get("max_connections") or 0), KIOSKS * 4)
    stage.config["SIP2"] = settings
    stage.save_config()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(stage: Stage, address: tuple[str, int], timeout: float = START_TIMEOUT) -> None:
    """Until the SIP2 server accepts a connection (it starts with its nameko container)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(address, timeout=2).close()
            return
        except OSError:
            if stage.processes["sip2"].poll() is not None:
                raise RuntimeError(
                    f"the SIP2 server exited; see {stage.workdir}/sip2.log"
                ) from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing listens at {address}; see {stage.workdir}") from None
            time.sleep(0.2)


def make_kiosks(stage: Stage, count: int, console: Console) -> list[Kiosk]:
    """Cards for the kiosks' readers, the copies they lend, and an account per kiosk."""
    lends = count * LENDS_PER_KIOSK
    rows = make_roster(max(300, lends * 2))
    imported = import_cards(stage, rows, console)
    students = [r for r in readers_from_import(rows, imported["issued"]) if r.kind == "student"]
    with stage.pools["circulation"].transaction() as cursor:
        cursor.execute(FREE_COPIES)
        shelf = cursor.fetchall()
    plans: list[DeskPlan] = plan_desks(students, shelf, lends, count, lend_limits(stage.config))
    kiosks = []
    with ServiceRpcProxy("accounts", stage.config, timeout=120) as accounts:
        for number, plan in enumerate(plans, start=1):
            username, password = f"bench-kiosk-{number:02d}", secrets.token_urlsafe(12)
            accounts.create_account(
                {
                    "command_id": str(uuid.uuid4()),
                    "username": username,
                    "name": f"自助借还机 {number}",
                    "roles": ["kiosk"],
                    "campus": plan.campus,
                    "password": password,
                }
            )
            kiosks.append(Kiosk(username, password, plan.campus, plan.lends))
    console.print(f"  {len(kiosks)} kiosk accounts, {lends} copies and their readers")
    return kiosks


def run_kiosks(
    stage: Stage, address: tuple[str, int], kiosks: list[Kiosk], seconds: float
) -> tuple[Tally, float, dict[str, float]]:
    """Every kiosk logs in on its own connection, then all lend and take back together
    for ``seconds``; what they saw, how long they ran, and the CPU each process spent
    per message meanwhile (the logins before are left out: a password hash is slow on
    purpose, and a kiosk logs in once a day)."""
    tally, ready, go, clock = Tally(), [], Event(), {"stop": 0.0}

    def kiosk(me: Kiosk) -> None:
        lines = KioskLines()
        try:
            connection = Connection(address, lines)
        except OSError as error:
            tally.error(me, error)
            ready.append(me)
            return
        try:
            started = time.monotonic()
            login = connection.ask(lines.login(me.username, me.password, me.campus))
            tally.logins.append(time.monotonic() - started)
            ready.append(me)
            if not login.ok:
                tally.refusals[f"login: {login.screen or login.code}"] += 1
                return
            go.wait()
            turn, last = 0, {}
            while time.monotonic() < clock["stop"]:
                barcode, patron = me.lends[turn % len(me.lends)]
                turn += 1
                # The server takes a message with the same kiosk, card, copy and
                # transaction date (to the second) for a resend, and answers it again
                # without lending twice: a pair never comes round within its second.
                now = datetime.now()
                if last.get(barcode) == now.replace(microsecond=0):
                    tally.waits += 1
                    eventlet.sleep(1 - now.microsecond / 1e6)
                for kind in ("checkout", "checkin"):
                    now = datetime.now()
                    last[barcode] = now.replace(microsecond=0)
                    line = (
                        lines.checkout(patron, barcode, now)
                        if kind == "checkout"
                        else lines.checkin(barcode, now, me.campus)
                    )
                    started = time.monotonic()
                    answer = connection.ask(line)
                    tally.latencies.append(time.monotonic() - started)
                    if not answer.ok:
                        tally.refusals[f"{kind}: {answer.screen or answer.code}"] += 1
                        break
                    if kind == "checkout":
                        tally.checkouts += 1
                    else:
                        tally.checkins += 1
        except Exception as error:  # a broken connection or a bad answer: an error of the run
            tally.error(me, error)
            if me not in ready:
                ready.append(me)
        finally:
            connection.close()

    threads = [eventlet.spawn(kiosk, me) for me in kiosks]
    deadline = time.monotonic() + START_TIMEOUT
    while len(ready) < len(kiosks) and time.monotonic() < deadline:
        eventlet.sleep(0.05)
    cpu_before = cpu_now(stage)
    clock["stop"] = time.monotonic() + seconds
    started = time.monotonic()
    go.send()
    for thread in threads:
        thread.wait()
    elapsed = time.monotonic() - started
    cpu = cpu_ms_per(cpu_before, cpu_now(stage), len(tally.latencies))
    cpu["bench (the kiosks)"] = cpu.pop("bench (the desks)", 0.0)
    return tally, elapsed, cpu


def measure(
    stage: Stage, address: tuple[str, int], kiosks: list[Kiosk], args: argparse.Namespace
) -> dict[str, Any]:
    """One run: the echo baseline, then the kiosks."""
    echo = baseline_echo(stage, args.echo_seconds)["calls_per_second"]
    tally, elapsed, cpu = run_kiosks(stage, address, kiosks, args.seconds)
    messages = len(tally.latencies)
    result: dict[str, Any] = {
        "echo_calls_per_second": round(echo, 1),
        "messages": messages,
        "checkouts": tally.checkouts,
        "checkins": tally.checkins,
        "seconds": round(elapsed, 2),
        "messages_per_second": round(messages / elapsed, 1) if elapsed else 0.0,
        **latency_summary(tally.latencies),
        "login_p50_ms": latency_summary(tally.logins)["p50_ms"],
        "same_second_waits": tally.waits,
        "refused": sum(tally.refusals.values()),
        "errors": sum(tally.errors.values()),
        "refusals": dict(tally.refusals),
        "errors_by_type": dict(tally.errors),
        "first_errors": tally.first_errors,
        "cpu_ms_per_message": cpu,
    }
    result["messages_vs_echo"] = ratio(result["messages_per_second"], echo)
    return result


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians of the figures; refusals and errors summed over the runs."""
    summary = {**median_of(runs), **summed_outcomes(runs)}
    summary["cpu_ms_per_message"] = median_of([run["cpu_ms_per_message"] for run in runs])
    return summary


ROWS = (
    ("echo RPC, 20 clients (calls/s)", "echo_calls_per_second", "{:,.0f}"),
    ("SIP2 messages/s (checkout + checkin)", "messages_per_second", "{:,.1f}"),
    ("messages/s / echo calls/s", "messages_vs_echo", "{:.0%}"),
    ("latency p50 (ms)", "p50_ms", "{:,.1f}"),
    ("latency p95 (ms)", "p95_ms", "{:,.1f}"),
    ("latency p99 (ms)", "p99_ms", "{:,.1f}"),
    ("login (93) p50 (ms)", "login_p50_ms", "{:,.1f}"),
    ("checkouts per run", "checkouts", "{:,.0f}"),
    ("checkins per run", "checkins", "{:,.0f}"),
    (
        "waits for a copy's next second (a kiosk too fast for its 20 copies)",
        "same_second_waits",
        "{:,.0f}",
    ),
    ("refused (all runs; the plan makes none)", "refused", "{:,.0f}"),
    ("errors (all runs; must be 0)", "errors", "{:,.0f}"),
)


def print_table(console: Console, results: dict[str, Any]) -> None:
    summary = results["median"]
    table = figures_table(
        f"{results['kiosks']} SIP2 kiosks lending and taking back, "
        f"{results['seconds']:g}s per run (medians of {results['runs']})",
        ROWS,
        summary,
    )
    for name, ms in summary["cpu_ms_per_message"].items():
        table.add_row(f"CPU ms per message: {name}", f"{ms:,.2f}")
    for name, mb in results.get("peak_rss_mb", {}).items():
        table.add_row(f"peak RSS {name} (MB)", f"{mb:,.1f}")
    console.print(table)
    print_outcomes(console, summary)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kiosks", type=int, default=KIOSKS, help="an even number")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--echo-seconds", type=float, default=5.0)
    parser.add_argument("--out", type=Path, default=RESULTS / "sip2.json")
    args = parser.parse_args(argv)
    make_psycopg_green()
    console = Console()
    load_before = [round(x, 2) for x in os.getloadavg()]
    stage = Stage.open(WORKDIR)
    address = ("127.0.0.1", free_port())
    runs: list[dict[str, Any]] = []
    try:
        sip2_settings(stage, address[1])
        seed_catalogue(stage, copies_needed(args.kiosks * LENDS_PER_KIOSK))
        declare_all(stage.config["AMQP_URI"])
        stage.start("echo", "bench.echo")
        for service in (*SERVICES, "sip2"):
            stage.start(service, f"services.{service}.service")
        stage.wait_for_rpc(["echo", *SERVICES])
        wait_for_port(stage, address)
        kiosks = make_kiosks(stage, args.kiosks, console)
        for run in range(args.runs):
            result = measure(stage, address, kiosks, args)
            runs.append(result)
            console.print(
                f"run {run + 1}/{args.runs}: {result['messages_per_second']:,.1f} messages/s, "
                f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms; echo "
                f"{result['echo_calls_per_second']:,.0f} calls/s; refused {result['refused']}, "
                f"errors {result['errors']}"
            )
        peaks = stage.peak_rss_mb()
    except Exception:
        console.print(traceback.format_exc())
        console.print(f"[red]the SIP2 bench failed; see {WORKDIR}")
        return 1
    finally:
        stage.close()
    results = {
        "kiosks": args.kiosks,
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
    console.print(
        f"{results['cores']} cores; load average {load_before} before, "
        f"{results['load_average_after']} after; written to {args.out}"
    )
    return 1 if results["median"]["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
