"""How a bench prints its figures: one table of labelled measures, then what was refused
and the first errors, and each service's hottest functions when it was profiled."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.profile import summary
from shared.config import SERVICES

Row = tuple[str, str, str]
"""(label, key in the figures, format of its value)."""


def figures_table(title: str, rows: Iterable[Row], figures: Mapping[str, Any]) -> Table:
    """A "measure | figure" table of ``rows`` read from ``figures`` (``-`` when missing)."""
    table = Table(title=title)
    table.add_column("measure")
    table.add_column("figure", justify="right")
    for label, key, form in rows:
        value = figures.get(key)
        table.add_row(label, "-" if value is None else form.format(value))
    return table


def median_of(runs: Sequence[Mapping[str, Any]], places: int = 2) -> dict[str, Any]:
    """The median of every number all runs have (not flags), to ``places``; a table (dict)
    all runs have, figure by figure; anything else is left out."""
    medians: dict[str, Any] = {}
    for key in runs[0] if runs else ():
        values = [run.get(key) for run in runs]
        if all(isinstance(value, Mapping) for value in values):
            table = median_of(values, places)
            if table:
                medians[key] = table
        elif all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            medians[key] = round(statistics.median(values), places)
    return medians


def summed_outcomes(runs: list[Mapping[str, Any]]) -> dict[str, Any]:
    """Refusals and errors summed over the runs (by reason too), and the first five errors."""
    refusals: Counter[str] = Counter()
    for run in runs:
        refusals.update(run["refusals"])
    return {
        "refused": sum(run["refused"] for run in runs),
        "errors": sum(run["errors"] for run in runs),
        "refusals": dict(refusals),
        "first_errors": [e for run in runs for e in run["first_errors"]][:5],
    }


def print_outcomes(console: Console, figures: Mapping[str, Any]) -> None:
    """The refusals by reason and the first errors, under the table."""
    for reason, count in figures["refusals"].items():
        console.print(f"[yellow]refused {count}x: {reason}")
    for line in figures["first_errors"]:
        console.print(f"[red]error: {line}")


def print_profiles(folder: Path, console: Console, top: int = 15) -> None:
    """Each service's hottest functions while the bench ran (py-spy, the first run)."""
    for service in SERVICES:
        collapsed = folder / f"{service}.txt"
        if not collapsed.exists():
            console.print(f"no profile of {service}")
            continue
        hottest = summary(collapsed, top=top)
        table = Table(title=f"{service}: share of samples (py-spy, {collapsed})")
        table.add_column("self %", justify="right")
        table.add_column("function (self)")
        table.add_column("inclusive %", justify="right")
        table.add_column("function (with callees)")
        for (own, own_share), (under, under_share) in zip(
            hottest["self"], hottest["inclusive"], strict=False
        ):
            table.add_row(f"{own_share}", own, f"{under_share}", under)
        console.print(table)
