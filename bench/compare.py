"""The medians of ``bench/compare.sh``'s runs, side by side.

    python -m bench.compare RUNS_DIR OUT_JSON OLD_COMMIT

Reads ``before-<n>.json`` and ``after-<n>.json`` (desk bench results, or the HTTP
desk bench's: ``bench.http_desk``) and prints the figures that tell a change:
throughput against echo, latency (at the open loads), event lag, and the CPU each
process spent per command.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

SERVICES = ("circulation", "catalog", "activities", "archives", "rabbitmq", "postgresql")


HTTP_PROCESSES = (*SERVICES[:4], "accounts", "gateway", *SERVICES[4:], "bench (the desks)")


def http_figures(result: dict[str, Any]) -> dict[str, float]:
    """The figures compared from one HTTP desk bench result (``bench.http_desk``)."""
    run = result["median"]
    picked = {
        "load average (1 min)": run["load_average"],
        "echo calls/s": run["echo_calls_per_second"],
        "echo CPU ms/call, all processes": run["echo_cpu_ms_per_call_all"],
        "lend/return over HTTP (commands/s)": run["commands_per_second"],
        "lend/return / echo (%)": 100 * run["commands_vs_echo"],
        "p50 (ms)": run["p50_ms"],
        "p95 (ms)": run["p95_ms"],
        "p99 (ms)": run["p99_ms"],
        "CPU ms/command, all processes": run["cpu_ms_per_command_all"],
        "CPU per command / per echo call (x)": run["cpu_vs_echo"],
        "refused + errors": run["refused"] + run["errors"],
    }
    for name in HTTP_PROCESSES:
        if name in run["cpu_ms_per_command"]:
            picked[f"CPU ms/command: {name}"] = run["cpu_ms_per_command"][name]
    return picked


def figures(result: dict[str, Any]) -> dict[str, float]:
    """The figures compared, flattened, from one desk bench result."""
    if "desks_flat_out" not in result:
        return http_figures(result)
    flat = result["desks_flat_out"]
    picked = {
        "echo calls/s": result["echo"]["calls_per_second"],
        "lend/return flat out (commands/s)": flat["commands_per_second"],
        "lend/return / echo (%)": 100 * result["lend_return_vs_echo"],
    }
    if "commands_alone" in result:
        picked["commands alone / echo (%)"] = 100 * result["commands_alone_vs_echo"]
    loads = [name for name in result if name.removeprefix("load_").isdigit()]
    for name in sorted(loads, key=lambda name: int(name.removeprefix("load_"))):
        rate, run = name.removeprefix("load_"), result[name]
        for key, label in (("p50_ms", "p50"), ("p99_ms", "p99")):
            if key in run:
                picked[f"{rate}/s {label} (ms)"] = run[key]
        for model in ("archives", "activities"):
            if f"lag_{model}_p99_ms" in run:
                picked[f"{rate}/s lag p99 {model} (ms)"] = run[f"lag_{model}_p99_ms"]
    for service in SERVICES:
        if service in flat["cpu_ms_per_command"]:
            picked[f"CPU ms/command flat out: {service}"] = flat["cpu_ms_per_command"][service]
    return picked


def medians(results: list[dict[str, Any]]) -> dict[str, float]:
    runs = [figures(result) for result in results]
    return {
        key: round(statistics.median(run[key] for run in runs if key in run), 2) for key in runs[0]
    }


def main(argv: list[str]) -> int:
    runs_dir, out, old = Path(argv[0]), Path(argv[1]), argv[2]
    new = argv[3] if len(argv) > 3 else "HEAD"
    sides = {
        side: [json.loads(path.read_text()) for path in sorted(runs_dir.glob(f"{side}-*.json"))]
        for side in ("before", "after")
    }
    if not all(sides.values()):
        raise SystemExit(f"no runs of both sides in {runs_dir}")
    before, after = medians(sides["before"]), medians(sides["after"])
    table = Table(
        title=f"Desk bench, {old} (before) against {new} (after): medians of {len(sides['before'])}"
    )
    for column in ("figure", "before", "after"):
        table.add_column(column, justify="right" if column != "figure" else "left")
    for key in before:
        table.add_row(key, f"{before[key]:,}", f"{after.get(key, float('nan')):,}")
    Console().print(table)
    out.write_text(
        json.dumps(
            {
                "old": old,
                "new": new,
                "runs": len(sides["before"]),
                "before": before,
                "after": after,
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
