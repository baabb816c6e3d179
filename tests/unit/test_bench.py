"""The benchmarks' pure parts, without servers: the rush's roster and desk plan, its
figures, the latency plot's data, and how ``python -m bench`` picks sizes and outputs."""

import random
import statistics
from collections import Counter
from datetime import datetime

import pytest

from bench import __main__ as runner
from bench import plot
from bench.history import Library, SchoolSize, catalogue
from bench.report import median_of
from bench.rush_plan import (
    Reader,
    copies_needed,
    cpu_ms_per,
    cpu_seconds,
    lends_in_turn,
    make_roster,
    percentile,
    plan_desks,
    ratio,
    readers_from_import,
    roster_csv,
    summarise,
)
from services.circulation.roster import read_roster

LIMITS = {"student": 3, "teacher": 10, "class_corner": 60}


def readers_for(rows):
    return [Reader(f"P{number:07d}", row.kind, row.campus) for number, row in enumerate(rows)]


def shelf_for(lends):
    """Free copies as the rush catalogues them (bench.history), reference books left out."""
    copies = copies_needed(lends)
    library = Library(SchoolSize(copies=copies, titles=copies // 4), random.Random(2026))
    return [
        (event.data["barcode"], event.data["campus"])
        for event in catalogue(library)
        if not event.data["reference_only"]
    ]


# ---------------------------------------------------------------- the roster


def test_the_roster_is_one_the_service_reads_without_a_bad_row():
    rows = make_roster(5000)
    roster = read_roster(roster_csv(rows))
    assert roster.errors == []
    assert len(roster.cards) == 5000
    assert Counter(card["kind"] for _, card in roster.cards) == Counter(r.kind for r in rows)


def test_the_roster_has_students_teachers_and_a_book_corner_per_class_at_both_campuses():
    rows = make_roster(5000)
    kinds = Counter(row.kind for row in rows)
    assert kinds == {"student": 4484, "teacher": 416, "class_corner": 100}
    assert len({row.name for row in rows}) == 5000
    corners = {row.class_name for row in rows if row.kind == "class_corner"}
    assert {row.class_name for row in rows if row.kind == "student"} == corners
    assert Counter(row.campus for row in rows) == {"north": 2500, "south": 2500}
    # enough allowance for the 20,000 lends of the full rush, at each campus
    for campus in ("north", "south"):
        assert sum(LIMITS[r.kind] for r in rows if r.campus == campus) > 10_000


def test_issued_cards_are_matched_to_their_roster_rows_by_name():
    rows = make_roster(10)
    issued = [{"line": 2 + i, "patron_id": f"P{i:07d}", "name": r.name} for i, r in enumerate(rows)]
    readers = readers_from_import(rows, issued)
    assert [(r.kind, r.campus) for r in readers] == [(r.kind, r.campus) for r in rows]
    assert readers[0].patron_id == "P0000000"


# ---------------------------------------------------------------- the desks' plan


@pytest.mark.parametrize(("cards", "lends"), [(5000, 20000), (500, 2000), (200, 600)])
def test_the_plan_lends_each_copy_once_within_every_readers_limit(cards, lends):
    rows = make_roster(cards)
    readers = readers_for(rows)
    shelf = shelf_for(lends)
    plans = plan_desks(readers, shelf, lends, 20, LIMITS)

    assert len(plans) == 20
    assert [p.campus for p in plans[:4]] == ["north", "south", "north", "south"]
    assert sum(len(p.lends) for p in plans) == lends
    assert max(len(p.lends) for p in plans) - min(len(p.lends) for p in plans) <= 1
    barcodes = [barcode for p in plans for barcode, _ in p.lends]
    assert len(set(barcodes)) == lends
    campus_of_copy = dict(shelf)
    by_id = {r.patron_id: r for r in readers}
    desks_of_reader = {}
    loans = Counter()
    for number, p in enumerate(plans):
        for barcode, patron_id in p.lends:
            assert campus_of_copy[barcode] == p.campus == by_id[patron_id].campus
            desks_of_reader.setdefault(patron_id, set()).add(number)
            loans[patron_id] += 1
    assert all(len(desks) == 1 for desks in desks_of_reader.values())
    assert all(loans[p] <= LIMITS[by_id[p].kind] for p in loans)


def test_one_readers_loans_are_spread_over_the_run():
    readers = [Reader("A", "teacher", "north"), Reader("B", "student", "north")]
    assert lends_in_turn(readers, LIMITS, 7) == ["A", "B", "A", "B", "A", "B", "A"]
    with pytest.raises(ValueError, match="can take 13 loans, not 14"):
        lends_in_turn(readers, LIMITS, 14)


def test_a_rush_too_big_for_its_cards_or_copies_is_refused_before_it_starts():
    readers = readers_for(make_roster(100))
    with pytest.raises(ValueError, match="issue more cards"):
        plan_desks(readers, shelf_for(2000), 2000, 20, LIMITS)
    with pytest.raises(ValueError, match="catalogue more copies"):
        plan_desks(readers_for(make_roster(500)), shelf_for(600), 2000, 20, LIMITS)
    with pytest.raises(ValueError, match="pairs"):
        plan_desks(readers, shelf_for(600), 600, 3, LIMITS)


# ---------------------------------------------------------------- the figures


def test_percentiles_are_nearest_rank():
    values = [i / 1000 for i in range(1, 101)]  # 1..100 ms
    assert percentile(values, 0.50) == 0.050
    assert percentile(values, 0.99) == 0.099
    assert percentile([0.2], 0.99) == 0.2
    assert percentile([], 0.5) == 0.0


def test_medians_take_numbers_only_and_ratios_need_both_sides():
    runs = [{"a": 1, "b": "x", "c": True, "d": None}, {"a": 3, "b": "y", "c": False, "d": 2}]
    assert median_of(runs) == {"a": 2}
    tables = [{"cpu": {"x": 1.0, "y": "z"}, "n": 1}, {"cpu": {"x": 2.0, "y": "w"}, "n": 4}]
    assert median_of(tables, 1) == {"cpu": {"x": 1.5}, "n": 2.5}  # tables figure by figure
    assert ratio(30, 20) == 1.5
    assert ratio(None, 20) is None and ratio(3, 0) is None


def test_cpu_time_is_read_from_proc_stat_even_with_an_odd_process_name():
    stat = "4242 (nameko (run) x) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 11 0 99 0 0"
    assert cpu_seconds(stat, 100) == 3.0
    before, after = {"circulation": 1.0, "gone": 1.0}, {"circulation": 3.0, "new": 1.0}
    assert cpu_ms_per(before, after, 400) == {"circulation": 5.0}
    assert cpu_ms_per(before, after, 0) == {}


def measurement(run, instances, rate, errors=0, refusals=None, rss=60.0):
    return {
        "run": run,
        "instances": instances,
        "lends_per_second": rate,
        "p99_ms": 100.0 / instances,
        "errors": errors,
        "refused": sum((refusals or {}).values()),
        "refusals_by_code": refusals or {},
        "errors_by_type": {"RpcTimeout": errors} if errors else {},
        "first_errors": [],
        "peak_rss_mb": {"circulation": rss, **({"circulation@2": rss} if instances > 1 else {})},
        "lends_vs_echo": rate / 100,
        "cpu_ms_per_lend": {"circulation": 10.0 / instances + run},
    }


def test_the_rush_summary_gives_medians_sums_peaks_and_the_scaling_ratio():
    runs = [
        measurement(0, 1, 20.0, rss=61.0),
        measurement(0, 3, 30.0, refusals={"copy_on_loan": 1}),
        measurement(1, 3, 33.0, errors=2, rss=64.0),
        measurement(1, 1, 22.0),
        measurement(2, 1, 21.0),
        measurement(2, 3, 42.0, refusals={"copy_on_loan": 2, "loan_limit": 1}),
    ]
    summary = summarise(runs, [1, 3])
    one, three = summary["instances_1"], summary["instances_3"]
    assert one["lends_per_second"] == 21.0 and three["lends_per_second"] == 33.0
    assert "run" not in one and "instances" not in one
    assert one["errors"] == 0 and three["errors"] == 2
    assert three["refusals_by_code"] == {"copy_on_loan": 3, "loan_limit": 1}
    assert three["refused"] == 4
    assert three["peak_rss_mb"] == {"circulation": 64.0, "circulation@2": 64.0}
    assert one["peak_rss_mb"] == {"circulation": 61.0}
    assert summary["lends_per_second_3_vs_1"] == round(33 / 21, 2)
    assert summary["lends_per_second_3_vs_1_per_run"] == [1.5, 1.5, 2.0]
    assert summary["lends_vs_echo_3_vs_1"] == round(0.33 / 0.21, 2)
    assert one["cpu_ms_per_lend"] == {"circulation": 11.0}


# ---------------------------------------------------------------- the latency plot

DESK = {
    "events_in_store": {"catalog": 36800, "circulation": 963200},
    "desks": 20,
    "echo": {"calls_per_second": 190.4},
    "desks_flat_out": {"commands_per_second": 28.1, "p50_ms": 606, "p95_ms": 925, "p99_ms": 1150},
    "load_300": {
        "offered_per_second": 300,
        "commands_per_second": 17,
        "p50_ms": 38000,
        "p95_ms": 69000,
        "p99_ms": 71000,
    },
    "load_25": {
        "offered_per_second": 25,
        "commands_per_second": 24.9,
        "p50_ms": 9.5,
        "p95_ms": 14,
        "p99_ms": 20,
    },
    "load_100": {"commands_per_second": 97, "p50_ms": 11, "p95_ms": 19, "p99_ms": 24},
    "load_50": {"commands_per_second": 50, "p50_ms": 10},  # incomplete: left out
    "load_abc": {"p50_ms": 1, "p95_ms": 1, "p99_ms": 1},  # not a rate: left out
    "lend_return_vs_echo": 0.15,
}


def test_load_points_are_every_complete_load_entry_by_offered_rate():
    points = plot.load_points(DESK)
    assert [p.offered for p in points] == [25, 100, 300]  # 100 from its key
    assert points[0].p99_ms == 20 and points[2].p50_ms == 38000
    assert [p.fell_behind for p in points] == [False, False, True]
    assert plot.load_points({"echo": {}}) == []


def test_the_closed_loop_run_is_a_point_at_the_rate_it_reached():
    point = plot.flat_out(DESK)
    assert (point.offered, point.achieved, point.p99_ms) == (28.1, 28.1, 1150)
    assert plot.flat_out({"desks_flat_out": {"p50_ms": 1}}) is None


def test_the_y_axis_is_logarithmic_only_for_a_wide_spread():
    points = plot.load_points(DESK)
    assert plot.use_log_scale(points)
    assert not plot.use_log_scale(points[:2])  # 9.5 .. 25 ms (the target counts)


def test_the_subtitle_names_what_was_measured():
    assert plot.subtitle(DESK) == "1,000,000 stored events, 20 desks, echo RPC 190 calls/s"


def test_the_plot_is_written_as_a_png(tmp_path):
    out = plot.draw(DESK, tmp_path / "latency.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="no load_"):
        plot.draw({"desks_flat_out": DESK["desks_flat_out"]}, tmp_path / "none.png")


# ---------------------------------------------------------------- python -m bench


def test_sizes_come_from_options_then_the_environment_then_the_defaults():
    full = runner.sizes({}, {}, quick=False)
    assert full == {
        "events": 1_000_000,
        "seconds": 20,
        "runs": 3,
        "rush_runs": 1,
        "cards": 5000,
        "lends": 20000,
    }
    env = {"BENCH_EVENTS": "200_000", "BENCH_SECONDS": "7.5", "BENCH_LENDS": " "}
    chosen = runner.sizes({"events": 300}, env, quick=True)
    assert chosen["events"] == 300 and chosen["seconds"] == 7.5
    assert chosen["lends"] == 600 and chosen["cards"] == 200  # quick defaults
    assert runner.sizes({}, env, quick=False)["events"] == 200_000


def test_the_full_run_writes_the_real_results_and_a_quick_one_beside_them():
    chosen = runner.sizes({}, {}, quick=False)
    steps = runner.plan(chosen, quick=False, only=list(runner.STEPS))
    assert [s.name for s in steps] == ["desk", "rebuild", "rush", "sip2", "http", "plot"]
    assert steps[0].argv == ["--events=1000000", "--seconds=20", "--runs=3"]
    assert steps[3].argv == [
        "--seconds=20",
        "--runs=3",
        f"--out={runner.RESULTS / 'sip2.json'}",
    ]
    assert steps[4].module == "http_desk"
    assert steps[4].writes == [runner.RESULTS / "http_desk.json"]
    assert steps[5].writes == [runner.PLOT]
    quick = runner.plan(runner.sizes({}, {}, quick=True), quick=True, only=["rush", "sip2", "plot"])
    assert [s.name for s in quick] == ["rush", "sip2", "plot"]
    assert all(runner.QUICK_RESULTS in p.parents for s in quick for p in s.writes)
    assert f"--results={runner.QUICK_RESULTS / 'desk.json'}" in quick[2].argv
    assert "--seconds=3" in quick[1].argv and "--runs=1" in quick[1].argv


def test_a_step_named_on_the_command_line_runs_alone():
    assert runner.steps_named(["sip2"], ",".join(runner.STEPS)) == ["sip2"]
    assert runner.steps_named([], "desk, plot") == ["desk", "plot"]


def test_the_kiosks_send_what_a_client_written_from_the_spec_sends():
    """The SIP2 bench builds its lines with the server's codec; byte for byte they are
    the lines of tests/sip2_client.py, written from the 2.00 specification apart from it."""
    from bench.sip2_kiosk import Answer, KioskLines
    from tests.sip2_client import Client, sip_checksum

    kiosk, spec = KioskLines(), Client()
    when = datetime(2026, 3, 2, 9, 30, 0)  # the spec client's transaction date
    for _ in range(12):  # the AY sequence digit goes round past 9
        assert kiosk.login("kiosk-north-1", "pw-12345678", "north") == spec.login(
            "kiosk-north-1", "pw-12345678", "north"
        )
        assert kiosk.checkout("S70301", "N000123", when) == spec.checkout("S70301", "N000123")
        assert kiosk.checkin("N000123", when, "north") == spec.checkin("N000123", "north")

    body = "12" + "1" + "N" + "U" + "N" + "20260302    093000" + "AOschool|AAS70301|ABN000123|"
    body += "AJ骆驼祥子|AH20260316    235959|AF借书成功|AY3AZ"
    raw = body.encode() + sip_checksum(body.encode()).encode() + b"\r"
    answer = kiosk.read(raw)
    assert (answer.code, answer.ok, answer.screen) == ("12", True, "借书成功")
    refused = "10" + "0" + "N" + "U" + "Y" + "20260302    093000"
    refused += "AOschool|ABN000123|AQsouth|AF此书属于南区，请还到南区|"
    assert kiosk.read(refused.encode()) == kiosk.read(refused.encode() + b"\r")
    assert kiosk.read(refused.encode()) == Answer("10", False, "此书属于南区，请还到南区")


def test_a_quick_run_puts_the_real_figures_back(tmp_path):
    real, fresh = tmp_path / "desk.json", tmp_path / "rebuild.json"
    real.write_text("real figures")
    aside = tmp_path / "quick"
    with runner.kept_aside([real, fresh], aside):
        real.write_text("quick figures")
        fresh.write_text("quick rebuild")
    assert real.read_text() == "real figures" and not fresh.exists()
    assert (aside / "desk.json").read_text() == "quick figures"
    assert (aside / "rebuild.json").read_text() == "quick rebuild"


@pytest.mark.parametrize("budget", [60_000, 60_001, 75_333])
def test_a_generated_history_returns_only_what_it_lent_and_fills_its_budget(budget, monkeypatch):
    from bench import history

    stored: dict[str, list] = {"catalog": [], "circulation": []}

    def store_all(pool, source, events):
        stored[source].extend(events)
        return len(events)

    monkeypatch.setattr(history, "store_all", store_all)
    size = SchoolSize(copies=4000, titles=1000, students=300, teachers=20)
    counts = history.generate({"catalog": None, "circulation": None}, budget, size=size)

    lent, returned = set(), []
    for event in stored["circulation"]:
        if event.type == "Lent":
            lent.add(event.data["loan_id"])
        elif event.type == "Returned":
            assert event.data["loan_id"] in lent, "a return of a loan never lent"
            returned.append(event.data["loan_id"])
    assert sorted(returned) == sorted(lent)  # every book back at the end
    assert budget - 1 <= sum(counts.values()) <= budget


def test_compare_takes_throughput_latency_lag_and_cpu_from_a_desk_result():
    from bench import compare

    result = {
        **DESK,
        "desks_flat_out": {
            "commands_per_second": 100.0,
            "cpu_ms_per_command": {"circulation": 4.0, "bench (the desks)": 1.5},
        },
        "commands_alone": {"commands_per_second": 150.0},
        "commands_alone_vs_echo": 0.3,
        "load_25": {**DESK["load_25"], "lag_archives_p99_ms": 120.0},
    }
    before, after = compare.figures(result), compare.figures({**result, "lend_return_vs_echo": 0.5})
    assert before["lend/return flat out (commands/s)"] == 100.0
    assert before["commands alone / echo (%)"] == 30.0
    assert "CPU ms/command flat out: circulation" in before
    assert not any("desks" in key for key in before)  # only the services, broker and database
    assert before["25/s lag p99 archives (ms)"] == 120.0
    assert "abc/s p50 (ms)" not in before and before["50/s p50 (ms)"] == 10
    assert compare.medians([result, {**result, "lend_return_vs_echo": 0.5}])[
        "lend/return / echo (%)"
    ] == statistics.median([before["lend/return / echo (%)"], after["lend/return / echo (%)"]])
