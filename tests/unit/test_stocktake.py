"""The stock-take (清点) rules, without any server: counting, the report, twice missing, files."""

from datetime import date

import pytest

from services.catalog import stocktake as st
from services.catalog.stocktake import (
    CloseStocktake,
    CopyInBooks,
    CountCopies,
    OpenStocktake,
    Scan,
    decide,
    evolve,
)
from shared.events import CATALOGUE
from shared.eventsourcing.decider import Refused, fold

DAY = date(2026, 12, 7)


def copy(barcode, campus="north", classification="I247.5", status="on_shelf", loan_id=None):
    return CopyInBooks(barcode, campus, classification, status, loan_id)


def scans(*copies):
    return tuple(Scan(c.barcode, c) for c in copies)


def opened(campus="north", classes=()):
    state = st.INITIAL
    return fold(evolve, state, decide(state, OpenStocktake("ST000001", campus, classes, DAY)))


def counted(state, *copies):
    """The findings of the copies counted (as the read model gives them at closing)."""
    return tuple(st.findings(state, scans(*copies)))


def valid(events):
    """Every event is one the catalogue would publish."""
    for event in events:
        assert not CATALOGUE.get(event.type).errors(dict(event.data)), event
    return events


def test_a_copy_scanned_twice_is_counted_once():
    state = opened()
    events = decide(state, CountCopies("ST000001", scans(copy("C1000"), copy("C1000"))))
    assert [e.type for e in valid(events)] == ["CopyCounted"]
    state = fold(evolve, state, events)
    again = (Scan("C1000", copy("C1000"), counted_before=True),)  # as the read model says
    assert decide(state, CountCopies("ST000001", again)) == []
    assert [f.outcome for f in st.findings(state, again)] == [st.ALREADY_COUNTED]


def test_unknown_and_weeded_barcodes_are_reported_not_counted():
    state = opened()
    batch = (Scan("C9999", None, line=3), Scan("C1001", copy("C1001", status="weeded")))
    assert decide(state, CountCopies("ST000001", batch)) == []
    found = st.findings(state, batch)
    assert [(f.barcode, f.outcome, f.line) for f in found] == [
        ("C9999", st.UNKNOWN, 3),
        ("C1001", st.WEEDED, None),
    ]


def test_the_other_campus_or_a_class_outside_the_range_is_misplaced():
    state = opened(classes=("I2", "K"))
    batch = scans(
        copy("C0001"),
        copy("C0002", campus="south"),
        copy("C0003", classification="O1"),
        copy("C0004", "north", "K825"),
    )
    events = valid(decide(state, CountCopies("ST000001", batch)))
    assert [e.data["misplaced"] for e in events] == [None, st.OTHER_CAMPUS, st.OUT_OF_RANGE, None]


def test_a_copy_found_on_loan_names_its_loan_for_circulation_to_return_it():
    state = opened()
    (event,) = valid(
        decide(state, CountCopies("ST000001", scans(copy("C0005", status="on_loan", loan_id="L1"))))
    )
    assert event.data["loan_id"] == "L1" and event.data["status"] == "on_loan"
    on_shelf = decide(state, CountCopies("ST000001", scans(copy("C0006", loan_id=None))))
    assert on_shelf[0].data["loan_id"] is None


def test_closing_reports_missing_misplaced_and_found_on_loan():
    state = opened(classes=("I",))
    found = counted(
        state,
        copy("C0001"),
        copy("C0002", campus="south"),
        copy("C0003", status="on_loan", loan_id="L3"),
    )
    shelf = (("C0001", "I247.5"), ("C0004", "I313"), ("C0005", "I210"), ("C0007", "O41"))
    (closed,) = valid(decide(state, CloseStocktake("ST000001", shelf, DAY, found)))
    assert closed.type == "StocktakeClosed"
    assert closed.data["expected"] == 3  # C7 is not on the shelves counted
    assert closed.data["counted"] == 3
    assert closed.data["missing"] == ["C0004", "C0005"]
    assert closed.data["misplaced"] == ["C0002"]
    assert closed.data["found_on_loan"] == ["C0003"]


def test_a_closed_stocktake_refuses_scans_and_a_second_closing():
    state = fold(evolve, opened(), decide(opened(), CloseStocktake("ST000001", (), DAY)))
    for command in (
        CountCopies("ST000001", scans(copy("C0001"))),
        CloseStocktake("ST000001", (), DAY),
    ):
        with pytest.raises(Refused) as refused:
            decide(state, command)
        assert refused.value.code == "stocktake_closed"


def test_a_stocktake_is_opened_once():
    with pytest.raises(Refused) as refused:
        decide(opened(), OpenStocktake("ST000001", "north", (), DAY))
    assert refused.value.code == "stocktake_exists"


def test_missing_twice_means_the_last_two_in_a_row():
    assert st.missing_twice([st.MISSING, st.MISSING])
    assert st.missing_twice([st.MISSING, st.MISSING, st.FOUND])
    assert not st.missing_twice([st.MISSING, st.FOUND, st.MISSING])
    assert not st.missing_twice([st.FOUND, st.MISSING, st.MISSING])
    assert not st.missing_twice([st.MISSING])


def test_covers_matches_classification_prefixes_in_any_case():
    assert st.covers((), "O41")
    assert st.covers(("i2",), "I247.5")
    assert not st.covers(("I2",), "I313")


def test_a_scanner_file_one_barcode_a_line_with_bad_lines_by_number():
    text = "\ufeffC00000001\r\n\r\nc00000002\r\nnot a barcode!\r\n  C00000003  \r\n"
    read = st.read_scanner_file(text)
    assert read.barcodes == [(1, "C00000001"), (3, "C00000002"), (5, "C00000003")]
    assert read.errors == [{"line": 4, "text": "not a barcode!", "code": "not_a_barcode"}]


def test_a_scanner_csv_with_a_barcode_column_or_the_barcode_first():
    headed = "时间,条码\n2026-12-07 09:01,C00000001\n2026-12-07 09:02,??\n"
    read = st.read_scanner_file(headed)
    assert read.barcodes == [(2, "C00000001")]
    assert [e["line"] for e in read.errors] == [3]
    plain = "C00000004,2026-12-07\nC00000005\t09:03\n"
    assert st.read_scanner_file(plain).barcodes == [(1, "C00000004"), (2, "C00000005")]


def test_a_scanner_file_over_the_limit_keeps_the_first_and_reports_the_rest():
    read = st.read_scanner_file("\n".join(f"C{n:08d}" for n in range(5)), limit=3)
    assert len(read.barcodes) == 3
    assert [(e["line"], e["code"]) for e in read.errors] == [
        (4, "too_many_barcodes"),
        (5, "too_many_barcodes"),
    ]


def test_the_example_scanner_file_reads_with_its_bad_line():
    from pathlib import Path

    raw = (Path(__file__).parents[2] / "examples" / "stocktake" / "scanner-gbk.csv").read_bytes()
    read = st.read_scanner_file(raw.decode("gb18030"))
    assert len(read.barcodes) == 4
    assert [e["line"] for e in read.errors] == [5]
