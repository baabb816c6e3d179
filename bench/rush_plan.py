"""The enrollment rush's pure parts: the roster, who lends what at which desk, the figures.

No servers and no eventlet here, so the unit tests can check them (``bench.rush``
does the I/O). The roster is a new school year's: students in classes, their
teachers and one class book corner per class, half at each campus. The plan
deals each campus's readers and free copies out to that campus's desks, so
no two desks ever touch the same card or copy, and no reader is lent more
than their card's limit: every refusal the rush meets is then the system's
doing, not the bench's.
"""

from __future__ import annotations

import csv
import io
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.report import median_of

CAMPUSES = ("north", "south")
# One class book corner per class of about this many students; about one teacher per 12 cards.
STUDENTS_PER_CLASS = 45
CARDS_PER_TEACHER = 12


@dataclass(frozen=True)
class RosterRow:
    name: str
    kind: str
    class_name: str | None
    campus: str


@dataclass(frozen=True)
class Reader:
    patron_id: str
    kind: str
    campus: str


@dataclass
class DeskPlan:
    """One desk's campus and the lends it makes, in order: (barcode, patron_id)."""

    campus: str
    lends: list[tuple[str, str]] = field(default_factory=list)


def class_names(count: int) -> list[str]:
    """``count`` distinct class names, G1-1 ... G12-99 (grade first, as schools number them)."""
    if count > 12 * 99:
        raise ValueError(f"a school has at most {12 * 99} classes, not {count}")
    return [f"G{1 + index % 12}-{1 + index // 12}" for index in range(count)]


def make_roster(cards: int) -> list[RosterRow]:
    """``cards`` rows: one class book corner per class, a teacher per 12 cards, the rest
    students; alternately north and south, so each campus gets half of every kind."""
    if cards < 3:
        raise ValueError("a roster for the rush has at least 3 cards")
    corners = max(1, cards // (STUDENTS_PER_CLASS + 5))
    teachers = max(1, cards // CARDS_PER_TEACHER)
    students = cards - corners - teachers
    classes = class_names(corners)
    rows = []
    for number in range(students):
        rows.append(
            RosterRow(
                f"Student {number + 1:05d}",
                "student",
                classes[number % corners],
                CAMPUSES[number % 2],
            )
        )
    for number in range(teachers):
        rows.append(RosterRow(f"Teacher {number + 1:04d}", "teacher", None, CAMPUSES[number % 2]))
    for number, name in enumerate(classes):
        rows.append(RosterRow(f"Book corner {name}", "class_corner", name, CAMPUSES[number % 2]))
    return rows


def roster_csv(rows: Iterable[RosterRow]) -> str:
    """The roster as the CSV ``import_cards`` reads (header ``name,kind,class,campus``)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("name", "kind", "class", "campus"))
    for row in rows:
        writer.writerow((row.name, row.kind, row.class_name or "", row.campus))
    return out.getvalue()


def readers_from_import(rows: Sequence[RosterRow], issued: Iterable[dict]) -> list[Reader]:
    """The cards ``import_cards`` answered with (``name``, ``patron_id``), with their kind
    and campus from the roster (names are unique in a rush roster)."""
    by_name = {row.name: row for row in rows}
    return [
        Reader(card["patron_id"], by_name[card["name"]].kind, by_name[card["name"]].campus)
        for card in issued
    ]


def copies_needed(lends: int) -> int:
    """How many copies to catalogue so each campus has a free copy for each of its lends:
    half the lends are made at each campus and the smaller campus holds ~40% of the
    collection (bench.history), one copy in 97 being reference only."""
    return max(200, math.ceil(lends / 2 / 0.38) + 100)


def deal(readers: Sequence[Reader], seats: int, limits: dict[str, int]) -> list[list[Reader]]:
    """Share readers out over ``seats`` desks so each desk can lend about as much
    (largest allowance first, always to the desk with the least so far)."""
    shares: list[list[Reader]] = [[] for _ in range(seats)]
    allowance = [0] * seats
    for reader in sorted(readers, key=lambda r: (-limits[r.kind], r.patron_id)):
        seat = min(range(seats), key=lambda s: (allowance[s], s))
        shares[seat].append(reader)
        allowance[seat] += limits[reader.kind]
    return shares


def lends_in_turn(readers: Sequence[Reader], limits: dict[str, int], count: int) -> list[str]:
    """``count`` patron ids, each reader once per pass while under their limit, so one card's
    loans are spread over the run. ``ValueError`` if the readers cannot take that many."""
    order: list[str] = []
    passes = max((limits[r.kind] for r in readers), default=0)
    for turn in range(passes):
        for reader in readers:
            if len(order) == count:
                return order
            if turn < limits[reader.kind]:
                order.append(reader.patron_id)
    if len(order) < count:
        raise ValueError(f"{len(readers)} readers can take {len(order)} loans, not {count}")
    return order


def plan_desks(
    readers: Sequence[Reader],
    shelf: Sequence[tuple[str, str]],
    lends: int,
    desks: int,
    limits: dict[str, int],
) -> list[DeskPlan]:
    """Every desk's lends: even desks at north, odd at south, ``lends`` shared evenly.

    Each desk lends only its own readers (of its campus) its own copies (shelved
    at its campus), each copy once and each reader within their card's limit.
    ``ValueError`` says what is short (readers or copies) when the rush cannot be
    planned.
    """
    if desks < 2 or desks % 2:
        raise ValueError("desks come in pairs, one north and one south")
    seats = desks // 2
    quotas = [lends // desks + (1 if number < lends % desks else 0) for number in range(desks)]
    by_campus_readers: dict[str, list[Reader]] = defaultdict(list)
    for reader in readers:
        by_campus_readers[reader.campus].append(reader)
    by_campus_copies: dict[str, list[str]] = defaultdict(list)
    for barcode, campus in shelf:
        by_campus_copies[campus].append(barcode)
    dealt = {campus: deal(by_campus_readers[campus], seats, limits) for campus in CAMPUSES}
    plans = []
    for number in range(desks):
        campus, seat = CAMPUSES[number % 2], number // 2
        copies = by_campus_copies[campus][seat::seats]
        if len(copies) < quotas[number]:
            raise ValueError(
                f"desk {number} ({campus}) has {len(copies)} free copies for "
                f"{quotas[number]} lends: catalogue more copies"
            )
        try:
            patrons = lends_in_turn(dealt[campus][seat], limits, quotas[number])
        except ValueError as error:
            raise ValueError(f"desk {number} ({campus}): {error}: issue more cards") from None
        plans.append(DeskPlan(campus, list(zip(copies, patrons, strict=False))))
    return plans


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (0 for no values)."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99 of latencies given in seconds, in milliseconds."""
    return {
        f"p{int(share * 100)}_ms": round(percentile(seconds, share) * 1000, 1)
        for share in (0.50, 0.95, 0.99)
    }


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator`` to 2 places; None when either is missing or zero."""
    if not numerator or not denominator:
        return None
    return round(numerator / denominator, 2)


def cpu_seconds(stat: str, ticks_per_second: int) -> float:
    """User + system CPU seconds from a ``/proc/<pid>/stat`` line (fields 14 and 15, counted
    after the command name, which may hold spaces and parentheses)."""
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / ticks_per_second


def cpu_ms_per(before: dict[str, float], after: dict[str, float], count: int) -> dict[str, float]:
    """CPU milliseconds each process spent per item between two readings."""
    if not count:
        return {}
    return {
        name: round((after[name] - before[name]) * 1000 / count, 2)
        for name in after
        if name in before
    }


def add_counts(into: dict[str, int], counts: dict[str, int]) -> dict[str, int]:
    for key, value in counts.items():
        into[key] = into.get(key, 0) + value
    return into


def summarise(measurements: list[dict[str, Any]], instances: list[int]) -> dict[str, Any]:
    """Medians per instance count, refusals and errors summed over runs, peaks maxed, ratios."""
    summary: dict[str, Any] = {}
    for count in instances:
        mine = [m for m in measurements if m["instances"] == count]
        if not mine:
            continue
        figures = median_of(mine)
        figures.pop("instances", None)
        figures.pop("run", None)
        figures["errors"] = sum(m["errors"] for m in mine)
        figures["refused"] = sum(m["refused"] for m in mine)
        refusals: dict[str, int] = {}
        errors: dict[str, int] = {}
        peaks: dict[str, float] = {}
        cpu: dict[str, list[float]] = defaultdict(list)
        for m in mine:
            for name, ms in m.get("cpu_ms_per_lend", {}).items():
                cpu[name].append(ms)
            add_counts(refusals, m.get("refusals_by_code", {}))
            add_counts(errors, m.get("errors_by_type", {}))
            for name, mb in m.get("peak_rss_mb", {}).items():
                peaks[name] = max(peaks.get(name, 0.0), mb)
        figures["refusals_by_code"] = refusals
        figures["errors_by_type"] = errors
        figures["first_errors"] = [e for m in mine for e in m.get("first_errors", [])][:5]
        figures["peak_rss_mb"] = peaks
        figures["cpu_ms_per_lend"] = {
            name: round(statistics.median(values), 2) for name, values in cpu.items()
        }
        summary[f"instances_{count}"] = figures
    if len(instances) >= 2:
        low, high = min(instances), max(instances)
        lows = summary.get(f"instances_{low}", {})
        highs = summary.get(f"instances_{high}", {})
        summary[f"lends_per_second_{high}_vs_{low}"] = ratio(
            highs.get("lends_per_second"), lows.get("lends_per_second")
        )
        # The same, each side first divided by the echo baseline of its own stage: the
        # machine is shared, and its load can change more between two stages than
        # the instances do.
        summary[f"lends_vs_echo_{high}_vs_{low}"] = ratio(
            highs.get("lends_vs_echo"), lows.get("lends_vs_echo")
        )
        per_run = []
        for run in sorted({m["run"] for m in measurements}):
            by_count = {m["instances"]: m for m in measurements if m["run"] == run}
            if low in by_count and high in by_count:
                per_run.append(
                    ratio(by_count[high]["lends_per_second"], by_count[low]["lends_per_second"])
                )
        summary[f"lends_per_second_{high}_vs_{low}_per_run"] = per_run
    return summary
