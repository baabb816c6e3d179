"""Latency against offered load, from the desk benchmark's results.

    python -m bench.plot [--results bench/results/desk.json] [--out docs/latency.png]

Every ``load_<rate>`` entry of desk.json (an open-loop run at ``rate`` commands/s)
becomes a point: p50, p95 and p99 against the offered rate, with the p99 target
of issue 6 (25 ms at 100 commands/s) drawn as a line. Where a run could not keep
up, the rate it achieved is written beside it; the closed-loop run
(``desks_flat_out``) is marked at the rate it reached. The y axis is logarithmic
when the latencies span more than ``LOG_SPREAD`` times, the x axis when the
rates span more than half that.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results" / "desk.json"
OUT = Path(__file__).parent.parent / "docs" / "latency.png"
TARGET_P99_MS = 25.0
TARGET_AT = 100.0  # commands/s at which the p99 target applies
LOG_SPREAD = 20.0
KEEPING_UP = 0.9  # a run that achieved less than this share of its offered rate fell behind
LOAD_KEY = re.compile(r"^load_(\d+(?:\.\d+)?)$")
PERCENTILES = ("p50_ms", "p95_ms", "p99_ms")


@dataclass(frozen=True)
class LoadPoint:
    offered: float  # commands/s asked for
    achieved: float | None  # commands/s answered (None when not recorded)
    p50_ms: float
    p95_ms: float
    p99_ms: float

    @property
    def fell_behind(self) -> bool:
        return self.achieved is not None and self.achieved < KEEPING_UP * self.offered


def load_points(results: dict[str, Any]) -> list[LoadPoint]:
    """One point per ``load_<rate>`` entry that has all three percentiles, by offered rate.

    The offered rate is the entry's ``offered_per_second`` when it has one, else the
    number in its key."""
    points = []
    for key, figures in results.items():
        match = LOAD_KEY.match(key)
        if not match or not isinstance(figures, dict):
            continue
        if not all(isinstance(figures.get(p), int | float) for p in PERCENTILES):
            continue
        offered = figures.get("offered_per_second") or float(match.group(1))
        achieved = figures.get("commands_per_second")
        points.append(
            LoadPoint(
                float(offered),
                float(achieved) if isinstance(achieved, int | float) else None,
                *(float(figures[p]) for p in PERCENTILES),
            )
        )
    return sorted(points, key=lambda point: point.offered)


def flat_out(results: dict[str, Any]) -> LoadPoint | None:
    """The closed-loop run as a point at the rate it reached (None when absent)."""
    figures = results.get("desks_flat_out")
    if not isinstance(figures, dict) or not all(
        isinstance(figures.get(k), int | float) for k in (*PERCENTILES, "commands_per_second")
    ):
        return None
    rate = float(figures["commands_per_second"])
    return LoadPoint(rate, rate, *(float(figures[p]) for p in PERCENTILES))


def use_log_scale(points: list[LoadPoint], target: float = TARGET_P99_MS) -> bool:
    """Log y when the largest latency shown is more than LOG_SPREAD times the smallest."""
    values = [v for p in points for v in (p.p50_ms, p.p95_ms, p.p99_ms) if v > 0] + [target]
    return max(values) / min(values) > LOG_SPREAD


def subtitle(results: dict[str, Any]) -> str:
    """What the figures were measured against, from desk.json's context keys."""
    parts = []
    stored = results.get("events_in_store")
    if isinstance(stored, dict):
        parts.append(f"{sum(v for v in stored.values() if isinstance(v, int)):,} stored events")
    desks = results.get("desks")
    if desks:
        parts.append(f"{desks} desks")
    echo = (results.get("echo") or {}).get("calls_per_second")
    if echo:
        parts.append(f"echo RPC {echo:,.0f} calls/s")
    return ", ".join(parts)


def draw(results: dict[str, Any], out: Path) -> Path:
    """Write the plot as a PNG; ``ValueError`` when the results have no load points."""
    points = load_points(results)
    if not points:
        raise ValueError("no load_<rate> entries with p50_ms/p95_ms/p99_ms in the results")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.transforms import blended_transform_factory

    closed = flat_out(results)
    figure, axes = plt.subplots(figsize=(8, 5), dpi=120)
    offered = [p.offered for p in points]
    for key, label, style in (
        ("p50_ms", "p50", "o-"),
        ("p95_ms", "p95", "s-"),
        ("p99_ms", "p99", "^-"),
    ):
        axes.plot(offered, [getattr(p, key) for p in points], style, label=label)
    axes.axhline(TARGET_P99_MS, color="crimson", linestyle="--", linewidth=1)
    axes.text(
        0.01,
        TARGET_P99_MS,
        f"p99 target: {TARGET_P99_MS:g} ms at {TARGET_AT:g} commands/s",
        transform=blended_transform_factory(axes.transAxes, axes.transData),
        verticalalignment="bottom",
        color="crimson",
        fontsize=8,
    )
    axes.axvline(TARGET_AT, color="crimson", linestyle=":", linewidth=0.8)
    for point in points:
        if point.fell_behind:
            axes.annotate(
                f"achieved {point.achieved:g}/s",
                (point.offered, point.p99_ms),
                textcoords="offset points",
                xytext=(-6, 8),
                horizontalalignment="right",
                fontsize=7,
                color="dimgray",
            )
    if closed:
        axes.plot(
            [closed.offered] * 3,
            [closed.p50_ms, closed.p95_ms, closed.p99_ms],
            "kx",
            label=f"20 desks flat out ({closed.offered:g}/s, p50/p95/p99)",
        )
    if use_log_scale(points + ([closed] if closed else [])):
        axes.set_yscale("log")
    rates = [p.offered for p in points] + ([closed.offered] if closed else [])
    if max(rates) / min(rates) >= LOG_SPREAD / 2:  # 25 ... 300/s: evenly spaced on a log axis
        axes.set_xscale("log")
        axes.set_xticks(offered, [f"{rate:g}" for rate in offered])
        axes.minorticks_off()
    axes.set_xlabel("offered load (commands/s, open loop)")
    axes.set_ylabel("latency (ms)")
    axes.set_title("Desk latency against offered load\n" + subtitle(results), fontsize=10)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out)
    plt.close(figure)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    results = json.loads(args.results.read_text())
    try:
        written = draw(results, args.out)
    except ValueError as error:
        print(f"{args.results}: {error}", file=sys.stderr)
        return 1
    points = load_points(results)
    print(f"{len(points)} load points ({', '.join(f'{p.offered:g}' for p in points)} /s)")
    print(f"written to {written}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
