"""The enrollment rush: a roster's cards in one import, then 20 desks lending flat out.

    python -m bench.rush [--cards 5000] [--lends 20000] [--runs 1] [--instances 1,3]

For each number of circulation instances (1, then 3: extra ``nameko run``
processes of the same service, sharing its queues), on a fresh stage (scratch
databases, a vhost, catalog, circulation, activities, archives and the echo
service as processes):

1. a collection big enough for every lend is stored (``bench.history``'s
   catalogue, appended in bulk) and circulation's copy model is built from it;
2. the echo-RPC baseline is measured with 20 clients (``bench.desk``);
3. ``--cards`` cards are issued from a roster CSV in ONE ``import_cards`` call
   (timed), and the time until activities and archives have taken them in;
4. ``--lends`` lends from 20 desks at once, each with its own RPC proxy, its own
   readers (within their cards' limits) and its own free copies: time to finish,
   lends/s, latency p50/p95/p99, refusals by reason code, errors (anything that
   is neither a loan nor a refusal: must be 0), then the time until the read
   models downstream have caught up, and a check that the store holds exactly
   one ``Lent`` per loan answered;
5. the peak RSS of every service process.

Medians over ``--runs`` runs (the order of the instance counts alternates from
run to run); results in bench/results/rush.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
import traceback
import uuid
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

import eventlet

eventlet.monkey_patch()

import requests  # noqa: E402
from eventlet.event import Event  # noqa: E402
from nameko.exceptions import get_module_path, registry  # noqa: E402
from nameko.standalone.rpc import ServiceRpcProxy  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.progress import (  # noqa: E402
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table  # noqa: E402

from bench.desk import baseline_echo  # noqa: E402
from bench.history import Library, SchoolSize, catalogue, store_all  # noqa: E402
from bench.rush_plan import (  # noqa: E402
    DeskPlan,
    RosterRow,
    copies_needed,
    cpu_ms_per,
    cpu_seconds,
    latency_summary,
    make_roster,
    plan_desks,
    ratio,
    readers_from_import,
    roster_csv,
    summarise,
)
from bench.stage import Stage, management  # noqa: E402
from shared.config import REPO_ROOT  # noqa: E402
from shared.eventsourcing.decider import Refused  # noqa: E402
from shared.eventsourcing.store import EventStore  # noqa: E402
from shared.runtime.topology import declare_all, service_projections  # noqa: E402
from shared.storage.green import make_psycopg_green  # noqa: E402

RESULTS = Path(__file__).parent / "results"
WORKDIR = REPO_ROOT / ".run" / "bench" / "rush"
DESKS = 20
SERVICES = ("catalog", "circulation", "activities", "archives")
LEND_DAY = date(2026, 9, 7)  # the first Monday of the autumn term
SETTLE_TIMEOUT = 300.0
IMPORT_TIMEOUT = 600.0

# A refusal comes back as ``Refused(message, code)``, not as nameko's RemoteError.
registry[get_module_path(Refused)] = Refused

FREE_COPIES = """
    SELECT barcode, campus FROM copy_availability
    WHERE loan_id IS NULL AND status = 'on_shelf' AND NOT reference_only ORDER BY barcode
"""
DOWNSTREAM_BEHIND = """
    SELECT coalesce(min(position), 0) FROM projection_checkpoints
    WHERE source = 'circulation' AND projection = ANY(%s)
"""


def seed_catalogue(stage: Stage, copies: int) -> dict[str, int]:
    """``copies`` BookAdded in the catalog store; circulation's copy model built from them;
    relays and every projection set as if they had followed them."""
    library = Library(SchoolSize(copies=copies, titles=max(1, copies // 4)), random.Random(2026))
    batch = []
    for event in catalogue(library):
        batch.append(event)
        if len(batch) == 5000:
            store_all(stage.pools["catalog"], "catalog", batch)
            batch = []
    if batch:
        store_all(stage.pools["catalog"], "catalog", batch)

    return stage.as_if_followed(SERVICES)


def lend_limits(config: dict) -> dict[str, int]:
    policies = config["CIRCULATION"]["policies"]
    return {kind: int(policy["max_loans"]) for kind, policy in policies.items()}


def wait_for_instances(stage: Stage, service: str, count: int, timeout: float = 120) -> None:
    """Until ``count`` consumers read ``rpc-<service>`` (RabbitMQ refreshes this every 5 s)."""
    api, auth = management(stage.config)
    url = f"{api}/api/queues/{quote(stage.vhost, safe='')}/rpc-{service}"
    deadline = time.monotonic() + timeout
    while True:
        reply = requests.get(url, auth=auth, timeout=5)
        if reply.ok and reply.json().get("consumers", 0) >= count:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"fewer than {count} {service} instances; see {stage.workdir}")
        time.sleep(0.5)


def downstream(service: str) -> list[str]:
    """The projections of ``service`` that follow circulation's events."""
    return [p.name for p in service_projections(service) if "circulation" in p.sources]


def wait_downstream(stage: Stage, timeout: float = SETTLE_TIMEOUT) -> float | None:
    """Seconds until catalog, activities and archives have taken in circulation's head
    (None if they have not within ``timeout``)."""
    started = time.monotonic()
    with stage.pools["circulation"].transaction() as cursor:
        head = EventStore("circulation").head(cursor)
    for service in ("catalog", "activities", "archives"):
        names = downstream(service)
        while True:
            with stage.pools[service].transaction() as cursor:
                cursor.execute(DOWNSTREAM_BEHIND, (names,))
                if cursor.fetchone()[0] >= head:
                    break
            if time.monotonic() - started > timeout:
                return None
            eventlet.sleep(0.05)
    return round(time.monotonic() - started, 2)


def import_cards(stage: Stage, rows: list[RosterRow], console: Console) -> dict[str, Any]:
    """One ``import_cards`` call with the whole roster; its time and what it issued."""
    text = roster_csv(rows)
    with ServiceRpcProxy("circulation", stage.config, timeout=IMPORT_TIMEOUT) as circulation:
        started = time.monotonic()
        answer = circulation.import_cards({"csv": text, "command_id": str(uuid.uuid4())})
        seconds = time.monotonic() - started
    issued, errors = answer.get("issued", []), answer.get("errors", [])
    console.print(
        f"  imported {len(issued):,} cards ({len(text.encode()):,} bytes of CSV) in "
        f"{seconds:.2f}s, {len(errors)} bad rows"
    )
    return {"seconds": seconds, "issued": issued, "errors": errors}


def lend_rush(stage: Stage, plans: list[DeskPlan], console: Console) -> dict[str, Any]:
    """Every desk lends its plan as fast as it can; a progress bar over all lends."""
    latencies: list[float] = []
    refusals: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    first_errors: list[str] = []
    lent = [0]
    ready, go = [], Event()
    total = sum(len(plan.lends) for plan in plans)
    progress = Progress(
        TextColumn("  lending"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]} lends/s"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )
    task = progress.add_task("lending", total=total, rate="-")
    clock = {"started": 0.0}

    def desk(plan: DeskPlan) -> None:
        with ServiceRpcProxy("circulation", stage.config, timeout=120) as circulation:
            ready.append(plan)
            go.wait()
            for barcode, patron_id in plan.lends:
                payload = {
                    "barcode": barcode,
                    "patron_id": patron_id,
                    "campus": plan.campus,
                    "on": LEND_DAY.isoformat(),
                }
                started = time.monotonic()
                try:
                    circulation.lend(payload)
                except Refused as refusal:
                    refusals[refusal.code] += 1
                    latencies.append(time.monotonic() - started)
                except Exception as error:  # anything but a loan or a refusal is an error
                    name = getattr(error, "exc_type", None) or type(error).__name__
                    errors[name] += 1
                    if len(first_errors) < 5:
                        first_errors.append(f"{barcode} -> {patron_id}: {name}: {error}")
                else:
                    lent[0] += 1
                    latencies.append(time.monotonic() - started)
                done = lent[0] + sum(refusals.values()) + sum(errors.values())
                elapsed = time.monotonic() - clock["started"]
                progress.update(task, completed=done, rate=f"{lent[0] / elapsed:,.0f}")

    threads = [eventlet.spawn(desk, plan) for plan in plans]
    while len(ready) < len(plans):
        eventlet.sleep(0.05)
        if any(thread.dead for thread in threads):
            break
    with progress:
        clock["started"] = time.monotonic()
        go.send()
        for thread in threads:
            thread.wait()
    seconds = time.monotonic() - clock["started"]
    return {
        "seconds": round(seconds, 2),
        "lent": lent[0],
        "refused": sum(refusals.values()),
        "errors": sum(errors.values()),
        "lends_per_second": round(lent[0] / seconds, 1),
        **latency_summary(latencies),
        "refusals_by_code": dict(refusals),
        "errors_by_type": dict(errors),
        "first_errors": first_errors,
    }


def cpu_now(stage: Stage) -> dict[str, float]:
    """CPU seconds used so far by each service process and by this bench (the desks)."""
    ticks = os.sysconf("SC_CLK_TCK")
    used = {}
    for name, process in stage.processes.items():
        try:
            used[name] = cpu_seconds(Path(f"/proc/{process.pid}/stat").read_text(), ticks)
        except OSError:
            continue
    mine = os.times()
    used["bench (the desks)"] = mine.user + mine.system
    return used


def stored_loans(stage: Stage) -> tuple[int, int]:
    """(``Lent`` events in circulation's store, copies its model says are out)."""
    with stage.pools["circulation"].transaction() as cursor:
        cursor.execute("SELECT count(*) FROM events WHERE type = 'Lent'")
        events = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM copy_availability WHERE loan_id IS NOT NULL")
        out = cursor.fetchone()[0]
    return events, out


def measure(args: argparse.Namespace, instances: int, console: Console) -> dict[str, Any]:
    """One whole rush on a fresh stage with ``instances`` circulation processes."""
    stage = Stage.open(WORKDIR)
    result: dict[str, Any] = {"instances": instances}
    try:
        copies = copies_needed(args.lends)
        started = time.monotonic()
        seed_catalogue(stage, copies)
        result["copies_catalogued"] = copies
        console.print(f"  catalogued {copies:,} copies in {time.monotonic() - started:.1f}s")
        declare_all(stage.config["AMQP_URI"])
        stage.start("echo", "bench.echo")
        for service in SERVICES:
            stage.start(service, f"services.{service}.service")
        for number in range(2, instances + 1):
            stage.start(f"circulation@{number}", "services.circulation.service")
        stage.wait_for_rpc(["echo", *SERVICES])
        wait_for_instances(stage, "circulation", instances)

        echo_before = baseline_echo(stage, args.echo_seconds)["calls_per_second"]
        console.print(f"  echo RPC, {DESKS} clients: {echo_before:,.1f} calls/s")

        rows = make_roster(args.cards)
        imported = import_cards(stage, rows, console)
        result["import_seconds"] = round(imported["seconds"], 2)
        result["cards_issued"] = len(imported["issued"])
        result["cards_per_second"] = round(len(imported["issued"]) / imported["seconds"], 1)
        result["import_bad_rows"] = len(imported["errors"])
        result["import_settle_seconds"] = wait_downstream(stage)
        console.print(
            f"  activities, archives and catalog took the cards in after "
            f"{result['import_settle_seconds']}s"
        )

        with stage.pools["circulation"].transaction() as cursor:
            cursor.execute(FREE_COPIES)
            shelf = cursor.fetchall()
        readers = readers_from_import(rows, imported["issued"])
        plans = plan_desks(readers, shelf, args.lends, DESKS, lend_limits(stage.config))
        result["load_average_at_start"] = round(os.getloadavg()[0], 2)
        cpu_before = cpu_now(stage)
        result.update(lend_rush(stage, plans, console))
        result["cpu_ms_per_lend"] = cpu_ms_per(cpu_before, cpu_now(stage), result["lent"])
        result["load_average_at_end"] = round(os.getloadavg()[0], 2)
        result["drain_seconds"] = wait_downstream(stage)
        # Echo again right after: the baseline is the mean of the two, either side of the lends.
        echo_after = baseline_echo(stage, args.echo_seconds)["calls_per_second"]
        console.print(f"  echo RPC again: {echo_after:,.1f} calls/s")
        result["echo_before_calls_per_second"] = round(echo_before, 1)
        result["echo_after_calls_per_second"] = round(echo_after, 1)
        result["echo_calls_per_second"] = round((echo_before + echo_after) / 2, 1)
        result["lends_vs_echo"] = ratio(result["lends_per_second"], result["echo_calls_per_second"])
        events, out = stored_loans(stage)
        result["lent_events_stored"] = events
        result["copies_out"] = out
        if not events == out == result["lent"]:
            result["errors"] += 1
            result["first_errors"].append(
                f"{result['lent']} loans answered, {events} Lent events stored, {out} copies out"
            )
        result["peak_rss_mb"] = stage.peak_rss_mb()
    finally:
        stage.close()
    return result


ROWS = (
    ("echo RPC, 20 clients, before the lends (calls/s)", "echo_before_calls_per_second", "{:,.0f}"),
    ("echo RPC, 20 clients, after the lends (calls/s)", "echo_after_calls_per_second", "{:,.0f}"),
    ("cards issued in one import_cards", "cards_issued", "{:,.0f}"),
    ("import_cards time (s)", "import_seconds", "{:,.2f}"),
    ("cards issued/s", "cards_per_second", "{:,.0f}"),
    ("downstream took the cards in after (s)", "import_settle_seconds", "{:,.1f}"),
    ("lends made", "lent", "{:,.0f}"),
    ("time to finish the lends (s)", "seconds", "{:,.1f}"),
    ("lends/s", "lends_per_second", "{:,.1f}"),
    ("lends/s / echo calls/s (mean of before and after)", "lends_vs_echo", "{:.0%}"),
    ("1-minute load average as the lends began", "load_average_at_start", "{:.1f}"),
    ("1-minute load average as they ended", "load_average_at_end", "{:.1f}"),
    ("latency p50 (ms)", "p50_ms", "{:,.1f}"),
    ("latency p95 (ms)", "p95_ms", "{:,.1f}"),
    ("latency p99 (ms)", "p99_ms", "{:,.1f}"),
    ("refused (all runs)", "refused", "{:,.0f}"),
    ("errors (all runs; must be 0)", "errors", "{:,.0f}"),
    ("downstream caught up after the last lend (s)", "drain_seconds", "{:,.1f}"),
)


def cell(value: Any, form: str) -> str:
    return "-" if value is None else form.format(value)


def print_table(console: Console, results: dict[str, Any], instances: list[int]) -> None:
    table = Table(
        title=(
            f"Enrollment rush: {results['cards']:,} cards, {results['lends']:,} lends, "
            f"{DESKS} desks (medians of {results['runs']})"
        )
    )
    table.add_column("measure")
    for count in instances:
        table.add_column(f"{count} circulation" + ("s" if count > 1 else ""), justify="right")
    for label, key, form in ROWS:
        table.add_row(
            label,
            *(cell(results.get(f"instances_{c}", {}).get(key), form) for c in instances),
        )
    names = sorted(
        {n for c in instances for n in results.get(f"instances_{c}", {}).get("peak_rss_mb", {})}
    )
    for name in names:
        table.add_row(
            f"peak RSS {name} (MB)",
            *(
                cell(results.get(f"instances_{c}", {}).get("peak_rss_mb", {}).get(name), "{:,.1f}")
                for c in instances
            ),
        )
    cpu_names = sorted(
        {n for c in instances for n in results.get(f"instances_{c}", {}).get("cpu_ms_per_lend", {})}
    )
    for name in cpu_names:
        table.add_row(
            f"CPU ms per lend: {name}",
            *(
                cell(
                    results.get(f"instances_{c}", {}).get("cpu_ms_per_lend", {}).get(name),
                    "{:,.1f}",
                )
                for c in instances
            ),
        )
    console.print(table)
    if len(instances) >= 2:
        low, high = min(instances), max(instances)
        value = results.get(f"lends_per_second_{high}_vs_{low}")
        console.print(
            f"lends/s with {high} instances / with {low}: {cell(value, '{:.2f}')} "
            f"(per run: {results.get(f'lends_per_second_{high}_vs_{low}_per_run')}); "
            f"each first divided by its echo baseline: "
            f"{cell(results.get(f'lends_vs_echo_{high}_vs_{low}'), '{:.2f}')}"
        )
    for count in instances:
        figures = results.get(f"instances_{count}", {})
        if figures.get("refusals_by_code"):
            console.print(f"refusals with {count}: {figures['refusals_by_code']}")
        if figures.get("errors"):
            console.print(f"[red]errors with {count}: {figures['errors_by_type']}")
            for line in figures.get("first_errors", []):
                console.print(f"  {line}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=5000)
    parser.add_argument("--lends", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument(
        "--instances", default="1,3", help="circulation instances to compare (default 1,3)"
    )
    parser.add_argument("--echo-seconds", type=float, default=5.0)
    parser.add_argument("--out", type=Path, default=RESULTS / "rush.json")
    args = parser.parse_args(argv)
    instances = [int(n) for n in args.instances.split(",") if n.strip()]
    make_psycopg_green()
    console = Console()
    load_start = os.getloadavg()
    measurements = []
    for run in range(args.runs):
        order = instances if run % 2 == 0 else list(reversed(instances))
        for count in order:
            console.print(f"run {run + 1}/{args.runs}: {count} circulation instance(s)")
            try:
                measurement = measure(args, count, console)
            except Exception:
                console.print(traceback.format_exc())
                console.print(f"[red]the rush with {count} instance(s) failed; see {WORKDIR}")
                return 1
            measurement["run"] = run
            measurements.append(measurement)
    results: dict[str, Any] = {
        "cards": args.cards,
        "lends": args.lends,
        "desks": DESKS,
        "runs": args.runs,
        "lend_day": LEND_DAY.isoformat(),
        "load_average_before": [round(x, 2) for x in load_start],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "cores": os.cpu_count(),
        **summarise(measurements, instances),
        "measurements": measurements,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print_table(console, results, instances)
    console.print(
        f"load average {results['load_average_before']} before, "
        f"{results['load_average_after']} after; written to {args.out}"
    )
    errors = sum(results.get(f"instances_{c}", {}).get("errors", 0) for c in instances)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
