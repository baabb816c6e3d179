"""Every benchmark in turn: desk, rebuild, rush, sip2, http, then the latency plot.

    python -m bench [--quick] [--only desk,rush] [--events N] [--cards N] [--lends N] ...
    python -m bench sip2 [--quick]  # only the steps named (the same as --only sip2)
    make bench                      # the full sizes of issue 6

Each benchmark runs as its own process (``python -m bench.<name>``), so one's
eventlet patching or leftovers never touch the next, and a failed one does not
stop the rest. Sizes come from the options, else from the environment, else
the full sizes issue 6 asks for:

    BENCH_EVENTS     events stored before desk and rebuild run   (1,000,000)
    BENCH_SECONDS    seconds per desk load phase, per SIP2 or HTTP run (20)
    BENCH_RUNS       desk, SIP2 and HTTP runs, medians taken     (3)
    BENCH_RUSH_RUNS  rush runs, each with 1 and 3 instances      (1)
    BENCH_CARDS      cards in the rush's roster                  (5,000)
    BENCH_LENDS      lends in the rush                           (20,000)

``--quick`` is a smoke run at small sizes whose results go to
bench/results/quick/ (desk and rebuild always write bench/results/*.json, so
the figures there are put back afterwards).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
QUICK_RESULTS = RESULTS / "quick"
PLOT = REPO / "docs" / "latency.png"
STEPS = ("desk", "rebuild", "rush", "sip2", "http", "plot")


@dataclass(frozen=True)
class Size:
    option: str
    env: str
    full: int | float
    quick: int | float


SIZES = (
    Size("events", "BENCH_EVENTS", 1_000_000, 50_000),
    Size("seconds", "BENCH_SECONDS", 20, 3),
    Size("runs", "BENCH_RUNS", 3, 1),
    Size("rush_runs", "BENCH_RUSH_RUNS", 1, 1),
    Size("cards", "BENCH_CARDS", 5_000, 200),
    Size("lends", "BENCH_LENDS", 20_000, 600),
)


@dataclass(frozen=True)
class Step:
    name: str
    argv: list[str]
    writes: list[Path]  # where the step's results end up
    fixed_outputs: list[Path]  # files the step always writes, whatever it is told
    module: str = ""  # bench.<module> runs it (the step's name when empty)


def sizes(
    given: Mapping[str, float | None], env: Mapping[str, str], quick: bool
) -> dict[str, int | float]:
    """Each size from the option, else the environment, else the quick or full default."""
    chosen: dict[str, int | float] = {}
    for size in SIZES:
        value = given.get(size.option)
        if value is None and env.get(size.env, "").strip():
            value = float(env[size.env].replace("_", "").replace(",", ""))
        if value is None:
            value = size.quick if quick else size.full
        chosen[size.option] = int(value) if float(value).is_integer() else float(value)
    return chosen


def plan(chosen: Mapping[str, int | float], quick: bool, only: list[str]) -> list[Step]:
    """The steps to run, with their command-line arguments and where their results go."""
    out = QUICK_RESULTS if quick else RESULTS
    desk_json = out / "desk.json"
    steps = {
        "desk": Step(
            "desk",
            [
                f"--events={chosen['events']}",
                f"--seconds={chosen['seconds']}",
                f"--runs={chosen['runs']}",
            ],
            [desk_json],
            [RESULTS / "desk.json"],
        ),
        "rebuild": Step(
            "rebuild",
            [f"--events={chosen['events']}"],
            [out / "rebuild.json"],
            [RESULTS / "rebuild.json"],
        ),
        "rush": Step(
            "rush",
            [
                f"--cards={chosen['cards']}",
                f"--lends={chosen['lends']}",
                f"--runs={chosen['rush_runs']}",
                f"--out={out / 'rush.json'}",
                *(["--echo-seconds=2"] if quick else []),
            ],
            [out / "rush.json"],
            [],
        ),
        "sip2": Step(
            "sip2",
            [
                f"--seconds={chosen['seconds']}",
                f"--runs={chosen['runs']}",
                f"--out={out / 'sip2.json'}",
                *(["--echo-seconds=2"] if quick else []),
            ],
            [out / "sip2.json"],
            [],
        ),
        "http": Step(
            "http",
            [
                f"--seconds={chosen['seconds']}",
                f"--runs={chosen['runs']}",
                f"--out={out / 'http_desk.json'}",
                *(["--echo-seconds=2"] if quick else []),
            ],
            [out / "http_desk.json"],
            [],
            module="http_desk",
        ),
        "plot": Step(
            "plot",
            [f"--results={desk_json}", f"--out={out / 'latency.png' if quick else PLOT}"],
            [out / "latency.png" if quick else PLOT],
            [],
        ),
    }
    return [steps[name] for name in STEPS if name in only]


@contextmanager
def kept_aside(fixed: list[Path], moved_to: Path) -> Iterator[None]:
    """Let a step write its fixed result files, then move what it wrote to ``moved_to``
    and put back what was there before (a quick run never replaces the real figures)."""
    before = {path: path.read_bytes() if path.exists() else None for path in fixed}
    try:
        yield
    finally:
        for path, old in before.items():
            if path.exists() and path.read_bytes() != old:
                moved_to.mkdir(parents=True, exist_ok=True)
                shutil.move(str(path), moved_to / path.name)
            if old is not None:
                path.write_bytes(old)


def run(step: Step, quick: bool) -> tuple[int, float]:
    command = [sys.executable, "-m", f"bench.{step.module or step.name}", *step.argv]
    print(f"\n[bench] {' '.join(command[1:])}", flush=True)
    started = time.monotonic()
    with kept_aside(step.fixed_outputs if quick else [], QUICK_RESULTS):
        code = subprocess.run(command, cwd=REPO).returncode
    return code, time.monotonic() - started


def steps_named(positional: list[str], only: str) -> list[str]:
    """The steps to run: those named on the command line, else ``--only``'s list."""
    named = positional or only.split(",")
    return [name.strip() for name in named if name.strip()]


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("steps", nargs="*", help=f"only these steps (of {', '.join(STEPS)})")
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    parser.add_argument("--only", default=",".join(STEPS), help="steps, e.g. desk,plot")
    parser.add_argument("--events", type=int)
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--runs", type=int)
    parser.add_argument("--rush-runs", type=int)
    parser.add_argument("--cards", type=int)
    parser.add_argument("--lends", type=int)
    args = parser.parse_args(argv)
    only = steps_named(args.steps, args.only)
    unknown = sorted(set(only) - set(STEPS))
    if unknown:
        parser.error(f"unknown step(s) {', '.join(unknown)}; the steps are {', '.join(STEPS)}")
    chosen = sizes(vars(args), os.environ, args.quick)
    print(f"[bench] sizes {chosen}; {os.cpu_count()} cores, load average {load()}")
    outcomes = []
    for step in plan(chosen, args.quick, only):
        if step.name == "plot" and not Path(step.argv[0].split("=", 1)[1]).exists():
            outcomes.append((step, None, 0.0))
            continue
        code, seconds = run(step, args.quick)
        outcomes.append((step, code, seconds))

    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Benchmarks ({'quick' if args.quick else 'full'} sizes)")
    for column in ("benchmark", "exit", "minutes", "results"):
        table.add_column(column)
    for step, code, seconds in outcomes:
        status = "skipped (no desk results)" if code is None else str(code)
        written = ", ".join(str(p.relative_to(REPO)) for p in step.writes if p.exists())
        table.add_row(step.name, status, f"{seconds / 60:.1f}", written or "-")
    Console().print(table)
    print(f"[bench] load average now {load()}")
    return 1 if any(code for _, code, _ in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
